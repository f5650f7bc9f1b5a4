"""The payments contract: payment intents, card payments, history and refunds, as other parts may use them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Conflict, NotFound, Unprocessable
from flightbook.kernel.events import Event
from flightbook.kernel.money import Money

FAILURE_CODES = ("card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "invalid_number",
                 "processing_error")


class IntentStatus:
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class RefundStatus:
    PENDING = "pending"  # recorded and reserved, at the provider (or owed: the reconciler sends it again)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentStatus:
    PROCESSING = "processing"  # recorded, at the provider (or cut off there: the reconciler finishes it)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


# --- errors -------------------------------------------------------------------------------

class IntentNotFound(NotFound):
    code = "intent_not_found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class BookingNotPayable(Conflict):
    code = "booking_not_payable"


class IntentAlreadyPaid(Conflict):
    code = "intent_already_paid"


class PaymentInProgress(Conflict):
    code = "payment_in_progress"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"


class RefundExceedsPayment(Conflict):
    code = "refund_exceeds_payment"


# --- plain data ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CardInput:
    """A card as the traveller typed it; lives in memory only, never in a table or a log."""
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    holder_name: str = ""


@dataclass(frozen=True)
class CardView:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class IntentView:
    id: str
    booking_ref: str
    user_id: int
    amount: int
    currency: str
    status: str
    created_at: dt.datetime


@dataclass(frozen=True)
class PaymentResult:
    """The outcome of one attempt: status succeeded, failed (a decline: failure_code says why) or
    refunded (charged, but the booking could not be confirmed, so the charge went straight back)."""
    id: str
    intent_id: str
    booking_ref: str
    status: str
    amount: int
    currency: str
    card: CardView | None = None
    failure_code: str | None = None
    message: str | None = None

    @property
    def is_success(self) -> bool:
        return self.status == PaymentStatus.SUCCEEDED


@dataclass(frozen=True)
class RefundView:
    id: str
    payment_id: str
    booking_ref: str
    amount: int
    currency: str
    refunded_total: int
    payment_status: str
    created_at: dt.datetime
    status: str = "succeeded"


@dataclass(frozen=True)
class PaymentView:
    id: str
    intent_id: str
    booking_ref: str
    user_id: int
    status: str
    amount: int
    refunded_amount: int
    currency: str
    created_at: dt.datetime
    card: CardView | None = None
    failure_code: str | None = None
    refunds: list[RefundView] = field(default_factory=list)


@dataclass(frozen=True)
class PaymentHistory:
    payments: list[PaymentView]


# --- events -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaymentSucceeded(Event):
    topic = "payment.succeeded"
    payment_id: str
    intent_id: str
    booking_ref: str
    user_id: int
    amount: Money


@dataclass(frozen=True)
class PaymentFailed(Event):
    topic = "payment.failed"
    intent_id: str
    booking_ref: str
    user_id: int
    failure_code: str


@dataclass(frozen=True)
class PaymentRefunded(Event):
    topic = "payment.refunded"
    payment_id: str
    refund_id: str
    booking_ref: str
    user_id: int
    amount: Money
    refunded_total: Money


class PaymentsContract(Protocol):
    def create_intent(self, caller: Principal, booking_ref: str) -> IntentView:
        """The open intent for the caller's HELD booking (made once; the amount is what flights says is due)."""

    def process_payment(self, caller: Principal, intent_id: str, card: CardInput,
                        idempotency_key: str) -> PaymentResult:
        """Charge the card once per key; a decline is a result with status "failed", not an exception."""

    def history(self, caller: Principal, user_id: int) -> PaymentHistory: ...

    def refund(self, payment_id: str, amount: int | None, idempotency_key: str) -> RefundView:
        """Services and admins only (checked by the caller's adapter); amount None refunds what is left."""
