"""What flights does when events are published — other parts' and its own: topic -> service method.

The saga: a payment confirms its booking. The traveller's mail: each change of a booking (flights' own
events) makes one message, and the figures it quotes come from their owners' events (a refund from payments;
the points from loyalty). Those handlers return the sends to make once the inbox transaction commits."""
from __future__ import annotations

from typing import Callable

from flightbook.contracts.flights import BookingCancelled, BookingConfirmed, BookingExpired, FlightRescheduled
from flightbook.contracts.loyalty import BookingPointsReversed, BookingPointsSettled
from flightbook.contracts.payments import PaymentRefunded, PaymentSucceeded
from flightbook.kernel.inbox import current_event_id
from flightbook.modules.flights.notifications.facts import FactKind
from flightbook.modules.flights.service import FlightsService

TOPICS = ("payment.succeeded", "booking.confirmed", "booking.cancelled", "booking.expired", "flight.rescheduled",
          "payment.refunded", "loyalty.booking_settled", "loyalty.booking_reversed")


def build(service: FlightsService) -> dict[str, Callable]:
    def payment_succeeded(event: PaymentSucceeded) -> None:
        service.apply_payment(event.booking_ref, event.payment_id, event.user_id, event.amount)

    def booking_confirmed(event: BookingConfirmed):
        return service.notify_booking_confirmed(current_event_id(), event.ref, event.payment_id, event.paid)

    def booking_cancelled(event: BookingCancelled):
        return service.notify_booking_cancelled(current_event_id(), event.ref, event.was_confirmed, event.payment_id,
                                                event.refund_percent)

    def booking_expired(event: BookingExpired):
        return service.notify_booking_expired(current_event_id(), event.ref)

    def flight_rescheduled(event: FlightRescheduled):
        return service.notify_flight_rescheduled(current_event_id(), event)

    def payment_refunded(event: PaymentRefunded):
        return service.note_figure(current_event_id(), event.booking_ref, FactKind.CARD_REFUNDED,
                                   {"payment_id": event.payment_id, "refund_id": event.refund_id,
                                    "amount": event.amount, "refunded_total": event.refunded_total})

    def points_settled(event: BookingPointsSettled):
        return service.note_figure(current_event_id(), event.booking_ref, FactKind.POINTS_SETTLED,
                                   {"earned": event.earned, "redeemed": event.redeemed,
                                    "redeemed_value": event.redeemed_value})

    def points_reversed(event: BookingPointsReversed):
        return service.note_figure(current_event_id(), event.booking_ref, FactKind.POINTS_REVERSED,
                                   {"taken_back": event.points_taken_back, "returned": event.points_returned})

    return {"payment.succeeded": payment_succeeded, "booking.confirmed": booking_confirmed,
            "booking.cancelled": booking_cancelled, "booking.expired": booking_expired,
            "flight.rescheduled": flight_rescheduled, "payment.refunded": payment_refunded,
            "loyalty.booking_settled": points_settled, "loyalty.booking_reversed": points_reversed}
