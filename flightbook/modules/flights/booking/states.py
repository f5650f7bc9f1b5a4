"""A booking's state machine: each status change is one conditional UPDATE on the status it leaves, with
its event published in the same transaction, so two workers cannot both move a booking."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import (BookingConfirmed, BookingExpired, BookingNotFound, BookingStatus,
                                          BookingView, HoldExpired, InvalidTransition)
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Lookup, Statement
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights import metrics
from flightbook.modules.flights.booking import refs, views
from flightbook.modules.flights.booking.seats import release_seats, seats_of
from flightbook.modules.flights.models import Booking, BookingFlight, Flight, Passenger

HELD, CONFIRMED, EXPIRED, CANCELLED = (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.EXPIRED,
                                       BookingStatus.CANCELLED)

#: status -> the statuses it may move to. Anything else is a 409. EXPIRED -> CONFIRMED is only ever taken
#: by a late payment (``late_payments.apply_payment``) that wins its seats back.
TRANSITIONS = {
    HELD: frozenset({CONFIRMED, EXPIRED, CANCELLED}),
    CONFIRMED: frozenset({CANCELLED}),
    EXPIRED: frozenset({CONFIRMED}),
    CANCELLED: frozenset(),
}

_SWEEP_BATCH = 500
_BY_REF = Lookup(Booking, "ref = {ref}")
_CONFIRM_HELD_SQL = f"""UPDATE booking SET status = '{CONFIRMED}', payment_id = {{payment_id}}, confirmed_at = {{now}}
WHERE ref = {{ref}} AND status = '{HELD}' AND hold_expires_at > {{now}}"""
#: HELD within its hold -> CONFIRMED, answering the booking as ``views.read_booking`` reads it: on PostgreSQL in
#: the same statement; SQLite's UPDATE cannot be a CTE, so there it is read right after (the same transaction)
_CONFIRM_HELD = Statement("booking_confirm_held", lambda d: (
    f"WITH moved AS ({_CONFIRM_HELD_SQL} RETURNING *) {views.read_sql(d, 'moved')}" if d.is_postgres
    else f"{_CONFIRM_HELD_SQL} RETURNING ref"))


def find(ref: str) -> Booking:
    booking = _BY_REF.first(ref=ref) if refs.is_ref(ref) else None
    if booking is None:
        raise BookingNotFound(f"no booking {ref}")
    return booking


def status_of(booking: Booking) -> BookingStatus:
    return BookingStatus(booking.status)


def move(booking: Booking, to: BookingStatus, *, when=None, quiet: bool = False, **changes) -> bool:
    """One step of the state machine as a conditional UPDATE on the status it leaves. Another worker got
    there first: False if ``quiet``, else a 409."""
    if to not in TRANSITIONS[status_of(booking)]:
        raise cannot(booking.ref, status_of(booking), to)
    condition = (Booking.ref == booking.ref) & (Booking.status == booking.status)
    moved = Booking.update(status=to, **changes).where(condition if when is None else condition & when).execute()
    if moved != 1 and not quiet:
        raise cannot(booking.ref, status_of(Booking.get(Booking.ref == booking.ref)), to)
    return moved == 1


def cannot(ref: str, status: BookingStatus, to: BookingStatus) -> InvalidTransition:
    if status == EXPIRED:
        return HoldExpired(f"booking {ref} is EXPIRED: its hold ran out before it became {to}",
                           ref=ref, status=status)
    if status == to == CONFIRMED:
        return InvalidTransition(f"booking {ref} is already CONFIRMED by another payment", ref=ref, status=status)
    return InvalidTransition(f"booking {ref} is {status} and cannot become {to}", ref=ref, status=status)


def confirm(uow: UnitOfWork, booking: Booking, payment_id: str, now: dt.datetime, paid: Money | None = None) -> None:
    """-> CONFIRMED by ``payment_id``, inside the caller's transaction."""
    move(booking, CONFIRMED, payment_id=payment_id, confirmed_at=clock.to_db(now))
    uow.publish(BookingConfirmed(ref=booking.ref, user_id=booking.user_id,
                                 total=Money(booking.total_amount, booking.currency), payment_id=payment_id,
                                 paid=paid))
    seats = Passenger.select().where(Passenger.booking == booking.ref).count()
    cabin = booking.cabin
    uow.after_commit(lambda: metrics.confirmed(cabin, seats))


def confirm_held(uow: UnitOfWork, ref: str, payment_id: str, now: dt.datetime,
                 paid: Money | None = None) -> BookingView | None:
    """-> CONFIRMED by ``payment_id`` if HELD and its hold still runs at ``now``, inside the caller's transaction:
    one conditional UPDATE, no read before it; the booking as confirmed. None: nothing changed (``confirm_booking``
    then finds out why)."""
    rows = _CONFIRM_HELD.rows(uow.database, ref=ref, payment_id=payment_id, now=clock.to_db(now))
    if rows and not uow.is_postgres:
        rows = views.READ_BOOKING.rows(uow.database, ref=ref)
    read = views.view_of_rows(uow.database, rows)
    if read is None:
        return None
    user_id, view = read
    uow.publish(BookingConfirmed(ref=ref, user_id=user_id, total=view.total, payment_id=payment_id, paid=paid))
    cabin, seats = view.cabin, len(view.passengers)
    uow.after_commit(lambda: metrics.confirmed(cabin, seats))
    return view


def has_lapsed(booking: Booking, now: dt.datetime) -> bool:
    return booking.status == HELD and clock.from_db(booking.hold_expires_at) <= now


def expire_if_lapsed(uow: UnitOfWork, ref: str, now: dt.datetime) -> bool:
    """Expire the hold when its time is up; its own transaction, so the expiry stands whatever follows.
    The read is only a shortcut: the conditional UPDATE decides, should another worker move it meanwhile."""
    booking = _BY_REF.first(ref=ref) if refs.is_ref(ref) else None
    if booking is None or not has_lapsed(booking, now):
        return False
    with uow.transaction():
        moved = move(booking, EXPIRED, when=Booking.hold_expires_at <= clock.to_db(now), quiet=True)
        if moved:
            release_seats(seats_of(booking.ref), booking.cabin)
            uow.publish(BookingExpired(ref=booking.ref, user_id=booking.user_id))
    return moved


def release_expired_holds(uow: UnitOfWork, now: dt.datetime | None = None) -> int:
    """HELD bookings past their expiry -> EXPIRED, seats back. Safe beside other sweepers and payments."""
    now = now or clock.now()
    released = 0
    with uow.connection():
        while True:
            lapsed = [b.ref for b in Booking.select(Booking.ref)
                      .where((Booking.status == HELD) & (Booking.hold_expires_at <= clock.to_db(now)))
                      .order_by(Booking.hold_expires_at).limit(_SWEEP_BATCH)]
            released += sum(expire_if_lapsed(uow, ref, now) for ref in lapsed)
            if len(lapsed) < _SWEEP_BATCH:
                return released


def first_departure(booking: Booking) -> dt.datetime:
    return min(clock.from_db(f.departs_at) for f in Flight.select(Flight.departs_at)
               .join(BookingFlight).where(BookingFlight.booking == booking.ref))
