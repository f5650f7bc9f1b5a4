"""The booking saga end to end, on SQLite and PostgreSQL, and on PostgreSQL with its events through RabbitMQ:
every path through the real HTTP API of one process, with the relays (and the broker's consumers) run
explicitly, as ``flightbook relay --once`` would, then the final state of all three databases checked: seats,
booking status, payments and refunds, points balance and history.

Settings here: a cancellation within 24 hours of departure refunds 50% (the fare rule's late share)."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools

import pytest

from flightbook import wiring
from flightbook.kernel import clock
from flightbook.kernel import outbox as kout
from flightbook.kernel.auth import Principal
from flightbook.kernel.money import Money
from flightbook.kernel.relay import RelayPolicy
from flightbook.modules.flights.models import Booking
from flightbook.modules.loyalty.rules import points_earned
from flightbook.modules.payments.banking import MockBank, pan_hash
from flightbook.modules.payments.models import BankCard, PaymentIntent
from tests.brokerkit import depth, running, wait_until
from tests.conftest import make_env, register_and_login
from tests.flights.builders import add_airports, add_flight, booking_body, booking_request, seats_left
from tests.payments.builders import CARDS, GOOD_CARD, card

POLICY = RelayPolicy(max_attempts=5, backoff_seconds=1.0, lease_seconds=30, batch_size=50)
BROKER_RETRY_DELAYS = (2.0,) * (POLICY.max_attempts - 1)  # the same number of attempts as the relay's
FARE = 25000  # USD 250.00, one passenger
LATE_PERCENT = 50
_keys = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgres", "postgres_broker"])
def backend(request) -> str:
    """The database backend; ``postgres_broker``: PostgreSQL, and the events through RabbitMQ."""
    return request.param.removesuffix("_broker")


@pytest.fixture
def env(request, tmp_path, database_urls) -> dict:
    transport = {}
    if request.node.callspec.params["backend"].endswith("_broker"):
        broker = request.getfixturevalue("broker")
        broker.retry_delays.update(BROKER_RETRY_DELAYS)
        transport = {"FLIGHTBOOK_BROKER_URL": broker.url, "FLIGHTBOOK_BROKER_PREFIX": broker.topology.prefix,
                     "FLIGHTBOOK_BROKER_RETRY_DELAYS": ",".join(map(str, BROKER_RETRY_DELAYS))}
    return make_env(tmp_path, database_urls, FLIGHTBOOK_LATE_REFUND_PERCENT=LATE_PERCENT, **transport)


class Saga:
    """The relays of every module of this process, run round after round as a test decides; with a broker,
    the consumers of every module too, each time until every message the relays published is done with."""

    def __init__(self, system):
        self.system = system
        self.now = clock.now()
        self.relays = wiring.build_relays(system, POLICY)
        self.consumers = wiring.build_consumers(system)
        if self.consumers:
            wiring.declare_broker_queues(system.settings)  # as `flightbook migrate` does

    def settle(self, rounds: int = 20, skip_seconds: float = 0) -> None:
        """Deliver until no outbox has anything due (``skip_seconds`` moves past backoffs; with a broker,
        waits out the retries instead)."""
        # from the later of the saga's clock and the real one: a slow run must not leave a backoff unskipped
        self.now = max(self.now, clock.now()) + dt.timedelta(seconds=skip_seconds)
        with self._consuming():
            for _ in range(rounds):
                touched = sum(relay.run_once(now=max(self.now, clock.now())).touched for relay in self.relays.values())
                consumed = self._consumed(wait_for_retries=skip_seconds > 0)
                if touched + consumed == 0:
                    return
        raise AssertionError("the relays kept finding work")

    def deliver(self, module: str) -> None:
        """One round of ``module``'s relay (and, with a broker, what it published consumed)."""
        with self._consuming():
            self.relays[module].run_once()
            self._consumed(wait_for_retries=False)

    def backlog(self) -> int:
        dead = sum(map(len, wiring.broker_dead_letters(self.system.settings).values())) if self.consumers else 0
        return dead + sum(kout.report(db).backlog + len(kout.report(db).dead_letters)
                          for db in self.system.databases.values())

    def close(self) -> None:
        for relay in self.relays.values():
            for destination in relay.subscribers.values():
                getattr(destination, "close", lambda: None)()

    def _consuming(self):
        return running(*self.consumers.values()) if self.consumers else contextlib.nullcontext()

    def _consumed(self, wait_for_retries: bool) -> int:
        """With a broker: waits until every message the relays published has been applied or dead-lettered
        (or, unless ``wait_for_retries``, waits in a retry queue: not due yet); how many were done meanwhile."""
        if not self.consumers:
            return 0
        before = self._done()

        def settled():
            waiting = self._waiting_for_retry()
            return self._done() + (0 if wait_for_retries else waiting) >= self._published() and (
                not wait_for_retries or waiting == 0)

        wait_until(settled, timeout=60, what="the consumers to finish what the relays published")
        return self._done() - before

    def _done(self) -> int:
        return sum(c.acked - c.retried for c in self.consumers.values())

    def _published(self) -> int:
        """Messages the subscribers' queues received: each event confirmed by the broker, once per subscriber."""
        topics = wiring.subscriptions(self.system)
        count = 0
        for database in self.system.databases.values():
            t = kout.tables(database)
            rows = (t.OutboxDelivery.select(t.OutboxEvent.topic).join(t.OutboxEvent)
                    .where(t.OutboxDelivery.status == kout.DELIVERED).tuples())
            count += sum(sum(topic in wanted for wanted in topics.values()) for (topic,) in rows)
        return count

    def _waiting_for_retry(self) -> int:
        topology, delays = wiring.topology(self.system.settings), set(self.system.settings.broker_retry_delays)
        return sum(self._depth(topology.retry_queue(name, d)) for name in self.consumers for d in delays)

    def _depth(self, queue: str) -> int:
        return depth(self.system.settings.broker_url, queue)


