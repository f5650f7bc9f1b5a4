"""What payments does when flights publishes booking events: give money back and close intents.

A refund is recorded as owed inside the event's transaction; the handler returns the provider call as
a follow-up that runs once that transaction has committed (the reconciler sends it if the process dies)."""
from __future__ import annotations

from flightbook.contracts.flights import BookingCancelled, BookingExpired, BookingPaymentRejected

TOPICS = ("booking.payment_rejected", "booking.cancelled", "booking.expired")


def build(service) -> dict:
    def payment_rejected(event: BookingPaymentRejected):
        return service.refund_rejected_payment(event.payment_id)

    def booking_cancelled(event: BookingCancelled):
        if event.was_confirmed:
            return service.refund_cancelled_booking(event.ref, event.payment_id, event.refund_percent)
        service.cancel_open_intent(event.ref)
        return None

    def booking_expired(event: BookingExpired) -> None:
        service.cancel_open_intent(event.ref)

    return {"booking.payment_rejected": payment_rejected, "booking.cancelled": booking_cancelled,
            "booking.expired": booking_expired}
