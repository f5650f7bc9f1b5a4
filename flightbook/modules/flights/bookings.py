"""Bookings: seat holds, confirmation, cancellation and expiry — never selling a seat a cabin lacks.

Seats move only by conditional UPDATEs (``seats_left >= n``), and a booking changes status only by a
conditional UPDATE on the status it leaves, so no interleaving of workers, sweepers and payments can
oversell a cabin or move one booking twice.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from flightbook.contracts.flights import (BookingCancelled, BookingConfirmed, BookingExpired, BookingNotFound,
                                          BookingPage, BookingPaymentRejected, BookingRequest, BookingStatus,
                                          BookingView, CancellationQuote, FlightDeparted, HoldExpired,
                                          InvalidTransition, PassengerInput)
from flightbook.kernel import clock, faults, validate
from flightbook.kernel.auth import Principal
from flightbook.kernel.db import connection, write_transaction
from flightbook.kernel.errors import Forbidden, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.outbox import Outbox
from flightbook.modules.flights import refs
from flightbook.modules.flights.booking_checks import (Leg, bookable_legs, booking_total, seats_unavailable,
                                                       valid_passengers)
from flightbook.modules.flights.booking_views import booking_views
from flightbook.modules.flights.fare_rules import BookingRules
from flightbook.modules.flights.models import Booking, BookingFlight, Flight, Passenger, SeatInventory, database

__all__ = ["BookingRules", "TRANSITIONS", "hold_seats", "get_booking", "list_bookings", "confirm_booking",
           "cancel_booking", "quote_cancellation", "release_expired_holds", "apply_payment"]

HELD, CONFIRMED, EXPIRED, CANCELLED = (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.EXPIRED,
                                       BookingStatus.CANCELLED)

#: The booking's state machine: status -> the statuses it may move to. Anything else is a 409.
#: EXPIRED -> CONFIRMED is only ever taken by a late payment (``apply_payment``) that wins its seats back.
TRANSITIONS = {
    HELD: frozenset({CONFIRMED, EXPIRED, CANCELLED}),
    CONFIRMED: frozenset({CANCELLED}),
    EXPIRED: frozenset({CONFIRMED}),
    CANCELLED: frozenset(),
}

_REF_ATTEMPTS = 10
_SWEEP_BATCH = 500

#: every status change publishes its event here, in the transaction that makes the change
outbox = Outbox(database, "flights")


# --- holding seats --------------------------------------------------------------------------

def hold_seats(user_id: int, request: BookingRequest, rules: BookingRules,
               now: dt.datetime | None = None) -> BookingView:
    """Validate everything, then take every seat and write the booking in one transaction (or nothing)."""
    now = now or clock.now()
    passengers = valid_passengers(request.passengers, now.date())
    email = validate.email({"contact_email": request.contact_email}, "contact_email")
    legs = bookable_legs(request, len(passengers), now)
    total = booking_total(legs, len(passengers))
    expires_at = min(rules.hold_expires_at(now), clock.from_db(legs[0].flight.departs_at))
    with write_transaction(database):
        ref = _insert_booking(user_id=user_id, status=HELD, cabin=legs[0].cabin, contact_email=email,
                              total_amount=total.amount, currency=total.currency,
                              hold_expires_at=clock.to_db(expires_at), created_at=clock.to_db(now))
        _insert_legs_and_passengers(ref, legs, passengers)
        _take_seats(legs, len(passengers))
    return get_booking(ref)


def _insert_booking(**fields) -> str:
    for _ in range(_REF_ATTEMPTS):
        ref = refs.new_ref()
        try:
            with database.atomic():  # a savepoint: a ref collision must not abort the whole transaction
                Booking.insert(ref=ref, **fields).execute()
            return ref
        except pw.IntegrityError:
            continue
    raise Unavailable("could not find a free booking reference; try again", code="ref_exhausted")


def _insert_legs_and_passengers(ref: str, legs: list[Leg], passengers: list[PassengerInput]) -> None:
    BookingFlight.insert_many([
        {"booking": ref, "flight": leg.flight.id, "direction": leg.direction,
         "fare_amount": leg.fare.amount, "currency": leg.fare.currency} for leg in legs]).execute()
    Passenger.insert_many([
        {"booking": ref, "first_name": p.first_name, "last_name": p.last_name,
         "date_of_birth": p.date_of_birth, "gender": p.gender} for p in passengers]).execute()


def _take_seats(legs: list[Leg], n: int) -> None:
    # Conditional UPDATE, never read-then-write, so two buyers cannot both take the last seat. Flights
    # go in id order so two return bookings over the same pair lock the rows alike and cannot deadlock.
    # Taken last, so the hot inventory row stays locked for as short a time as possible.
    for leg in sorted(legs, key=lambda leg: leg.flight.id):
        taken = (SeatInventory.update(seats_left=SeatInventory.seats_left - n)
                 .where((SeatInventory.flight == leg.flight.id) & (SeatInventory.cabin == leg.cabin)
                        & (SeatInventory.seats_left >= n))
                 .execute())
        if taken != 1:
            left = SeatInventory.get((SeatInventory.flight == leg.flight.id) & (SeatInventory.cabin == leg.cabin))
            raise seats_unavailable(leg, n, left.seats_left)


# --- reading --------------------------------------------------------------------------------

def get_booking(ref: str, viewer: Principal | None = None) -> BookingView:
    """The owner, an admin or a service (``viewer`` None or a service principal) may see a booking;
    to anyone else it does not exist."""
    booking = _find(ref)
    if not _may_see(viewer, booking):
        raise BookingNotFound(f"no booking {ref}")
    return booking_views([booking])[0]


def list_bookings(user_id: int, page: int = 1, per_page: int = 20) -> BookingPage:
    """The traveller's bookings, newest first."""
    mine = Booking.select().where(Booking.user_id == user_id)
    rows = list(mine.order_by(Booking.created_at.desc(), Booking.ref.desc()).paginate(page, per_page))
    return BookingPage(bookings=booking_views(rows), page=page, per_page=per_page, total=mine.count())