@pytest.fixture
def saga(system):
    saga = Saga(system)
    yield saga
    saga.close()


@pytest.fixture
def as_loyalty(api, service_token):
    return api.as_user(service_token(caller="payments", audience="loyalty"))


# --- steps, through the HTTP API -------------------------------------------------------------

def me(traveller) -> int:
    return traveller.get("/api/users/me").json["id"]


def new_flight(seats: int = 50, departs_in: dt.timedelta = dt.timedelta(days=7)):
    add_airports("LHR", "JFK")
    return add_flight(cabins={"economy": (seats, FARE)}, departs_in=departs_in)


def book(traveller, flight) -> str:
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id))
    assert resp.status_code == 201, resp.text
    return resp.json["ref"]


def give_points(as_loyalty, user_id: int, amount: int) -> int:
    """Points from an earlier trip paid ``amount`` in cash; returns the balance."""
    resp = as_loyalty.post("/api/loyalty/earn", json={"user_id": user_id, "booking_ref": f"OLD{next(_keys)}",
                                                      "amount": amount, "currency": "USD"})
    assert resp.status_code == 200, resp.text
    return resp.json["points"]


def hold_points(traveller, ref: str, points: int) -> dict:
    resp = traveller.post("/api/loyalty/redeem", json={"user_id": me(traveller), "points": points,
                                                       "booking_ref": ref, "currency": "USD"})
    assert resp.status_code == 201, resp.text
    return resp.json


def pay(traveller, ref: str, number: str | None = GOOD_CARD):
    intent = traveller.post("/api/payments/create-intent", json={"booking_ref": ref})
    assert intent.status_code == 201, intent.text
    body = {"intent_id": intent.json["id"]}
    if number is not None:
        body["card"] = card(number)
    return traveller.post("/api/payments/process", json=body, headers={"Idempotency-Key": f"k{next(_keys)}"})


def status(traveller, ref: str) -> str:
    return traveller.get(f"/api/tickets/{ref}").json["status"]


