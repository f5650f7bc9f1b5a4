"""What flights does when other parts publish events: topic -> service method."""
from __future__ import annotations

from typing import Callable

from flightbook.contracts.payments import PaymentSucceeded
from flightbook.modules.flights.service import FlightsService

TOPICS = ("payment.succeeded",)


def build(service: FlightsService) -> dict[str, Callable]:
    def payment_succeeded(event: PaymentSucceeded) -> None:
        service.apply_payment(event.booking_ref, event.payment_id, event.user_id, event.amount)

    return {"payment.succeeded": payment_succeeded}