def _find(ref: str) -> Booking:
    booking = Booking.get_or_none(Booking.ref == ref) if refs.is_ref(ref) else None
    if booking is None:
        raise BookingNotFound(f"no booking {ref}")
    return booking


def _may_see(viewer: Principal | None, booking: Booking) -> bool:
    return viewer is None or viewer.is_service or viewer.is_admin or viewer.user_id == booking.user_id


# --- moving a booking through its states -----------------------------------------------------

def confirm_booking(ref: str, payment_id: str, now: dt.datetime | None = None,
                    paid: Money | None = None) -> BookingView:
    """HELD -> CONFIRMED once paid. Confirming again with the same payment changes nothing."""
    now = now or clock.now()
    if not isinstance(payment_id, str) or not payment_id.strip() or len(payment_id) > 64:
        raise ValidationError("payment_id", "is required (at most 64 characters)")
    _expire_if_lapsed(ref, now)
    with write_transaction(database):
        booking = _find(ref)
        if booking.status == CONFIRMED and booking.payment_id == payment_id:
            return get_booking(ref)
        if booking.status != HELD:  # a late payment goes through apply_payment, which wins seats back first
            raise _cannot(ref, booking.status, CONFIRMED)
        _confirm(booking, payment_id, now, paid)
        faults.reach("flights.confirming")  # a crash test's instant: paid, confirmation not yet committed
    return get_booking(ref)


def _confirm(booking: Booking, payment_id: str, now: dt.datetime, paid: Money | None = None) -> None:
    _move(booking, CONFIRMED, payment_id=payment_id, confirmed_at=clock.to_db(now))
    outbox.publish(BookingConfirmed(ref=booking.ref, user_id=booking.user_id,
                                    total=Money(booking.total_amount, booking.currency), payment_id=payment_id,
                                    paid=paid))


def cancel_booking(ref: str, caller: Principal, rules: BookingRules, now: dt.datetime | None = None) -> BookingView:
    """The owner cancels: HELD or CONFIRMED -> CANCELLED, seats back, refund due by the fare rule."""
    now = now or clock.now()
    _check_owner(_find(ref), caller)
    _expire_if_lapsed(ref, now)
    with write_transaction(database):
        booking = _find(ref)
        refund, refund_percent = _cancellation_terms(booking, rules, now)
        _move(booking, CANCELLED, cancelled_at=clock.to_db(now),
              refund_amount=refund.amount if refund is not None else None)
        _release_seats(booking)
        outbox.publish(BookingCancelled(
            ref=booking.ref, user_id=booking.user_id, was_confirmed=refund is not None,
            refund_due=refund or Money(0, booking.currency), payment_id=booking.payment_id,
            refund_percent=refund_percent))
    return get_booking(ref)


