"""What flights does when other parts publish events: topic -> handler."""
from __future__ import annotations

from flightbook.contracts.payments import PaymentSucceeded
from flightbook.modules.flights import bookings

TOPICS = ("payment.succeeded",)


def build(service) -> dict:
    def payment_succeeded(event: PaymentSucceeded) -> None:
        bookings.apply_payment(event.booking_ref, event.payment_id, event.user_id, event.amount)

    return {"payment.succeeded": payment_succeeded}
