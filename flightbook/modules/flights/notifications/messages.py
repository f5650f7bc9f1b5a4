"""The messages to travellers: made once per event and booking (inside the event's inbox transaction), waiting
while a figure they quote is still to come, then handed to a sender, which takes one at a time under a lease
and records how it went: sent, retried after a pause that doubles, or failed for good."""
from __future__ import annotations

import datetime as dt
import email.utils
import json
from dataclasses import dataclass


from flightbook.contracts.flights import MessageKind, MessageStatus, MessageView
from flightbook.kernel import clock
from flightbook.kernel.sql import Lookup, Statement
from flightbook.modules.flights.booking import refs
from flightbook.modules.flights.models import Booking
from flightbook.modules.flights.notifications.facts import BookingFacts, facts_of
from flightbook.modules.flights.notifications.models import NotificationMessage as Row

WAITING, PENDING, SENT, FAILED = MessageStatus.WAITING, MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.FAILED
MAX_PAUSE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class MailPolicy:
    """How messages are made and sent (from the settings)."""
    sender: str
    public_url: str
    wait_seconds: float = 600.0
    retry_seconds: float = 30.0
    max_attempts: int = 20
    lease_seconds: float = 120.0  # longer than any one send takes (the SMTP timeout, a few round trips)

    @property
    def domain(self) -> str:
        return email.utils.parseaddr(self.sender)[1].rpartition("@")[2] or "flightbook.localhost"


SUBJECTS = {
    MessageKind.BOOKING_CONFIRMED: "Your e-ticket: booking {ref} is confirmed",
    MessageKind.BOOKING_CANCELLED: "Booking {ref} is cancelled",
    MessageKind.BOOKING_EXPIRED: "Booking {ref} expired before it was paid",
    MessageKind.FLIGHT_RESCHEDULED: "New times for booking {ref}: flight {flight_number} has moved",
}


def missing_figures(kind: str, details: dict, facts: BookingFacts) -> list[str]:
    """What a message still waits for before it can say everything: the points of a confirmed booking, and for
    a cancelled one the points given back and, when the card paid and the fare rule gives something back,
    the card's refund. (Which figures to expect, never the figures themselves: those are the owners'.)"""
    if kind == MessageKind.BOOKING_CONFIRMED:
        return [] if facts.points is not None else ["points"]
    if kind != MessageKind.BOOKING_CANCELLED or not details.get("was_confirmed"):
        return []
    missing = [] if facts.reversal is not None else ["points"]
    if card_refund_expected(details, facts) and details["payment_id"] not in facts.refunded:
        missing.append("card refund")
    return missing


def card_refund_expected(details: dict, facts: BookingFacts) -> bool:
    card_paid_something = facts.card_paid is None or facts.card_paid.amount > 0
    return bool(details.get("payment_id")) and details.get("refund_percent", 0) > 0 and card_paid_something


# the statements every confirmed booking's message runs, written once (peewee's query building was most of the
# CPU of these event handlers)
_BOOKING_IN_HAND = Statement("notification_booking_in_hand", lambda d: (
    "SELECT user_id, contact_email FROM booking WHERE ref = {ref}" + (" FOR UPDATE" if d.is_postgres else "")))
_NOTE = Statement("notification_note", lambda d: """INSERT INTO notification_message
    (event_id, booking_ref, user_id, kind, recipient, subject, message_id, details, status, wait_until, attempts,
     next_attempt_at, created_at)
    VALUES ({event_id}, {ref}, {user_id}, {kind}, {recipient}, {subject}, {message_id}, {details}, {status},
            {wait_until}, 0, {now}, {now})
    ON CONFLICT DO NOTHING RETURNING id""")
_WAITING = Statement("notification_waiting", lambda d: """SELECT id, kind, details FROM notification_message
    WHERE booking_ref = {ref} AND status = {waiting}""")
