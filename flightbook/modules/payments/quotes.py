"""What paying or cancelling would cost or give back, asked before anything happens (the gateway shows it).
The rules here are the ones the paying and refunding paths apply, so a quote and the real thing agree."""
from __future__ import annotations

from flightbook.contracts.flights import FlightsContract
from flightbook.contracts.loyalty import LoyaltyContract
from flightbook.contracts.payments import PaymentQuote, RefundQuote
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import NotFound, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.payments.models import Payment


def card_part(total: Money, points_value: Money) -> Money:
    """What the card pays of ``total`` once points worth ``points_value`` paid their part (never below 0)."""
    return Money(total.amount - min(total.amount, points_value.amount), total.currency)


def cancellation_refund(card_paid: int, refund_percent: int) -> int:
    """The card's part of a cancelled booking's refund: the fare rule's share of what it paid, rounded
    down so we never refund more than the rule says (0 for a points-only payment)."""
    if card_paid <= 0 or refund_percent <= 0:
        return 0
    return card_paid * refund_percent // 100


def quote_payment(flights: FlightsContract, loyalty: LoyaltyContract | None, caller: Principal, user_id: int,
                  booking_ref: str, points: int) -> PaymentQuote:
    booking = flights.get_booking(caller, booking_ref)
    if booking.user_id != user_id:
        raise NotFound(f"no booking {booking_ref}", code="booking_not_found")
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise ValidationError("points", "must be a whole number, 0 or more")
    value = (loyalty.points_value(points, booking.total.currency) if points and loyalty is not None
             else Money(0, booking.total.currency))
    card = card_part(booking.total, value)
    return PaymentQuote(booking_ref=booking.ref, total=booking.total, points=points,
                        points_value=booking.total - card, card=card)


def quote_refund(flights: FlightsContract, caller: Principal, user_id: int, booking_ref: str,
                 refund_percent: int) -> RefundQuote:
    booking = flights.get_booking(caller, booking_ref)
    if booking.user_id != user_id:
        raise NotFound(f"no booking {booking_ref}", code="booking_not_found")
    if isinstance(refund_percent, bool) or not isinstance(refund_percent, int) or not 0 <= refund_percent <= 100:
        raise ValidationError("refund_percent", "must be between 0 and 100")
    payment = Payment.get_or_none(Payment.id == booking.payment_id) if booking.payment_id else None
    paid = payment.amount if payment is not None else 0
    currency = booking.total.currency
    return RefundQuote(booking_ref=booking.ref, refund_percent=refund_percent, paid=Money(paid, currency),
                       refund=Money(cancellation_refund(paid, refund_percent), currency))
