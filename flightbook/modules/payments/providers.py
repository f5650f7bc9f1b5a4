"""The one small interface every payment provider (mockbank, stripe) implements.

Every call carries an idempotency key, and a provider keeps its first answer per key. That is what makes
a payment safe to finish after a crash: payments records the key before it calls, and afterwards it
can always ask what became of it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flightbook.contracts.payments import CardInput
from flightbook.kernel.money import Money

NOT_PROCESSED = "processing_error"  # the failure code of an attempt that never reached the bank


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: str
    intent_id: str
    booking_ref: str
    amount: Money


@dataclass(frozen=True)
class ChargeOutcome:
    """Approved (provider_ref names the charge) or declined (failure_code says why)."""
    provider_ref: str | None
    failure_code: str | None = None

    @property
    def is_approved(self) -> bool:
        return self.failure_code is None


@dataclass(frozen=True)
class RefundOutcome:
    """Refunded (provider_ref names the refund) or refused for good (refused_because says why)."""
    provider_ref: str | None
    refused_because: str | None = None

    @property
    def is_refunded(self) -> bool:
        return self.refused_because is None


class ProviderError(Exception):
    """The provider could not be reached or gave no usable answer: what happened is not known (yet)."""


class PaymentProvider(Protocol):
    name: str

    def charge(self, request: ChargeRequest, card: CardInput, idempotency_key: str) -> ChargeOutcome:
        """Charge once per idempotency key: a retry with the same key returns the first outcome."""

    def resolve_charge(self, request: ChargeRequest, idempotency_key: str) -> ChargeOutcome:
        """The final answer for a key whose charge may or may not have happened: approved, declined, or
        never processed (failure_code NOT_PROCESSED) — in which case the key is closed at the provider,
        so a request still on its way with that key can no longer charge."""

    def refund(self, charge_ref: str, amount: Money, idempotency_key: str) -> RefundOutcome:
        """Refund once per idempotency key; sending the same key again returns the first refund."""
