"""payment.succeeded, the guaranteed path to CONFIRMED: a payment confirms its booking even late, if the
booking's seats can still be had; otherwise flights publishes BookingPaymentRejected so payments gives the
money back."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import NO_BOOKING, BookingPaymentRejected
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking import refs
from flightbook.modules.flights.booking.seats import rebook_seats, seats_of, take_seats
from flightbook.modules.flights.booking.states import (CANCELLED, CONFIRMED, HELD, confirm, expire_if_lapsed,
                                                       first_departure)
from flightbook.modules.flights.models import Booking


def apply_payment(uow: UnitOfWork, ref: str, payment_id: str, user_id: int, paid: Money,
                  now: dt.datetime | None = None) -> str:
    """A payment succeeded: confirm the booking it pays for. Never raises for a payment it cannot take
    (a handler that raised would be retried for ever). Returns the outcome."""
    now = now or clock.now()
    expire_if_lapsed(uow, ref, now)
    with uow.transaction():
        booking = Booking.get_or_none(Booking.ref == ref) if refs.is_ref(ref) else None
        if booking is None:
            uow.publish(BookingPaymentRejected(ref=ref, user_id=user_id, payment_id=payment_id,
                                               reason="booking_not_found", booking_status=NO_BOOKING))
            return "rejected"
        if booking.status == CONFIRMED and booking.payment_id == payment_id:
            return "already_confirmed"
        if booking.status == HELD:
            confirm(uow, booking, payment_id, now, paid)
            return "confirmed"
        reason = _late_payment_refusal(booking, paid, now) or _retake_seats(uow, booking)
        if reason is None:
            confirm(uow, booking, payment_id, now, paid)
            return "confirmed_late"
        uow.publish(BookingPaymentRejected(ref=booking.ref, user_id=booking.user_id, payment_id=payment_id,
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
    return "flight_departed" if now >= first_departure(booking) else None


class _SeatsGone(Exception):
    pass


def _retake_seats(uow: UnitOfWork, booking: Booking) -> str | None:
    """Take an expired booking's seats again as a hold takes them; a return booking gets both legs or
    neither (savepoint). None when taken, else the reason it could not be."""
    held = seats_of(booking.ref)
    n = max((len(seats) for seats in held.values()), default=0)
    try:
        with uow.database.atomic():
            short, sold = take_seats(list(held), booking.cabin, n)
            if short is not None:
                raise _SeatsGone()
            rebook_seats(booking.ref, sold)  # the price paid stands; the seats come from today's buckets
    except _SeatsGone:
        return "seats_gone"
    return None
