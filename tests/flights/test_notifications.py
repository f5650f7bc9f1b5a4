"""The traveller's mail, driven by events, against a real SMTP server in the test process (aiosmtpd), on SQLite
and PostgreSQL: one message per change of a booking with its text and HTML parts, the e-ticket PDF and the
calendar file; nothing twice for a redelivered event; nothing lost while the server is away; a refused address
recorded and not retried; the figures of a cancellation as payments and loyalty gave them; a moved flight."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
import uuid
from zoneinfo import ZoneInfo

import pytest

from flightbook import wiring
from flightbook.contracts.flights import MessageStatus
from flightbook.kernel import clock
from flightbook.kernel import outbox as kout
from flightbook.kernel.inbox import Inbox
from flightbook.kernel.outbox import Message
from flightbook.kernel.relay import RelayPolicy
from flightbook.modules.flights.models import Booking
from flightbook.modules.flights.notifications.models import NotificationMessage
from tests.conftest import make_env, register_and_login
from tests.flights.builders import add_airports, add_flight, booking_body
from tests.mailkit import MailServer, calendar_events, pdf_text, qr_codes
from tests.payments.builders import card

FARE = 25000
POLICY = RelayPolicy(max_attempts=5, backoff_seconds=1.0, batch_size=100)
PUBLIC_URL = "https://flightbook.example"
_keys = itertools.count(1)


@pytest.fixture
def mail_server():
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, database_urls, mail_server) -> dict:
    return make_env(tmp_path, database_urls, FLIGHTBOOK_SMTP_URL=mail_server.url, FLIGHTBOOK_MAIL_RETRY_SECONDS=0.2,
                    FLIGHTBOOK_PUBLIC_URL=PUBLIC_URL, FLIGHTBOOK_MAIL_FROM="flightbook <tickets@flightbook.example>")


class Relays:
    """Every module's relay of this process, run as `flightbook relay --once` would."""

    def __init__(self, system):
        self.relays = wiring.build_relays(system, POLICY)

    def settle(self, *only: str) -> None:
        for _ in range(20):
            touched = sum(relay.run_once().touched for name, relay in self.relays.items() if not only or name in only)
            if not touched:
                return
        raise AssertionError("the relays kept finding work")


@pytest.fixture
def relays(system):
    return Relays(system)


@pytest.fixture
def admin(system):
    return wiring.flights_admin(system)


@pytest.fixture
def as_loyalty(api, service_token):
    return api.as_user(service_token(caller="payments", audience="loyalty"))


def at_hour(days: int, hour: int, minute: int = 5) -> dt.datetime:
    return (clock.now() + dt.timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)


@pytest.fixture
def trip():
    """London -> New York in a week, back a week later, at whole minutes."""
    add_airports("LHR", "JFK")
    out = add_flight("LHR", "JFK", departs_at=at_hour(7, 9), minutes=480, cabins={"economy": (50, FARE)})
    back = add_flight("JFK", "LHR", departs_at=at_hour(14, 22, 30), minutes=420, cabins={"economy": (50, FARE)})
    return out, back


def me(traveller) -> int:
    return traveller.get("/api/users/me").json["id"]