def quote_cancellation(ref: str, caller: Principal, rules: BookingRules,
                       now: dt.datetime | None = None) -> CancellationQuote:
    """What ``cancel_booking`` would give back now, by the same terms; reads only. For a cancelled
    booking, what its cancellation gave back."""
    now = now or clock.now()
    booking = _find(ref)
    _check_owner(booking, caller)
    status = EXPIRED if _has_lapsed(booking, now) else booking.status
    paid = Money(booking.total_amount, booking.currency)
    if status == CANCELLED:
        refund = Money(booking.refund_amount, booking.currency) if booking.refund_amount is not None else None
        return _quote(booking, status, False, refund, _refund_percent(refund, paid, rules))
    if CANCELLED not in TRANSITIONS[status]:
        return _quote(booking, status, False, None, 0)
    try:
        refund, refund_percent = _cancellation_terms(booking, rules, now)
    except FlightDeparted:
        return _quote(booking, status, False, None, 0)
    full_until = rules.full_refund_until(_first_departure(booking)) if refund is not None else None
    return _quote(booking, status, True, refund, refund_percent, full_until)


def _quote(booking: Booking, status: str, is_cancellable: bool, refund: Money | None, refund_percent: int,
           full_refund_until: dt.datetime | None = None) -> CancellationQuote:
    return CancellationQuote(ref=booking.ref, status=status, is_cancellable=is_cancellable,
                             refund_percent=refund_percent, refund_due=refund or Money(0, booking.currency),
                             full_refund_until=full_refund_until)


def _cancellation_terms(booking: Booking, rules: BookingRules, now: dt.datetime) -> tuple[Money | None, int]:
    """The fare rule for cancelling ``booking`` now: (the refund due, None for a hold; its share of what
    was paid). FlightDeparted once a confirmed booking's first flight has left."""
    if booking.status != CONFIRMED:
        return None, 0
    refund = _refund_due(booking, rules, now)
    return refund, _refund_percent(refund, Money(booking.total_amount, booking.currency), rules)


def _refund_percent(refund: Money | None, paid: Money, rules: BookingRules) -> int:
    """The fare rule's outcome as a share, for the parts that split the price (cash, points)."""
    if refund is None:
        return 0
    return 100 if refund == paid else rules.late_refund_percent


def release_expired_holds(now: dt.datetime | None = None) -> int:
    """HELD bookings past their expiry -> EXPIRED, seats back. Safe beside other sweepers and payments."""
    now = now or clock.now()
    released = 0
    with connection(database):
        while True:
            lapsed = [b.ref for b in Booking.select(Booking.ref)
                      .where((Booking.status == HELD) & (Booking.hold_expires_at <= clock.to_db(now)))
                      .order_by(Booking.hold_expires_at).limit(_SWEEP_BATCH)]
            released += sum(_expire_if_lapsed(ref, now) for ref in lapsed)
            if len(lapsed) < _SWEEP_BATCH:
                return released


def _expire_if_lapsed(ref: str, now: dt.datetime) -> bool:
    """Expire the hold when its time is up; its own transaction, so the expiry stands whatever follows.
    The read is only a shortcut: the conditional UPDATE decides, should another worker move it meanwhile."""
    booking = Booking.get_or_none(Booking.ref == ref) if refs.is_ref(ref) else None
    if booking is None or not _has_lapsed(booking, now):
        return False
    with write_transaction(database):
        moved = _move(booking, EXPIRED, when=Booking.hold_expires_at <= clock.to_db(now), quiet=True)
        if moved:
            _release_seats(booking)
            outbox.publish(BookingExpired(ref=booking.ref, user_id=booking.user_id))
    return moved


def _has_lapsed(booking: Booking, now: dt.datetime) -> bool:
    return booking.status == HELD and clock.from_db(booking.hold_expires_at) <= now


def _move(booking: Booking, to: str, *, when=None, quiet: bool = False, **changes) -> bool:
    """One step of the state machine as a conditional UPDATE on the status it leaves, so two workers
    cannot both move the booking. Another worker got there first: False if ``quiet``, else a 409."""
    if to not in TRANSITIONS[booking.status]:
        raise _cannot(booking.ref, booking.status, to)
    condition = (Booking.ref == booking.ref) & (Booking.status == booking.status)
    moved = Booking.update(status=to, **changes).where(condition if when is None else condition & when).execute()
    if moved != 1 and not quiet:
        raise _cannot(booking.ref, Booking.get(Booking.ref == booking.ref).status, to)
    return moved == 1


def _cannot(ref: str, status: str, to: str) -> InvalidTransition:
    if status == EXPIRED:
        return HoldExpired(f"booking {ref} is EXPIRED: its hold ran out before it became {to}",
                           ref=ref, status=status)
    if status == to == CONFIRMED:
        return InvalidTransition(f"booking {ref} is already CONFIRMED by another payment", ref=ref, status=status)
    return InvalidTransition(f"booking {ref} is {status} and cannot become {to}", ref=ref, status=status)


