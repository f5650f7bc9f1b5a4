"""Stripe webhooks: verified with the signing secret, applied once (the event id is recorded in the same
transaction as the event's effect, so a replay changes nothing)."""
from __future__ import annotations

import stripe
import peewee as pw

from flightbook.contracts.payments import IntentStatus, PaymentInProgress, PaymentResult, PaymentStatus
from flightbook.kernel import clock
from flightbook.kernel.db import write_transaction
from flightbook.kernel.errors import DomainError, Unavailable
from flightbook.modules.payments import ledger
from flightbook.modules.payments.models import Payment, PaymentIntent, WebhookEvent, database
from flightbook.modules.payments.stripe_provider import failure_code_of


def verified_event(payload: bytes, signature: str | None, secret: str):
    if not secret:
        raise Unavailable("Stripe webhooks are not configured (FLIGHTBOOK_STRIPE_WEBHOOK_SECRET)",
                          code="webhooks_disabled")
    if not signature:
        raise DomainError("the Stripe-Signature header is missing", code="invalid_signature")
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError:
        raise DomainError("the Stripe-Signature does not match this payload", code="invalid_signature") from None
    except ValueError:
        raise DomainError("the webhook body is not a Stripe event", code="invalid_payload") from None


def apply_event(event) -> tuple[bool, PaymentResult | None]:
    """(applied, newly succeeded payment): applied is False for a replay. The caller confirms the booking."""
    try:
        with write_transaction(database):
            if WebhookEvent.get_or_none(WebhookEvent.id == event.id) is not None:
                return False, None
            WebhookEvent.create(id=event.id, type=event.type, received_at=clock.to_db(clock.now()))
            handler = HANDLERS.get(event.type)
            return True, handler(event.data.object.to_dict()) if handler else None
    except pw.IntegrityError:  # the same event, delivered twice at once
        return False, None


def _ours(stripe_intent) -> PaymentIntent | None:
    """Our intent behind a Stripe PaymentIntent, unless a payment of ours already records that attempt."""
    if Payment.get_or_none(Payment.provider_ref == stripe_intent["id"]) is not None:
        return None
    metadata = stripe_intent.get("metadata") or {}
    intent = PaymentIntent.get_or_none(PaymentIntent.id == metadata.get("intent_id"))
    if intent is not None and intent.status == IntentStatus.PROCESSING:
        # our own request is charging right now and will record the outcome; Stripe retries on 409
        raise PaymentInProgress("this payment is being recorded; deliver the event again later")
    return intent


def _attempt_from(stripe_intent, intent: PaymentIntent, status: PaymentStatus, failure: str | None) -> PaymentResult:
    metadata = stripe_intent.get("metadata") or {}
    return PaymentResult(id=metadata.get("payment_id") or "pay_" + stripe_intent["id"], intent_id=intent.id,
                         booking_ref=intent.booking_ref, status=status, amount=int(stripe_intent["amount"]),
                         currency=str(stripe_intent["currency"]).upper(), failure_code=failure)


def payment_intent_succeeded(stripe_intent) -> PaymentResult | None:
    intent = _ours(stripe_intent)
    if intent is None or intent.status == IntentStatus.SUCCEEDED:
        return None
    result = _attempt_from(stripe_intent, intent, PaymentStatus.SUCCEEDED, None)
    ledger.record_attempt(result, intent.user_id, "stripe", stripe_intent["id"], None, None)
    return result


def payment_intent_failed(stripe_intent) -> None:
    intent = _ours(stripe_intent)
    if intent is None or intent.status == IntentStatus.SUCCEEDED:
        return None
    error = stripe_intent.get("last_payment_error") or {}
    failure = failure_code_of(error.get("code"), error.get("decline_code"))
    ledger.record_attempt(_attempt_from(stripe_intent, intent, PaymentStatus.FAILED, failure),
                          intent.user_id, "stripe", stripe_intent["id"], None, None)
    return None


def charge_refunded(charge) -> None:
    """Refunds made outside flightbook (the Stripe dashboard): catch up with what Stripe says."""
    payment = Payment.get_or_none(Payment.provider_ref == charge.get("payment_intent"))
    if payment is None or int(charge["amount_refunded"]) <= payment.refunded_amount:
        return None
    missing = int(charge["amount_refunded"]) - payment.refunded_amount
    ledger.reserve_refund(payment, missing)
    refunds = (charge.get("refunds") or {}).get("data") or []
    ledger.record_refund(payment.id, missing, refunds[0]["id"] if refunds else None, None)
    return None


HANDLERS = {
    "payment_intent.succeeded": payment_intent_succeeded,
    "payment_intent.payment_failed": payment_intent_failed,
    "charge.refunded": charge_refunded,
}