def book(traveller, out, back=None, passengers: int = 2, **changes) -> str:
    body = booking_body(out.id, passengers=passengers, **changes)
    if back is not None:
        body["return_flight_id"] = back.id
    resp = traveller.post("/api/flights/book", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json["ref"]


def pay(traveller, ref: str, points: int = 0):
    if points:
        held = traveller.post("/api/loyalty/redeem", json={"user_id": me(traveller), "points": points,
                                                          "booking_ref": ref, "currency": "USD"})
        assert held.status_code == 201, held.text
    intent = traveller.post("/api/payments/create-intent", json={"booking_ref": ref})
    assert intent.status_code == 201, intent.text
    paid = traveller.post("/api/payments/process", json={"intent_id": intent.json["id"], "card": card()},
                          headers={"Idempotency-Key": f"mail-{next(_keys)}"})
    assert paid.status_code == 200, paid.text
    return paid.json


def messages(traveller, ref: str | None = None) -> list[dict]:
    resp = traveller.get("/api/messages", params={"booking_ref": ref} if ref else None)
    assert resp.status_code == 200, resp.text
    return resp.json["messages"]


def test_a_confirmed_booking_sends_one_mail_with_both_parts_the_pdf_and_the_calendar(
        system, relays, traveller, trip, mail_server, admin):
    out, back = trip
    ref = book(traveller, out, back)
    paid = pay(traveller, ref)
    relays.settle()
    assert admin.send_mail(ignore_backoff=True).sent == 0  # nothing more to send
    (mail,) = mail_server.wait_for(1)
    assert mail.recipients == ["ada@example.com"] and mail.sender == "tickets@flightbook.example"
    assert mail.message["Subject"] == f"Your e-ticket: booking {ref} is confirmed"
    assert mail.message.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in mail.message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf", "text/calendar"]
    text = mail.text
    # each flight in its airports' local times and zones (a week ahead: London GMT, New York EST in winter,
    # or BST/EDT in summer), the passengers, what the card paid and the points earned, the link to the ticket
    departs = clock.from_db(out.departs_at).astimezone(ZoneInfo("Europe/London"))
    arrives = clock.from_db(out.arrives_at).astimezone(ZoneInfo("America/New_York"))
    assert f"Departs  {departs:%H:%M} {departs.tzname()} (Europe/London)  LHR London Heathrow" in text
    assert f"Arrives  {arrives:%H:%M} {arrives.tzname()} (America/New_York)" in text
    assert out.flight_number in text and back.flight_number in text
    assert "Ada0 Lovelace" in text and "Ada1 Lovelace" in text
    assert f"Paid by card: ${paid['amount'] // 100:,}.00" in text
    assert "Points earned: +" in text and f"{PUBLIC_URL}/bookings/{ref}" in text
    assert ref in mail.html and f'href="{PUBLIC_URL}/bookings/{ref}"' in mail.html and "Ada1 Lovelace" in mail.html
    files = mail.attachments()
    assert set(files) == {f"e-ticket-{ref}.pdf", f"flights-{ref}.ics"}
    pdf = files[f"e-ticket-{ref}.pdf"][1]
    words = pdf_text(pdf)
    assert ref in words and out.flight_number in words and back.flight_number in words and "Ada1 Lovelace" in words
    assert qr_codes(pdf) == [ref]  # a scanner reads the booking reference off the printed page
    events = sorted(calendar_events(files[f"flights-{ref}.ics"][1]), key=lambda e: e.decoded("dtstart"))
    assert [e.decoded("dtstart").tzinfo.key for e in events] == ["Europe/London", "America/New_York"]
    assert [e.decoded("dtend").tzinfo.key for e in events] == ["America/New_York", "Europe/London"]
    assert [(e.decoded("dtstart").astimezone(clock.UTC), e.decoded("dtend").astimezone(clock.UTC)) for e in events] == [
        (clock.from_db(f.departs_at), clock.from_db(f.arrives_at)) for f in (out, back)]
    assert [str(e["uid"]) for e in events] == [f"{ref}-{out.id}@flightbook", f"{ref}-{back.id}@flightbook"]
    (listed,) = messages(traveller, ref)
    assert (listed["kind"], listed["status"], listed["attempts"]) == ("booking_confirmed", "sent", 1)


def test_a_redelivered_event_sends_nothing(system, relays, traveller, trip, mail_server):
    ref = book(traveller, trip[0])
    pay(traveller, ref)
    relays.settle()
    assert len(mail_server.wait_for(1)) == 1
    database = system.parts["flights"].database
    t = kout.tables(database)
    confirmed = Message.of(t.OutboxEvent.get(t.OutboxEvent.topic == "booking.confirmed"))
    inbox = Inbox(database, "flights", system.parts["flights"].event_handlers)
    assert inbox.receive(confirmed) is False  # the inbox knows it
    # even with the inbox's record gone, the message is the event's: nothing new is made or sent
    t.InboxEvent.delete().where(t.InboxEvent.event_id == confirmed.event_id).execute()
    assert inbox.receive(confirmed) is True
    assert NotificationMessage.select().where(NotificationMessage.booking_ref == ref).count() == 1
    wiring.flights_admin(system).send_mail(ignore_backoff=True)
    assert len(mail_server.received) == 1


def test_a_mail_server_that_is_away_delays_the_mail_and_loses_none(system, relays, traveller, trip, mail_server,
                                                                    admin):
    mail_server.stop()
    ref = book(traveller, trip[0])
    pay(traveller, ref)
    relays.settle()
    (waiting,) = messages(traveller, ref)
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    row = NotificationMessage.get(NotificationMessage.booking_ref == ref)
    assert "unreachable" in row.last_error
    assert admin.send_mail(ignore_backoff=True).retrying == 1  # still away: tried, paused again
    mail_server.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not mail_server.received:  # the background job's way: what is due
        admin.send_mail()
        time.sleep(0.05)
    (mail,) = mail_server.wait_for(1)
    assert ref in mail.message["Subject"]
    (sent,) = messages(traveller, ref)
    assert (sent["status"], sent["attempts"]) == ("sent", 3)
    assert admin.send_mail(ignore_backoff=True).sent == 0 and len(mail_server.received) == 1


def test_a_refused_address_is_recorded_and_not_retried(system, relays, traveller, trip, mail_server, admin):
    mail_server.refused.add("nobody@example.com")
    ref = book(traveller, trip[0], contact_email="nobody@example.com")
    pay(traveller, ref)
    relays.settle()
    (failed,) = messages(traveller, ref)
    assert failed["status"] == "failed" and "550" in failed["failure"] and failed["attempts"] == 1
    report = admin.send_mail(ignore_backoff=True)
    assert (report.sent, report.retrying, report.failed) == (0, 0, 0)
    assert mail_server.received == [] and messages(traveller, ref)[0]["status"] == "failed"


def test_a_cancellation_says_what_went_back_to_the_card_and_to_points(system, relays, traveller, trip, mail_server,
                                                                      as_loyalty):
    given = as_loyalty.post("/api/loyalty/earn", json={"user_id": me(traveller), "booking_ref": "OLDTRP",
                                                       "amount": 50000, "currency": "USD"})
    assert given.status_code == 200, given.text
    ref = book(traveller, trip[0], passengers=1)
    paid = pay(traveller, ref, points=3000)  # 1 point = 1 cent: $30.00 in points, the rest by card
    assert paid["amount"] == FARE - 3000
    relays.settle()
    (confirmed,) = mail_server.wait_for(1)
    assert "Paid by card: $220.00" in confirmed.text and "Paid with points: 3,000 points ($30.00)" in confirmed.text
    earned = int(confirmed.text.split("Points earned: +")[1].split(" ")[0].replace(",", ""))
    assert earned > 0
    assert traveller.post(f"/api/tickets/{ref}/cancel").status_code == 200
    relays.settle("flights")  # flights' own event first: the message waits for the refund and the points
    assert [m["status"] for m in messages(traveller, ref)] == ["waiting", "sent"]
    relays.settle()
    (_, cancelled) = mail_server.wait_for(2)
    assert cancelled.message["Subject"] == f"Booking {ref} is cancelled"
    assert "Refunded to your card: $220.00" in cancelled.text
    assert "Points returned to your account: 3,000" in cancelled.text
    assert f"Points earned on this booking, taken back: {earned:,}" in cancelled.text
    files = cancelled.attachments()
    assert set(files) == {f"flights-{ref}.ics"}  # no e-ticket for a cancelled booking; the calendar withdraws it
    (event,) = calendar_events(files[f"flights-{ref}.ics"][1])
    assert (str(event["status"]), int(event["sequence"])) == ("CANCELLED", 1)
    assert [m["kind"] for m in messages(traveller, ref)] == ["booking_cancelled", "booking_confirmed"]


def test_a_message_that_waited_long_enough_goes_without_the_missing_figures(system, relays, traveller, trip,
                                                                            mail_server, admin):
    ref = book(traveller, trip[0])
    pay(traveller, ref)
    relays.settle("flights")  # loyalty has not settled the points yet
    assert messages(traveller, ref)[0]["status"] == "waiting" and mail_server.received == []
    NotificationMessage.update(wait_until=clock.to_db(clock.now() - dt.timedelta(seconds=1))).execute()
    assert admin.send_mail().sent == 1
    (mail,) = mail_server.wait_for(1)
    assert "Points earned: on their way to your account" in mail.text
    relays.settle()  # loyalty's figures arriving later send nothing more
    assert len(mail_server.received) == 1


def test_a_hold_that_runs_out_unpaid_sends_one_mail_without_attachments(system, relays, traveller, trip,
                                                                         mail_server, admin):
    ref = book(traveller, trip[0])
    Booking.update(hold_expires_at=clock.to_db(clock.now() - dt.timedelta(seconds=1))).where(
        Booking.ref == ref).execute()
    assert admin.expire_holds() == 1
    relays.settle()
    (mail,) = mail_server.wait_for(1)
    assert mail.message["Subject"] == f"Booking {ref} expired before it was paid"
    assert "Nothing was charged" in mail.text and mail.attachments() == {}


def test_a_moved_flight_tells_its_confirmed_bookings_the_new_times(system, relays, api, traveller, trip,
                                                                   mail_server, admin):
    out, back = trip
    ref = book(traveller, out, back)
    pay(traveller, ref)
    someone_else = register_and_login(api)
    held = book(someone_else, out, passengers=1)
    relays.settle()
    mail_server.wait_for(1)
    moved = admin.reschedule_flight(out.id, delay_minutes=90)
    assert moved.moved and moved.bookings_told == 1
    relays.settle()
    (_, mail) = mail_server.wait_for(2)
    assert len(mail_server.received) == 2  # the held booking's traveller is not mailed
    assert mail.message["Subject"] == f"New times for booking {ref}: flight {out.flight_number} has moved"
    departs = clock.from_db(out.departs_at) + dt.timedelta(minutes=90)
    assert "It now departs:" in mail.text
    events = {str(e["uid"]): e for e in calendar_events(mail.attachments()[f"flights-{ref}.ics"][1])}
    moved_event = events[f"{ref}-{out.id}@flightbook"]
    assert moved_event.decoded("dtstart").astimezone(clock.UTC) == departs
    assert moved_event.decoded("dtend").astimezone(clock.UTC) == departs + dt.timedelta(minutes=480)
    assert int(moved_event["sequence"]) == 1
    assert out.flight_number in pdf_text(mail.attachments()[f"e-ticket-{ref}.pdf"][1])
    assert traveller.get(f"/api/tickets/{ref}").json["flights"][0]["departs_at"] == clock.iso(departs)
    assert someone_else.get(f"/api/tickets/{held}").json["status"] == "HELD"


def test_the_e_ticket_pdf_is_its_owners_alone(system, relays, api, client, traveller, trip):
    ref = book(traveller, trip[0])
    assert traveller.get(f"/api/tickets/{ref}/pdf").json["error"]["code"] == "ticket_not_issued"
    pay(traveller, ref)
    resp = traveller.get(f"/api/tickets/{ref}/pdf")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF") and ref in pdf_text(resp.content)
    assert f'filename="e-ticket-{ref}.pdf"' in resp.headers["content-disposition"]
    through_gateway = traveller.get(f"/api/gateway/tickets/{ref.lower()}/pdf")
    assert through_gateway.status_code == 200 and through_gateway.content.startswith(b"%PDF")
    other = register_and_login(api)
    assert other.get(f"/api/tickets/{ref}/pdf").status_code == 404
    assert api.get(f"/api/tickets/{ref}/pdf").status_code == 401
    assert traveller.get("/api/tickets/NOSUCH/pdf").status_code == 404


def test_a_traveller_lists_their_own_messages(system, relays, api, traveller, trip, mail_server):
    first, second = book(traveller, trip[0]), book(traveller, trip[1])
    for ref in (first, second):
        pay(traveller, ref)
    relays.settle()
    mail_server.wait_for(2)
    assert [m["booking_ref"] for m in messages(traveller)] == [second, first]
    assert [m["booking_ref"] for m in messages(traveller, first.lower())] == [first]
    assert messages(register_and_login(api)) == []
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"booking_ref": "TOOLONGREF"}):
        resp = traveller.get("/api/messages", params=bad)
        assert resp.status_code == 400, (bad, resp.text)
    assert api.get("/api/messages").status_code == 401