def _release_seats(booking: Booking) -> None:
    n = Passenger.select().where(Passenger.booking == booking.ref).count()
    flight_ids = sorted(s.flight_id for s in BookingFlight.select(BookingFlight.flight)
                        .where(BookingFlight.booking == booking.ref))
    for flight_id in flight_ids:  # id order, as when they were taken, so the two cannot deadlock
        (SeatInventory.update(seats_left=SeatInventory.seats_left + n)
         .where((SeatInventory.flight == flight_id) & (SeatInventory.cabin == booking.cabin)).execute())


def _check_owner(booking: Booking, caller: Principal) -> None:
    if caller.user_id == booking.user_id and not caller.is_service:
        return
    if caller.is_admin:
        raise Forbidden("only the traveller who booked may cancel a booking", code="not_owner")
    raise BookingNotFound(f"no booking {booking.ref}")


def _first_departure(booking: Booking) -> dt.datetime:
    return min(clock.from_db(f.departs_at) for f in Flight.select(Flight.departs_at)
               .join(BookingFlight).where(BookingFlight.booking == booking.ref))


def _refund_due(booking: Booking, rules: BookingRules, now: dt.datetime) -> Money:
    first_departure = _first_departure(booking)
    if now >= first_departure:
        raise FlightDeparted(f"booking {booking.ref} cannot be cancelled: its first flight has departed",
                             ref=booking.ref, status=booking.status)
    return rules.refund_due(Money(booking.total_amount, booking.currency), first_departure, now)


# --- payment.succeeded: the guaranteed path to CONFIRMED ---------------------------------------

def apply_payment(ref: str, payment_id: str, user_id: int, paid: Money, now: dt.datetime | None = None) -> str:
    """A payment succeeded: confirm the booking it pays for, even late if its seats are still free;
    otherwise publish BookingPaymentRejected so payments gives the money back. Never raises for a
    payment it cannot take (a handler that raised would be retried for ever). Returns the outcome."""
    now = now or clock.now()
    _expire_if_lapsed(ref, now)
    with write_transaction(database):
        booking = Booking.get_or_none(Booking.ref == ref) if refs.is_ref(ref) else None
        if booking is None:
            outbox.publish(BookingPaymentRejected(ref=ref, user_id=user_id, payment_id=payment_id,
                                                  reason="booking_not_found", booking_status="NONE"))
            return "rejected"
        if booking.status == CONFIRMED and booking.payment_id == payment_id:
            return "already_confirmed"
        if booking.status == HELD:
            _confirm(booking, payment_id, now, paid)
            return "confirmed"
        reason = _late_payment_refusal(booking, paid, now) or _retake_seats(booking)
        if reason is None:
            _confirm(booking, payment_id, now, paid)
            return "confirmed_late"
        outbox.publish(BookingPaymentRejected(ref=booking.ref, user_id=booking.user_id, payment_id=payment_id,
                                              reason=reason, booking_status=booking.status))
        return "rejected"


def _late_payment_refusal(booking: Booking, paid: Money, now: dt.datetime) -> str | None:
    """Why a payment cannot confirm a booking that is no longer HELD (None: it may, if seats are free)."""
    if booking.status == CANCELLED:
        return "booking_cancelled"
    if booking.status == CONFIRMED:
        return "paid_by_another_payment"
    if paid != Money(booking.total_amount, booking.currency):
        # cash + points: the points hold was let go when the booking expired, so the cash alone falls short
        return "points_hold_released"
    return "flight_departed" if now >= _first_departure(booking) else None


class _SeatsGone(Exception):
    pass


def _retake_seats(booking: Booking) -> str | None:
    """Take an expired booking's seats again with the same conditional UPDATE as holding them; a return
    booking gets both legs or neither (savepoint). None when taken, else the reason it could not be."""
    n = Passenger.select().where(Passenger.booking == booking.ref).count()
    flight_ids = sorted(s.flight_id for s in BookingFlight.select(BookingFlight.flight)
                        .where(BookingFlight.booking == booking.ref))
    try:
        with database.atomic():
            for flight_id in flight_ids:
                taken = (SeatInventory.update(seats_left=SeatInventory.seats_left - n)
                         .where((SeatInventory.flight == flight_id) & (SeatInventory.cabin == booking.cabin)
                                & (SeatInventory.seats_left >= n)).execute())
                if taken != 1:
                    raise _SeatsGone()
    except _SeatsGone:
        return "seats_gone"
    return None
