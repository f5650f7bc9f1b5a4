"""The Stripe provider: PaymentIntents (create, then confirm with the card) and Refunds through the
official SDK, every call with an idempotency key. Chosen when FLIGHTBOOK_STRIPE_API_KEY is set."""
from __future__ import annotations

import logging
from enum import StrEnum

import stripe

from flightbook.contracts.payments import CardInput
from flightbook.kernel.money import Money
from flightbook.modules.payments.providers import (NOT_PROCESSED, ChargeOutcome, ChargeRequest, ProviderError,
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


class StripeStatus(StrEnum):
    """The PaymentIntent statuses this provider acts on (Stripe's own words)."""
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


NOT_YET_CHARGED = (StripeStatus.REQUIRES_PAYMENT_METHOD, StripeStatus.REQUIRES_CONFIRMATION,
                   StripeStatus.REQUIRES_ACTION)


class StripeProvider:
    name = "stripe"

    def __init__(self, api_key: str, api_base: str = "", timeout_seconds: float = 20.0, timeout_retries: int = 1):
        # Every call must end within the provider budget (timeout_seconds), which the payment lease exceeds:
        # a charge is two calls, each tried at most 1 + timeout_retries times.
        per_call = timeout_seconds / (2 * (1 + timeout_retries))
        self._client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                           max_network_retries=timeout_retries,
                                           http_client=stripe.RequestsClient(timeout=per_call))

    @staticmethod
    def _create_params(request: ChargeRequest) -> dict:
        """The PaymentIntent's creation, identical whenever it is sent again under its key."""
        return {"amount": request.amount.amount, "currency": request.amount.currency.lower(),
                "payment_method_types": ["card"],
                "metadata": {"payment_id": request.payment_id, "intent_id": request.intent_id,
                             "booking_ref": request.booking_ref}}

    def charge(self, request: ChargeRequest, card: CardInput, idempotency_key: str) -> ChargeOutcome:
        intents = self._client.v1.payment_intents
        try:
            intent = intents.create(params=self._create_params(request),  # type: ignore[arg-type]  # a plain dict
                                    options={"idempotency_key": f"{idempotency_key}:create"})
            # raw card data is not in the SDK's type for confirm
            intent = intents.confirm(intent.id, params={  # type: ignore[arg-type]
                "payment_method_data": {"type": "card", "card": {
                    "number": card.number, "exp_month": card.exp_month, "exp_year": card.exp_year, "cvc": card.cvc,
                }}}, options={"idempotency_key": f"{idempotency_key}:confirm"})
        except stripe.CardError as exc:
            return _declined(exc)
        except stripe.StripeError as exc:
            raise ProviderError(f"stripe: {type(exc).__name__}") from None
        if intent.status != StripeStatus.SUCCEEDED:  # e.g. requires_action (3-D Secure), which we do not offer
            return ChargeOutcome(provider_ref=intent.id, failure_code="card_declined")
        return ChargeOutcome(provider_ref=intent.id)

    def resolve_charge(self, request: ChargeRequest, idempotency_key: str) -> ChargeOutcome:
        """Find the PaymentIntent by replaying its creation under the same key (Stripe answers with the one
        it made, or makes it now), then read its state; one that has not succeeded is canceled, so a
        confirmation still on its way cannot charge the card afterwards."""
        intents = self._client.v1.payment_intents
        try:
            created = intents.create(params=self._create_params(request),  # type: ignore[arg-type]  # a plain dict
                                     options={"idempotency_key": f"{idempotency_key}:create"})
            intent = intents.retrieve(created.id)
            if intent.status in NOT_YET_CHARGED:
                intent = self._cancel(intent, idempotency_key)
        except stripe.StripeError as exc:
            raise ProviderError(f"stripe: {type(exc).__name__}") from None
        return self._outcome_of(intent)

    def _cancel(self, intent, idempotency_key: str):
        try:
            return self._client.v1.payment_intents.cancel(intent.id, options={
                "idempotency_key": f"{idempotency_key}:cancel"})
        except stripe.InvalidRequestError:  # it moved on meanwhile (succeeded): read it again
            return self._client.v1.payment_intents.retrieve(intent.id)

    @staticmethod
    def _outcome_of(intent) -> ChargeOutcome:
        if intent.status == StripeStatus.SUCCEEDED:
            return ChargeOutcome(provider_ref=intent.id)
        if intent.status != StripeStatus.CANCELED:
            raise ProviderError(f"stripe: payment intent {intent.id} is still {intent.status}")
        error = intent.to_dict().get("last_payment_error") or {}
        if error:
            return ChargeOutcome(provider_ref=intent.id,
                                 failure_code=failure_code_of(error.get("code"), error.get("decline_code")))
        return ChargeOutcome(provider_ref=intent.id, failure_code=NOT_PROCESSED)

    def refund(self, charge_ref: str, amount: Money, idempotency_key: str) -> RefundOutcome:
        try:
            refund = self._client.v1.refunds.create(params={"payment_intent": charge_ref, "amount": amount.amount},
                                                    options={"idempotency_key": idempotency_key})
        except stripe.IdempotencyError as exc:  # the same key still being processed at Stripe
            raise ProviderError(f"stripe: {type(exc).__name__}") from None
        except stripe.InvalidRequestError as exc:  # Stripe refuses this refund, and will again
            return RefundOutcome(None, refused_because=f"stripe: {exc.user_message or type(exc).__name__}")
        except stripe.StripeError as exc:
            raise ProviderError(f"stripe: {type(exc).__name__}") from None
        return RefundOutcome(provider_ref=refund.id)
