"""What loyalty does when flights reports a booking's fate: topic -> handler.

Loyalty follows the booking, not the payment: booking.cancelled (rather than payment.refunded) carries
the fare rule's refund_percent and also covers bookings paid with points alone, which have no refund."""
from __future__ import annotations

from typing import Callable

from flightbook.contracts.flights import (BookingCancelled, BookingConfirmed, BookingExpired, BookingPaymentRejected,
                                          BookingStatus)
from flightbook.modules.loyalty.service import LoyaltyService

TOPICS = ("booking.confirmed", "booking.cancelled", "booking.expired", "booking.payment_rejected")


def build(service: LoyaltyService) -> dict[str, Callable]:
    def booking_confirmed(event: BookingConfirmed) -> None:
        service.booking_confirmed(event.ref, event.user_id, event.total, event.paid)

    def booking_cancelled(event: BookingCancelled) -> None:
        if event.was_confirmed:
            service.booking_cancelled(event.ref, event.user_id, event.refund_percent)
        else:
            service.booking_abandoned(event.ref)

    def booking_expired(event: BookingExpired) -> None:
        service.booking_abandoned(event.ref)

    def payment_rejected(event: BookingPaymentRejected) -> None:
        if event.booking_status != BookingStatus.CONFIRMED:  # else the hold is the confirmed booking's
            service.booking_abandoned(event.ref)

    return {"booking.confirmed": booking_confirmed, "booking.cancelled": booking_cancelled,
            "booking.expired": booking_expired, "booking.payment_rejected": payment_rejected}