def test_the_message_id_is_fixed_when_the_message_is_made(system, relays, traveller, trip, mail_server):
    """So a send repeated after a crash (the SMTP server took it, the outcome was not recorded) is the same mail."""
    ref = book(traveller, trip[0])
    pay(traveller, ref)
    relays.settle()
    (mail,) = mail_server.wait_for(1)
    row = NotificationMessage.get(NotificationMessage.booking_ref == ref)
    assert mail.message["Message-ID"] == row.message_id and row.message_id.endswith("@flightbook.example>")
    assert json.loads(row.details) == {} and row.status == MessageStatus.SENT


def test_a_message_one_sender_has_taken_is_not_sent_by_another(system, relays, traveller, trip, mail_server, admin):
    """The follow-up of its event and the background job of each worker may reach for the same message: the
    lease taken by a conditional UPDATE lets one of them send it."""
    from flightbook.modules.flights.notifications import messages as rows

    mail_server.stop()
    ref = book(traveller, trip[0])
    pay(traveller, ref)
    relays.settle()
    mail_server.start()
    row = NotificationMessage.get(NotificationMessage.booking_ref == ref)
    sender = system.parts["flights"].contract.sender
    assert rows.claim(row.id, clock.now(), sender.policy) is not None  # another sender is at it
    assert sender.send(row.id) is None
    assert admin.send_mail(ignore_backoff=True).sent == 0 and mail_server.received == []
    NotificationMessage.update(locked_until=clock.to_db(clock.now() - dt.timedelta(seconds=1))).execute()
    assert admin.send_mail(ignore_backoff=True).sent == 1  # its lease ran out: the message is anyone's again
    assert len(mail_server.wait_for(1)) == 1
    assert [job.name for job in system.parts["flights"].jobs] == ["expire-holds", "send-mail", "admin-figures",
                                                                  "fold-seat-days"]


