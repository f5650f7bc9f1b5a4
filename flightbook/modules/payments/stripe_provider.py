"""The Stripe provider: PaymentIntents (create, then confirm with the card) and Refunds through the
official SDK, every call with an idempotency key. Chosen when FLIGHTBOOK_STRIPE_API_KEY is set."""
from __future__ import annotations

import logging

import stripe

from flightbook.contracts.payments import CardInput
from flightbook.kernel.money import Money
from flightbook.modules.payments.providers import (ChargeOutcome, ChargeRequest, ProviderError,
                                                   RefundOutcome)


class _NoRequestBodies(logging.Filter):
    """The SDK logs every request body at DEBUG ("Post details"), card number included: drop those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Post details" not in record.getMessage()


logging.getLogger("stripe").addFilter(_NoRequestBodies())


def failure_code_of(code: str | None, decline_code: str | None) -> str:
    """Stripe's error code and decline code -> one of our failure codes."""
    if decline_code == "insufficient_funds":
        return "insufficient_funds"
    if code in ("expired_card", "incorrect_cvc"):
        return code
    if code in ("incorrect_number", "invalid_number"):
        return "invalid_number"
    return "card_declined"


def _declined(exc: stripe.CardError) -> ChargeOutcome:
    error = exc.error
    stripe_intent = getattr(error, "payment_intent", None) if error else None
    return ChargeOutcome(provider_ref=getattr(stripe_intent, "id", None),
                         failure_code=failure_code_of(exc.code, getattr(error, "decline_code", None)))


class StripeProvider:
    name = "stripe"

    def __init__(self, api_key: str, api_base: str = "", timeout_retries: int = 1):
        self._client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                           max_network_retries=timeout_retries)

    def charge(self, request: ChargeRequest, card: CardInput, idempotency_key: str) -> ChargeOutcome:
        intents = self._client.v1.payment_intents
        try:
            intent = intents.create(params={  # type: ignore[typeddict-unknown-key]  # the SDK's type lags the API
                "amount": request.amount.amount,
                "currency": request.amount.currency.lower(),
                "payment_method_types": ["card"],
                "metadata": {"payment_id": request.payment_id, "intent_id": request.intent_id,
                             "booking_ref": request.booking_ref},
            }, options={"idempotency_key": f"{idempotency_key}:create"})
            # raw card data is not in the SDK's type for confirm
            intent = intents.confirm(intent.id, params={  # type: ignore[arg-type]
                "payment_method_data": {"type": "card", "card": {
                "number": card.number, "exp_month": card.exp_month, "exp_year": card.exp_year, "cvc": card.cvc,
            }}}, options={"idempotency_key": f"{idempotency_key}:confirm"})
        except stripe.CardError as exc:
            return _declined(exc)
        except stripe.StripeError as exc:
            raise ProviderError(f"stripe: {type(exc).__name__}") from None
        if intent.status != "succeeded":  # e.g. requires_action (3-D Secure), which we do not offer
            return ChargeOutcome(provider_ref=intent.id, failure_code="card_declined")
        return ChargeOutcome(provider_ref=intent.id)

    def refund(self, charge_ref: str, amount: Money, idempotency_key: str) -> RefundOutcome:
        try:
            refund = self._client.v1.refunds.create(params={"payment_intent": charge_ref, "amount": amount.amount},
                                                    options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise ProviderError(f"stripe: {type(exc).__name__}") from None
        return RefundOutcome(provider_ref=refund.id)
