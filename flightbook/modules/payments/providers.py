"""The one small interface every payment provider (mockbank, stripe) implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flightbook.contracts.payments import CardInput
from flightbook.kernel.money import Money


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
    provider_ref: str


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense: nothing is known to have happened."""


class PaymentProvider(Protocol):
    name: str

    def charge(self, request: ChargeRequest, card: CardInput, idempotency_key: str) -> ChargeOutcome:
        """Charge once per idempotency key: a retry with the same key returns the first outcome's charge."""

    def refund(self, charge_ref: str, amount: Money, idempotency_key: str) -> RefundOutcome: ...