def test_while_the_server_is_away_events_leave_their_mail_to_the_background_job(system, relays, traveller, trip,
                                                                                mail_server, admin):
    """A server that hangs until the timeout would otherwise hold up every event's delivery for that long."""
    sender = system.parts["flights"].contract.sender
    sender.away_until = time.monotonic() + 60  # as after a send that found no server
    ref = book(traveller, trip[0])
    pay(traveller, ref)
    relays.settle()
    (left,) = messages(traveller, ref)
    assert (left["status"], left["attempts"]) == ("pending", 0) and mail_server.received == []
    assert admin.send_mail().sent == 1 and len(mail_server.wait_for(1)) == 1


def test_a_message_and_the_figure_it_waits_for_arriving_at_once_do_not_miss_each_other(
        system, backend, traveller, trip):
    """Two consumers (or relays) apply them in two transactions at once: on PostgreSQL each takes the booking's
    row first, so the later one sees what the earlier one wrote. (SQLite runs one writer at a time anyway.)"""
    if backend != "postgres":
        pytest.skip("SQLite's writers take turns: there is no 'at once'")
    from flightbook.contracts.flights import MessageKind
    from flightbook.kernel import db as kdb
    from flightbook.modules.flights.notifications import facts, messages as rows
    from flightbook.modules.flights.notifications.facts import FactKind

    ref = book(traveller, trip[0])
    database, policy = system.parts["flights"].database, system.parts["flights"].contract.sender.policy
    noted, let_go, became_ready = threading.Event(), threading.Event(), []

    def the_change():
        with kdb.connection(database), kdb.write_transaction(database):
            rows.note_change(str(uuid.uuid4()), ref, MessageKind.BOOKING_CONFIRMED, {}, policy)
            noted.set()
            let_go.wait(10)  # the figure's transaction starts meanwhile

    def the_figure():
        with kdb.connection(database), kdb.write_transaction(database):
            facts.record(str(uuid.uuid4()), ref, FactKind.POINTS_SETTLED,
                         {"earned": 10, "redeemed": 0, "redeemed_value": None})
            became_ready.extend(rows.ready_after_fact(ref))

    change = threading.Thread(target=the_change)
    change.start()
    assert noted.wait(10)
    figure = threading.Thread(target=the_figure)
    figure.start()
    figure.join(1.0)  # it waits for the change's transaction...
    let_go.set()
    change.join(10)
    figure.join(10)
    row = NotificationMessage.get(NotificationMessage.booking_ref == ref)
    assert became_ready == [row.id] and row.status == MessageStatus.PENDING  # ...and then sees its message