def payments_of(traveller, ref: str) -> list[dict]:
    return [p for p in traveller.get(f"/api/payments/history/{me(traveller)}").json["payments"]
            if p["booking_ref"] == ref]


def account(traveller) -> dict:
    return traveller.get(f"/api/loyalty/account/{me(traveller)}").json


def history(traveller, ref: str) -> list[tuple[str, int]]:
    """(kind, points) of the traveller's points transactions on booking ``ref``, oldest first."""
    rows = traveller.get(f"/api/loyalty/history/{me(traveller)}", params={"per_page": 100}).json["transactions"]
    return [(t["kind"], t["points"]) for t in reversed(rows) if t["booking_ref"] == ref]


def earned_for(traveller, cash: int) -> int:
    """What the traveller's current tier earns for ``cash`` minor units of USD."""
    tiers = {t["name"]: t for t in traveller.get("/api/loyalty/tiers").json["tiers"]}
    permille = round(tiers[account(traveller)["tier"]]["multiplier"] * 1000)
    return points_earned(Money(cash, "USD"), permille)


def card_balance(number: str = GOOD_CARD) -> int:
    return BankCard.get_by_id(pan_hash(number)).balance


def lapse(ref: str) -> None:
    """The booking's hold runs out now (the clock cannot be moved for the whole system)."""
    Booking.update(hold_expires_at=clock.to_db(clock.now() - dt.timedelta(seconds=1))).where(
        Booking.ref == ref).execute()


# --- the paths ---------------------------------------------------------------------------------

def test_card_payment_confirms_and_awards_points_for_the_cash(system, saga, traveller):
    flight = new_flight()
    ref = book(traveller, flight)
    earns = earned_for(traveller, FARE)
    paid = pay(traveller, ref)
    assert paid.status_code == 200 and paid.json["amount"] == FARE
    assert account(traveller)["balance"] == 0  # nothing before the relay runs
    saga.settle()
    assert status(traveller, ref) == "CONFIRMED" and seats_left(flight.id) == 49
    (payment,) = payments_of(traveller, ref)
    assert (payment["status"], payment["amount"], payment["refunds"]) == ("succeeded", FARE, [])
    assert account(traveller)["balance"] == earns > 0
    assert history(traveller, ref) == [("EARN", earns)]
    assert saga.backlog() == 0