_EARLIER = Statement("notification_earlier", lambda d: """SELECT COUNT(*) FROM notification_message
    WHERE booking_ref = {ref} AND id < {id}""")
_CLAIM = Statement("notification_claim", lambda d: """UPDATE notification_message SET locked_until = {lease}
    WHERE id = {id} AND status = {pending} AND (locked_until IS NULL OR locked_until <= {now})""")
_BY_ID = Lookup(Row, "id = {id}")
# each round of the mail job (in four services, a doorbell ring per booking) starts with these three
_STOP_WAITING = Statement("notification_stop_waiting", lambda d: """UPDATE notification_message
    SET status = {pending}, wait_until = NULL, next_attempt_at = {now}
    WHERE status = {waiting} AND wait_until <= {now}""")
_DUE = Statement("notification_due", lambda d: """SELECT id FROM notification_message
    WHERE status = {pending} AND next_attempt_at <= {until} AND (locked_until IS NULL OR locked_until <= {now})
    ORDER BY next_attempt_at, id LIMIT {limit}""")
_STILL_TO_GO = Statement("notification_still_to_go", lambda d: """SELECT status, COUNT(id) FROM notification_message
    WHERE status IN ({pending}, {waiting}) GROUP BY status""")
#: a next attempt later than any: ``due(ignore_backoff=True)`` takes every pending message
_ANY_TIME = dt.datetime(9999, 12, 31)
_SENT = Statement("notification_sent", lambda d: """UPDATE notification_message
    SET status = {sent}, sent_at = {now}, attempts = attempts + 1, locked_until = NULL, last_error = NULL
    WHERE id = {id}""")


@dataclass(frozen=True)
class BookingInHand:
    user_id: int
    contact_email: str


def _booking_in_hand(ref: str) -> BookingInHand | None:
    """The booking, locked until the transaction ends (PostgreSQL): a message and the figure it waits for,
    arriving at once in two transactions, are weighed one after the other, so neither misses the other."""
    if not refs.is_ref(ref):
        return None
    rows = _BOOKING_IN_HAND.rows(Booking._meta.database, ref=ref)
    return BookingInHand(*rows[0]) if rows else None


def note_change(event_id: str, ref: str, kind: MessageKind, details: dict, policy: MailPolicy,
                now: dt.datetime | None = None) -> int | None:
    """Inside the event's transaction: the message about this change of booking ``ref``. Returns its id when it
    is ready to send now (None: it waits for figures, or this event made it already)."""
    booking = _booking_in_hand(ref)
    if booking is None:
        return None
    now = now or clock.now()
    missing = missing_figures(kind, details, facts_of(ref))
    status = WAITING if missing else PENDING
    inserted = _NOTE.rows(
        Row._meta.database, event_id=event_id, ref=ref, user_id=booking.user_id, kind=kind,
        recipient=booking.contact_email, subject=SUBJECTS[kind].format(ref=ref, **details)[:200],
        message_id=email.utils.make_msgid(f"{kind}.{ref}", policy.domain), details=json.dumps(details, sort_keys=True),
        status=status, wait_until=clock.to_db(now + dt.timedelta(seconds=policy.wait_seconds)) if missing else None,
        now=clock.to_db(now))
    if not inserted or status != PENDING:
        return None
    return int(inserted[0][0])


def ready_after_fact(ref: str, now: dt.datetime | None = None) -> list[int]:
    """Inside a fact's event transaction: the waiting messages of ``ref`` that have every figure now, made
    PENDING; their ids."""
    _booking_in_hand(ref)
    facts = facts_of(ref)
    ready = [id_ for id_, kind, details in _WAITING.rows(Row._meta.database, ref=ref, waiting=WAITING)
             if not missing_figures(kind, json.loads(details), facts)]
    if ready:
        Row.update(status=PENDING, wait_until=None, next_attempt_at=clock.to_db(now or clock.now())).where(
            Row.id.in_(ready) & (Row.status == WAITING)).execute()
    return ready


