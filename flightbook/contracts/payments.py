"""The payments contract: payment intents, card payments, history and refunds, as other parts may use them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from flightbook.kernel.auth import IN_PROCESS, Principal
from flightbook.kernel.errors import Conflict, NotFound, Unprocessable
from flightbook.kernel.events import Event
from flightbook.kernel.money import Money
from flightbook.kernel.outbox import EventRecord, OutboxReport

#: why a card was declined (``PaymentResult.failure_code``), and the sentence a traveller reads for it
DECLINE_REASONS = {
    "card_declined": "Your bank declined this card.",
    "insufficient_funds": "The card does not have enough funds for this payment.",
    "expired_card": "This card has expired.",
    "incorrect_cvc": "The security code (CVC) is not right.",
    "invalid_number": "That card number is not valid.",
    "processing_error": "The payment was cut off before your card was charged; nothing was charged. Try again.",
}
FAILURE_CODES = tuple(DECLINE_REASONS)


class IntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class PaymentStatus(StrEnum):
    PROCESSING = "processing"  # recorded, at the provider (or cut off there: the reconciler finishes it)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded and reserved, at the provider (or owed: the reconciler sends it again)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
    status: IntentStatus
    created_at: dt.datetime


@dataclass(frozen=True)
class PaymentResult:
    """The outcome of one attempt: status succeeded, failed (a decline: failure_code says why) or
    refunded (charged, but the booking could not be confirmed, so the charge went straight back)."""
    id: str
    intent_id: str
    booking_ref: str
    status: PaymentStatus
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
    payment_status: PaymentStatus
    created_at: dt.datetime
    status: RefundStatus = RefundStatus.SUCCEEDED


@dataclass(frozen=True)
class PaymentView:
    id: str
    intent_id: str
    booking_ref: str
    user_id: int
    status: PaymentStatus
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


@dataclass(frozen=True)
class PaymentQuote:
    """What paying a held booking with ``points`` of the traveller's points leaves for the card, by the rule
    an intent's amount follows (the booking's total less what the points pay, never below 0)."""
    booking_ref: str
    total: Money
    points: int
    points_value: Money  # what the points pay of the total
    card: Money  # what the card pays


@dataclass(frozen=True)
class RefundQuote:
    """What cancelling a booking at the fare rule's ``refund_percent`` gives back to the card that paid
    for it, by the rule the cancellation's refund follows."""
    booking_ref: str
    refund_percent: int
    paid: Money  # what the card paid (0 when nothing was charged)
    refund: Money


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


@dataclass(frozen=True)
class DeclineCount:
    code: str  # the failure code
    count: int



class PaymentsContract(Protocol):
    def create_intent(self, caller: Principal, booking_ref: str) -> IntentView:
        """The open intent for the caller's HELD booking (made once; the amount is what flights says is due)."""

    def process_payment(self, caller: Principal, intent_id: str, card: CardInput | None,
                        idempotency_key: str) -> PaymentResult:
        """Charge the card once per key; a decline is a result with status "failed", not an exception.
        ``card`` None pays an intent whose amount is 0 (points cover the total)."""

    def history(self, caller: Principal, user_id: int) -> PaymentHistory: ...

    def refund(self, payment_id: str, amount: int | None, idempotency_key: str, *,
               caller: Principal | None = IN_PROCESS) -> RefundView:
        """Services and admins only; amount None refunds what is left."""

    def quote_payment(self, caller: Principal, booking_ref: str, points: int = 0) -> PaymentQuote:
        """The caller's HELD booking paid with ``points`` of their points: what the card pays. Changes nothing."""

    def quote_refund(self, caller: Principal, booking_ref: str, refund_percent: int) -> RefundQuote:
        """The caller's booking cancelled at ``refund_percent``: what comes back to the card. Changes nothing."""

    # the admin console's (an admin's token, else 403)
    def admin_payments(self, caller: Principal, booking_ref: str | None = None,
                       user_id: int | None = None) -> list[PaymentView]:
        """A booking's or a traveller's payments with their refunds, newest first."""
    def admin_declines(self, caller: Principal, since: dt.datetime) -> list[DeclineCount]:
        """Payments declined since ``since``, per failure code, most first."""
    def admin_events(self, caller: Principal) -> OutboxReport: ...
    def admin_retry_events(self, caller: Principal, event_id: str | None = None) -> int: ...
    def admin_booking_events(self, caller: Principal, ref: str) -> list[EventRecord]: ...


@dataclass(frozen=True)
class ReconciledAttempt:
    """One charge or refund the reconciler found unfinished, and what became of it."""
    kind: str  # charge | refund
    id: str
    subject: str  # "booking ABC123" / "payment pay_..."
    amount: Money
    age_seconds: float
    outcome: str
    finished: bool  # False: left for the next run (the provider could not say yet, or someone else has it)


@dataclass(frozen=True)
class ReconcileReport:
    attempts: list[ReconciledAttempt]
    dry_run: bool = False

    @property
    def finished(self) -> int:
        return sum(a.finished for a in self.attempts)


@dataclass(frozen=True)
class UnfinishedAttempt:
    kind: str  # charge | refund
    id: str
    subject: str
    amount: Money
    age_seconds: float
    lease_lapsed: bool  # False: its request may still be at the provider


@dataclass(frozen=True)
class PaymentsStatus:
    unfinished: list[UnfinishedAttempt]
    reconciled_charges: int
    reconciled_refunds: int
    bank_charges_without_payment: int  # mockbank's charges that no recorded payment accounts for; must be 0


class PaymentsAdmin(Protocol):
    """What the CLI (and a serving process's background job) does with payments; not for other parts."""

    def reconcile(self, older_than: float | None = None, dry_run: bool = False) -> ReconcileReport:
        """Finish every charge and refund left unfinished past its lease (``older_than``: started at least
        that many seconds ago, even if its lease still runs), asking the provider what became of each."""

    def payments_status(self) -> PaymentsStatus: ...