def test_cash_and_points_commits_the_hold_and_earns_on_the_cash_part(system, saga, traveller, as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold = hold_points(traveller, ref, 3000)
    cash = FARE - hold["value"]["amount"]
    earns = earned_for(traveller, cash)
    paid = pay(traveller, ref)
    assert paid.status_code == 200 and paid.json["amount"] == cash
    saga.settle()
    assert status(traveller, ref) == "CONFIRMED" and seats_left(flight.id) == 49
    assert [p["amount"] for p in payments_of(traveller, ref)] == [cash]
    assert account(traveller)["balance"] == account(traveller)["available"] == seed - 3000 + earns
    assert history(traveller, ref) == [("REDEEM", -3000), ("EARN", earns)]


def test_points_only_pays_nothing_by_card_and_confirms_through_the_same_events(system, saga, traveller,
                                                                                as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 300000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold_points(traveller, ref, FARE)  # 1 point = 1 cent: the whole fare
    before = card_balance()
    paid = pay(traveller, ref, number=None)
    assert paid.status_code == 200, paid.text
    assert (paid.json["status"], paid.json["amount"], paid.json["card"]) == ("succeeded", 0, None)
    saga.settle()
    assert status(traveller, ref) == "CONFIRMED" and seats_left(flight.id) == 49
    (payment,) = payments_of(traveller, ref)
    assert (payment["amount"], payment["card"], payment["refunds"]) == (0, None, [])
    assert card_balance() == before
    assert account(traveller)["balance"] == seed - FARE
    assert history(traveller, ref) == [("REDEEM", -FARE)]  # no cash, no points earned


def test_points_cannot_stand_in_for_a_card_when_they_do_not_cover_the_total(system, traveller, as_loyalty):
    give_points(as_loyalty, me(traveller), 50000)
    ref = book(traveller, new_flight())
    hold_points(traveller, ref, 1000)
    resp = pay(traveller, ref, number=None)
    assert resp.status_code == 400 and resp.json["error"]["field"] == "card"
    assert payments_of(traveller, ref) == [] and status(traveller, ref) == "HELD"


def test_declined_card_keeps_seats_and_points_held_and_a_retry_confirms(system, saga, traveller, as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold = hold_points(traveller, ref, 2000)
    declined = pay(traveller, ref, CARDS["card_declined"])
    assert declined.status_code == 402
    saga.settle()
    assert status(traveller, ref) == "HELD" and seats_left(flight.id) == 49
    assert (account(traveller)["balance"], account(traveller)["available"]) == (seed, seed - 2000)
    cash = FARE - hold["value"]["amount"]
    earns = earned_for(traveller, cash)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    assert status(traveller, ref) == "CONFIRMED" and seats_left(flight.id) == 49
    assert sorted(p["status"] for p in payments_of(traveller, ref)) == ["failed", "succeeded"]
    assert account(traveller)["balance"] == seed - 2000 + earns
    assert history(traveller, ref) == [("REDEEM", -2000), ("EARN", earns)]


def test_expiry_after_a_decline_releases_seats_and_points_and_closes_the_intent(system, saga, traveller,
                                                                                 as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold_points(traveller, ref, 2000)
    assert pay(traveller, ref, CARDS["insufficient_funds"]).status_code == 402
    lapse(ref)
    assert system.parts["flights"].contract.expire_holds() == 1  # the sweeper job
    saga.settle()
    assert status(traveller, ref) == "EXPIRED" and seats_left(flight.id) == 50
    assert PaymentIntent.get(PaymentIntent.booking_ref == ref).status == "canceled"
    assert [p["status"] for p in payments_of(traveller, ref)] == ["failed"]
    assert (account(traveller)["balance"], account(traveller)["available"]) == (seed, seed)
    assert history(traveller, ref) == []


class SlowBank(MockBank):
    """The issuer answers only after ``meanwhile`` has happened (the hold lapsing, say): a late payment."""

    def __init__(self, database, meanwhile):
        super().__init__(database)
        self.meanwhile = meanwhile

    def charge(self, request, card_input, idempotency_key):
        self.meanwhile(request.booking_ref)
        return super().charge(request, card_input, idempotency_key)


def _slow_bank(system, meanwhile) -> None:
    system.parts["payments"].contract.provider = SlowBank(system.parts["payments"].database, meanwhile)


def test_late_payment_is_confirmed_when_the_seats_are_still_free(system, saga, traveller):
    flight = new_flight(seats=1)
    ref = book(traveller, flight)

    def hold_runs_out(booking_ref):
        lapse(booking_ref)
        system.parts["flights"].contract.expire_holds()

    _slow_bank(system, hold_runs_out)
    earns = earned_for(traveller, FARE)
    paid = pay(traveller, ref)
    assert paid.status_code == 200 and "hold ended" in paid.json["message"]
    assert status(traveller, ref) == "EXPIRED" and seats_left(flight.id) == 1
    saga.settle()
    assert status(traveller, ref) == "CONFIRMED" and seats_left(flight.id) == 0
    (payment,) = payments_of(traveller, ref)
    assert (payment["status"], payment["refunded_amount"]) == ("succeeded", 0)
    assert history(traveller, ref) == [("EARN", earns)]


def test_late_payment_is_refunded_and_points_released_when_the_seats_are_gone(system, saga, api, traveller,
                                                                               as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight(seats=1)
    ref = book(traveller, flight)
    hold = hold_points(traveller, ref, 2000)
    rival = register_and_login(api)
    rival_id = me(rival)

    def seats_sold_meanwhile(booking_ref):
        lapse(booking_ref)
        system.parts["flights"].contract.expire_holds()
        system.contracts["flights"].book(Principal(kind="user", user_id=rival_id), booking_request(flight.id))

    _slow_bank(system, seats_sold_meanwhile)
    before = card_balance()
    cash = FARE - hold["value"]["amount"]
    assert pay(traveller, ref).status_code == 200
    assert card_balance() == before - cash
    saga.settle()
    assert status(traveller, ref) == "EXPIRED" and seats_left(flight.id) == 0
    (payment,) = payments_of(traveller, ref)
    assert (payment["status"], payment["refunded_amount"]) == ("refunded", cash)
    assert [r["amount"] for r in payment["refunds"]] == [cash]  # exactly one refund
    assert card_balance() == before
    assert (account(traveller)["balance"], account(traveller)["available"]) == (seed, seed)
    assert history(traveller, ref) == []
    assert saga.backlog() == 0


def test_cancelling_a_confirmed_booking_refunds_the_card_and_reverses_the_points(system, saga, traveller,
                                                                                 as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold = hold_points(traveller, ref, 4000)
    cash = FARE - hold["value"]["amount"]
    earns = earned_for(traveller, cash)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    before = card_balance()
    resp = traveller.post(f"/api/tickets/{ref}/cancel")
    assert resp.status_code == 200 and resp.json["refund_due"]["amount"] == FARE
    saga.settle()
    assert status(traveller, ref) == "CANCELLED" and seats_left(flight.id) == 50
    (payment,) = payments_of(traveller, ref)
    assert (payment["status"], payment["refunded_amount"]) == ("refunded", cash)
    assert card_balance() == before + cash
    assert account(traveller)["balance"] == seed
    assert history(traveller, ref) == [("REDEEM", -4000), ("EARN", earns), ("REVERSAL", 4000 - earns)]


def test_late_cancellation_gives_back_the_fare_rules_share_of_cash_and_points(system, saga, traveller,
                                                                               as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight(departs_in=dt.timedelta(hours=10))  # inside the 24-hour cutoff
    ref = book(traveller, flight)
    hold = hold_points(traveller, ref, 4000)
    cash = FARE - hold["value"]["amount"]
    earns = earned_for(traveller, cash)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    assert traveller.post(f"/api/tickets/{ref}/cancel").status_code == 200
    saga.settle()
    (payment,) = payments_of(traveller, ref)
    assert (payment["status"], payment["refunded_amount"]) == ("partially_refunded", cash * LATE_PERCENT // 100)
    returned = 4000 * LATE_PERCENT // 100
    assert account(traveller)["balance"] == seed - 4000 + returned
    assert history(traveller, ref) == [("REDEEM", -4000), ("EARN", earns), ("REVERSAL", returned - earns)]


def test_cancelling_a_points_only_booking_returns_the_points(system, saga, traveller, as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 300000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold_points(traveller, ref, FARE)
    assert pay(traveller, ref, number=None).status_code == 200
    saga.settle()
    assert traveller.post(f"/api/tickets/{ref}/cancel").status_code == 200
    saga.settle()
    assert status(traveller, ref) == "CANCELLED" and seats_left(flight.id) == 50
    assert [p["refunds"] for p in payments_of(traveller, ref)] == [[]]  # nothing was paid by card
    assert account(traveller)["balance"] == seed
    assert saga.backlog() == 0


# --- crashes, repeats and disorder -------------------------------------------------------------

def test_a_handler_failing_part_way_is_retried_and_has_its_effect_once(system, saga, traveller, as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    handlers = system.parts["loyalty"].event_handlers
    real, calls = handlers["booking.confirmed"], []

    def fails_after_its_writes_the_first_time(event):
        real(event)  # commits the hold and earns, inside the inbox transaction...
        calls.append(event.ref)
        if len(calls) == 1:
            raise RuntimeError("loyalty died part-way")  # ...which is rolled back

    handlers["booking.confirmed"] = fails_after_its_writes_the_first_time
    ref = book(traveller, new_flight())
    hold_points(traveller, ref, 3000)
    earns = earned_for(traveller, FARE - 3000)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    # payments' fast path committed the hold at once; the earning was rolled back with the failure
    assert account(traveller)["balance"] == account(traveller)["available"] == seed - 3000
    assert history(traveller, ref) == [("REDEEM", -3000)]
    saga.settle(skip_seconds=POLICY.backoff_seconds + 1)
    assert calls == [ref, ref]
    assert account(traveller)["balance"] == seed - 3000 + earns
    assert history(traveller, ref) == [("REDEEM", -3000), ("EARN", earns)]
    assert saga.backlog() == 0


def _published(system, module: str, topic: str) -> list[kout.Message]:
    t = kout.tables(system.parts[module].database)
    return [kout.Message.of(row) for row in t.OutboxEvent.select().where(t.OutboxEvent.topic == topic)
            .order_by(t.OutboxEvent.id)]


def _inbox(system, module: str):
    return wiring._inbox(system, module)


def test_the_same_event_twice_changes_nothing_more(system, saga, traveller, as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    ref = book(traveller, new_flight())
    hold_points(traveller, ref, 3000)
    earns = earned_for(traveller, FARE - 3000)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    (confirmed,) = _published(system, "flights", "booking.confirmed")
    (succeeded,) = _published(system, "payments", "payment.succeeded")
    loyalty, flights = _inbox(system, "loyalty"), _inbox(system, "flights")
    assert loyalty.receive(confirmed) is False and flights.receive(succeeded) is False  # redelivered
    # the same facts published again under new ids (say, by a replayed webhook): idempotent per booking
    assert loyalty.receive(dataclasses.replace(confirmed, event_id="00000000-0000-4000-8000-000000000001"))
    assert flights.receive(dataclasses.replace(succeeded, event_id="00000000-0000-4000-8000-000000000002"))
    saga.settle()
    assert status(traveller, ref) == "CONFIRMED" and len(_published(system, "flights", "booking.confirmed")) == 1
    assert account(traveller)["balance"] == seed - 3000 + earns
    assert history(traveller, ref) == [("REDEEM", -3000), ("EARN", earns)]


def test_cancellation_overtaking_the_confirmation_leaves_the_same_points(system, saga, traveller, as_loyalty):
    seed = give_points(as_loyalty, me(traveller), 50000)
    flight = new_flight()
    ref = book(traveller, flight)
    hold_points(traveller, ref, 3000)
    assert pay(traveller, ref).status_code == 200
    saga.settle()  # flights has confirmed; now hold loyalty back and deliver its events in reverse
    assert traveller.post(f"/api/tickets/{ref}/cancel").status_code == 200
    loyalty = _inbox(system, "loyalty")
    (confirmed,) = _published(system, "flights", "booking.confirmed")
    (cancelled,) = _published(system, "flights", "booking.cancelled")
    # loyalty already had booking.confirmed through the relay; a fresh booking shows the other order
    ref2 = book(traveller, flight)
    hold_points(traveller, ref2, 3000)
    assert pay(traveller, ref2).status_code == 200
    saga.deliver("payments")  # payment.succeeded -> flights confirms ref2
    assert traveller.post(f"/api/tickets/{ref2}/cancel").status_code == 200
    confirmed2 = [m for m in _published(system, "flights", "booking.confirmed") if m.payload["ref"] == ref2]
    cancelled2 = [m for m in _published(system, "flights", "booking.cancelled") if m.payload["ref"] == ref2]
    assert loyalty.receive(cancelled2[0]) and loyalty.receive(confirmed2[0])  # out of order
    saga.deliver("flights")
    saga.settle()
    assert loyalty.receive(confirmed) is False and loyalty.receive(cancelled) is False
    assert status(traveller, ref) == status(traveller, ref2) == "CANCELLED" and seats_left(flight.id) == 50
    assert account(traveller)["balance"] == account(traveller)["available"] == seed  # both orders: all back
    assert history(traveller, ref2) == [("REDEEM", -3000), ("REVERSAL", 3000)]  # nothing earned, all back
    assert [p["status"] for p in payments_of(traveller, ref2)] == ["refunded"]
    assert saga.backlog() == 0