def stop_waiting(now: dt.datetime) -> int:
    """Messages that waited long enough for a figure go without it (saying it is on its way)."""
    return _STOP_WAITING.run(Row._meta.database, pending=PENDING, now=clock.to_db(now), waiting=WAITING).rowcount


def due(now: dt.datetime, ignore_backoff: bool = False, limit: int = 100) -> list[int]:
    """Pending messages whose next try is due (every pending one with ``ignore_backoff``), oldest first."""
    return [int(id_) for id_, in _DUE.rows(Row._meta.database, pending=PENDING, now=clock.to_db(now), limit=limit,
                                          until=_ANY_TIME if ignore_backoff else clock.to_db(now))]


def claim(message_id: int, now: dt.datetime, policy: MailPolicy) -> Row | None:
    """Take a pending message for one send (a conditional UPDATE: two senders, say the follow-up of its event
    and the background job, never both send it). None: another sender has it, or it is no longer pending."""
    lease = clock.to_db(now + dt.timedelta(seconds=policy.lease_seconds))
    taken = _CLAIM.run(Row._meta.database, lease=lease, id=message_id, pending=PENDING, now=clock.to_db(now)).rowcount
    return _BY_ID.first(id=message_id) if taken else None


def sent(row: Row, now: dt.datetime) -> None:
    _SENT.run(Row._meta.database, sent=SENT, now=clock.to_db(now), id=row.id)


def failed_for_good(row: Row, reason: str) -> None:
    Row.update(status=FAILED, attempts=Row.attempts + 1, locked_until=None, last_error=reason[:2000]).where(
        Row.id == row.id).execute()


def pause_after(attempts: int, policy: MailPolicy) -> dt.timedelta:
    """The wait before the next try after ``attempts`` failed ones: the first pause, doubling, at most an hour."""
    return min(dt.timedelta(seconds=policy.retry_seconds * 2 ** min(attempts - 1, 30)), MAX_PAUSE)


def try_again_later(row: Row, reason: str, now: dt.datetime, policy: MailPolicy) -> bool:
    """Back to the queue after a pause that doubles with each attempt (at most an hour); after
    ``policy.max_attempts`` attempts it is given up. True if it will be tried again."""
    attempts = row.attempts + 1
    if attempts >= policy.max_attempts:
        failed_for_good(row, f"gave up after {attempts} attempts; the last: {reason}")
        return False
    pause = pause_after(attempts, policy)
    Row.update(attempts=attempts, next_attempt_at=clock.to_db(now + pause), locked_until=None,
               last_error=reason[:2000]).where(Row.id == row.id).execute()
    return True


def earlier_messages(row: Row) -> int:
    """How many messages about the same booking came before this one (a calendar entry's SEQUENCE)."""
    return int(_EARLIER.rows(Row._meta.database, ref=row.booking_ref, id=row.id)[0][0])


def counts() -> dict[str, int]:
    """The messages still to go (pending, waiting), by status: every round of the mail job says them, so they
    are counted through the status index, not over every message ever sent."""
    rows = _STILL_TO_GO.rows(Row._meta.database, pending=PENDING, waiting=WAITING)
    return {status: int(n) for status, n in rows}


def messages_of(user_id: int, booking_ref: str | None = None, limit: int = 20) -> list[MessageView]:
    when = Row.user_id == user_id
    if booking_ref is not None:
        when &= Row.booking_ref == booking_ref
    rows = Row.select().where(when).order_by(Row.id.desc()).limit(limit)
    return [MessageView(id=r.id, booking_ref=r.booking_ref, kind=MessageKind(r.kind), subject=r.subject,
                        recipient=r.recipient, status=MessageStatus(r.status), created_at=clock.from_db(r.created_at),
                        sent_at=clock.from_db(r.sent_at), attempts=r.attempts,
                        failure=r.last_error if r.status == FAILED else None) for r in rows]
