"""The relay: at-least-once delivery, backoff, dead letters, and exactly-once effects through the inbox."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flightbook.kernel import clock, outbox as kout
from flightbook.kernel.http import current_request_id, request_id_of
from flightbook.kernel.relay import Relay, RelayPolicy
from tests.kernel.eventkit import FAST, Recorder, publish, subscriber

ROOT = Path(__file__).resolve().parents[2]


def deliveries(database):
    t = kout.tables(database)
    return list(t.OutboxDelivery.select(t.OutboxDelivery, t.OutboxEvent).join(t.OutboxEvent)
                .order_by(t.OutboxDelivery.id))


def later(seconds: float) -> dt.datetime:
    return clock.now() + dt.timedelta(seconds=seconds)


def test_each_subscriber_gets_every_event_once_oldest_first(payments_db, loyalty_db, flights_db):
    loyalty, flights = Recorder(loyalty_db, "loyalty"), Recorder(flights_db, "flights")
    relay = Relay(payments_db, "payments", [subscriber(loyalty_db, "loyalty", loyalty),
                                            subscriber(flights_db, "flights", flights)], FAST)
    publish(payments_db, "payments", *range(1, 8))
    result = relay.run_once()
    assert (result.fanned_out, result.delivered) == (7, 14)
    assert loyalty.applied() == flights.applied() == list(range(1, 8))
    assert {d.status for d in deliveries(payments_db)} == {"delivered"}
    assert relay.run_once().touched == 0
    assert loyalty.applied() == list(range(1, 8)) and kout.report(payments_db).backlog == 0


def test_event_nobody_subscribes_to_is_fanned_out_to_no_one(payments_db, loyalty_db):
    relay = Relay(payments_db, "payments", [], FAST)
    publish(payments_db, "payments", 1)
    assert relay.run_once().fanned_out == 1
    assert deliveries(payments_db) == [] and kout.report(payments_db).backlog == 0


def test_same_event_delivered_twice_applies_once(payments_db, loyalty_db):
    handler = Recorder(loyalty_db, "loyalty")
    sub = subscriber(loyalty_db, "loyalty", handler)
    Relay(payments_db, "payments", [sub], FAST).run_once()
    publish(payments_db, "payments", 5)
    Relay(payments_db, "payments", [sub], FAST).run_once()
    message = kout.Message.of(deliveries(payments_db)[0].event)
    assert sub.inbox.receive(message) is False  # the relay's redelivery after a lost acknowledgement
    assert handler.applied() == [5] and handler.calls == [5]
    assert sub.inbox.has_applied(message.event_id)


def test_crash_between_commit_and_ack_redelivers_as_a_no_op(payments_db, loyalty_db):
    handler = Recorder(loyalty_db, "loyalty")
    inner = subscriber(loyalty_db, "loyalty", handler)

    class LosesTheAcknowledgement:
        name, topics = inner.name, inner.topics

        def deliver(self, message):
            inner.deliver(message)
            raise ConnectionResetError("connection lost after the subscriber committed")

    publish(payments_db, "payments", 1)
    assert Relay(payments_db, "payments", [LosesTheAcknowledgement()], FAST).run_once().retried == 1
    assert handler.applied() == [1]
    result = Relay(payments_db, "payments", [inner], FAST).run_once(now=later(5))
    assert result.delivered == 1
    assert handler.applied() == [1] and handler.calls == [1]
    assert deliveries(payments_db)[0].status == "delivered"


@pytest.mark.slow
def test_relay_process_killed_after_commit_redelivers_as_a_no_op(payments_db, loyalty_db, database_urls):
    handler = Recorder(loyalty_db, "loyalty")
    publish(payments_db, "payments", 42)
    child = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.kernel.eventkit import crash_after_commit; "
                               "crash_after_commit(sys.argv[1], sys.argv[2])",
         database_urls["payments"], database_urls["loyalty"]],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert child.returncode == 9, child.stderr
    assert handler.applied() == [42]
    (leased,) = deliveries(payments_db)
    assert leased.status == "pending" and leased.claim is not None  # claimed, never acknowledged
    relay = Relay(payments_db, "payments", [subscriber(loyalty_db, "loyalty", handler)], FAST)
    assert relay.run_once().delivered == 0  # the dead relay's lease still holds
    assert relay.run_once(now=later(FAST.lease_seconds + 1)).delivered == 1
    assert handler.applied() == [42] and handler.calls == []  # redelivery was a no-op in this process


def test_handler_failing_part_way_is_retried_and_applied_once(payments_db, loyalty_db):
    handler = Recorder(loyalty_db, "loyalty", fail_on=lambda event, calls: calls == 1)
    relay = Relay(payments_db, "payments", [subscriber(loyalty_db, "loyalty", handler)], FAST)
    publish(payments_db, "payments", 1, 2)
    first = relay.run_once()
    assert (first.delivered, first.retried) == (0, 2)
    assert handler.applied() == []  # the write before the exception was rolled back
    (one, two) = deliveries(payments_db)
    assert one.attempts == 1 and "handler failed part-way" in one.last_error
    assert relay.run_once().touched == 0  # backing off
    assert relay.run_once(now=later(FAST.backoff_seconds + 0.5)).delivered == 2
    assert sorted(handler.applied()) == [1, 2] and handler.calls == [1, 2, 1, 2]


def test_backoff_doubles_up_to_the_cap():
    policy = RelayPolicy(backoff_seconds=2, max_backoff_seconds=30)
    assert [policy.backoff(n).total_seconds() for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_retries_wait_for_the_backoff(payments_db, loyalty_db):
    handler = Recorder(loyalty_db, "loyalty", fail_on=lambda event, calls: True)
    policy = RelayPolicy(max_attempts=10, backoff_seconds=10, max_backoff_seconds=1000)
    relay = Relay(payments_db, "payments", [subscriber(loyalty_db, "loyalty", handler)], policy)
    publish(payments_db, "payments", 1)
    start = clock.now()
    relay.run_once(now=start)
    moments = [start]
    for attempt in range(1, 4):
        due = deliveries(payments_db)[0].next_attempt_at
        assert clock.from_db(due) - moments[-1] == policy.backoff(attempt)
        assert relay.run_once(now=clock.from_db(due) - dt.timedelta(seconds=1)).touched == 0
        moments.append(clock.from_db(due))
        assert relay.run_once(now=moments[-1]).retried == 1
    assert deliveries(payments_db)[0].attempts == 4


def test_poison_event_goes_dead_without_blocking_others_and_can_be_retried(payments_db, loyalty_db, flights_db):
    broken = {"on": True}
    loyalty = Recorder(loyalty_db, "loyalty", fail_on=lambda event, calls: event.n == 2 and broken["on"])
    flights = Recorder(flights_db, "flights")
    relay = Relay(payments_db, "payments", [subscriber(loyalty_db, "loyalty", loyalty),
                                            subscriber(flights_db, "flights", flights)], FAST)
    ids = publish(payments_db, "payments", 1, 2, 3)
    now = clock.now()
    relay.run_once(now=now)
    for _ in range(FAST.max_attempts):
        now += FAST.backoff(FAST.max_attempts)
        publish(payments_db, "payments", 10 + _)
        relay.run_once(now=now)
    assert sorted(loyalty.applied()) == [1, 3, 10, 11, 12]
    assert sorted(flights.applied()) == [1, 2, 3, 10, 11, 12]
    report = kout.report(payments_db)
    (dead,) = report.dead_letters
    assert (dead.event_id, dead.subscriber, dead.attempts) == (ids[1], "loyalty", FAST.max_attempts)
    assert "handler failed part-way on 2" in dead.last_error
    assert report.backlog == 0 and report.oldest_pending is None

    broken["on"] = False
    assert kout.retry_dead_letter(payments_db, ids[0]) == 0  # not dead
    assert kout.retry_dead_letter(payments_db, ids[1]) == 1
    assert kout.report(payments_db).oldest_pending.event_id == ids[1]
    assert relay.run_once(now=now).delivered == 1
    assert sorted(loyalty.applied()) == [1, 2, 3, 10, 11, 12]
    assert kout.report(payments_db).dead_letters == ()


def test_unreachable_subscriber_does_not_hold_back_the_others(payments_db, loyalty_db):
    from flightbook.kernel.auth import Tokens
    from flightbook.kernel.relay import HttpSubscriber

    loyalty = Recorder(loyalty_db, "loyalty")
    nowhere = HttpSubscriber("flights", ["http://127.0.0.1:9"], [subscriber(loyalty_db, "x", loyalty).topics][0],
                             Tokens("k" * 32, "s" * 32), "payments", connect_timeout=0.5, read_timeout=0.5)
    relay = Relay(payments_db, "payments", [nowhere, subscriber(loyalty_db, "loyalty", loyalty)], FAST)
    publish(payments_db, "payments", 1, 2, 3)
    result = relay.run_once()
    assert result.delivered == 3 and result.retried == 1  # one try at flights, the rest skipped this round
    assert loyalty.applied() == [1, 2, 3]
    to_flights = [d for d in deliveries(payments_db) if d.subscriber == "flights"]
    assert [d.attempts for d in to_flights] == [1, 0, 0] and "unreachable" in to_flights[0].last_error
    assert all(d.status == "pending" and d.claim is None for d in to_flights)


def test_concurrent_relays_deliver_each_event_exactly_once(payments_db, loyalty_db, open_db):
    handler = Recorder(loyalty_db, "loyalty")
    count = 120
    publish(payments_db, "payments", *range(count))
    policy = RelayPolicy(batch_size=7, lease_seconds=60)
    # each relay on its own connection to the publisher, as if in its own process; the handler
    # writes through the subscriber's database object, as a module's handler does
    relays = [Relay(open_db("payments"), "payments", [subscriber(loyalty_db, "loyalty", handler)], policy)
              for _ in range(4)]
    start, errors = threading.Barrier(len(relays)), []

    def run(relay):
        try:
            start.wait()
            for _ in range(200):
                if relay.drain().touched == 0 and kout.report(relay.database).backlog == 0:
                    return
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(handler.calls) == list(range(count))  # each delivery claimed by exactly one relay
    assert sorted(handler.applied()) == list(range(count))
    assert {d.status for d in deliveries(payments_db)} == {"delivered"}


def test_an_event_is_handled_as_part_of_the_request_that_published_it(payments_db, loyalty_db):
    seen = []
    handler = Recorder(loyalty_db, "loyalty")

    def handle(event):
        seen.append(current_request_id())
        handler(event)
    with request_id_of("pay-4711"):
        publish(payments_db, "payments", 1)
    publish(payments_db, "payments", 2)  # a job's, published in no request
    Relay(payments_db, "payments", [subscriber(loyalty_db, "loyalty", handle)], FAST).run_once()
    assert seen == ["pay-4711", None] and current_request_id() is None
