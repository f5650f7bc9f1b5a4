"""Stripe webhooks: verified with the signing secret, applied once (the event id is recorded in the same
transaction as the event's effect, so a replay changes nothing)."""
from __future__ import annotations

import json

import stripe
import peewee as pw

from flightbook.contracts.payments import IntentStatus, PaymentInProgress, PaymentResult, PaymentStatus
from flightbook.kernel import clock
from flightbook.kernel.errors import DomainError, Unavailable
from flightbook.kernel.validate import CONTROL
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.payments import attempts, refunds
from flightbook.modules.payments.models import Payment, PaymentIntent, WebhookEvent
from flightbook.modules.payments.providers import ChargeOutcome
from flightbook.modules.payments.stripe_provider import failure_code_of


def verified_event(payload: bytes, signature: str | None, secret: str):
    if not secret:
        raise Unavailable("Stripe webhooks are not configured (FLIGHTBOOK_STRIPE_WEBHOOK_SECRET)",
                          code="webhooks_disabled")
    if not signature:
        raise DomainError("the Stripe-Signature header is missing", code="invalid_signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError:
        raise DomainError("the Stripe-Signature does not match this payload", code="invalid_signature") from None
    except (ValueError, TypeError, AttributeError, KeyError):
        raise DomainError("the webhook body is not a Stripe event", code="invalid_payload") from None
    problem = event_problem(json.loads(payload))
    if problem:
        raise DomainError(f"the webhook body is not a Stripe event: {problem}", code="invalid_payload")
    return event


def _is_text(value, required: bool = True) -> bool:
    if value is None:
        return not required
    return isinstance(value, str) and 0 < len(value) <= 255 and not CONTROL.search(value)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 62


def event_problem(event) -> str | None:
    """What is wrong with a signed event's shape (None: nothing), so a well-signed but malformed body is a 400
    rather than an error deep in a handler. Only the fields our handlers read are checked."""
    if not isinstance(event, dict) or not _is_text(event.get("id")) or not _is_text(event.get("type")):
        return "an object with an id and a type is expected"
    if event["type"] not in HANDLERS:
        return None
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not _is_text(obj.get("id")):
        return "data.object with an id is expected"
    if event["type"] == "charge.refunded":
        refunds_made = obj.get("refunds") or {}
        listed = refunds_made.get("data") or [] if isinstance(refunds_made, dict) else None
        if (not _is_text(obj.get("payment_intent"), required=False) or not _is_count(obj.get("amount_refunded"))
                or not isinstance(listed, list) or not all(isinstance(r, dict) and _is_text(r.get("id"))
                                                           for r in listed)):
            return "a charge with payment_intent, amount_refunded and refunds is expected"
        return None
    metadata = obj.get("metadata") or {}
    error = obj.get("last_payment_error") or {}
    if (not _is_count(obj.get("amount")) or not _is_text(obj.get("currency")) or not isinstance(metadata, dict)
            or not all(_is_text(v, required=False) for v in metadata.values()) or not isinstance(error, dict)
            or not all(_is_text(error.get(k), required=False) for k in ("code", "decline_code"))):
        return "a payment intent with amount, currency and metadata is expected"
    return None


def apply_event(uow: UnitOfWork, event) -> tuple[bool, PaymentResult | None]:
    """(applied, newly succeeded payment): applied is False for a replay. The caller confirms the booking."""
    try:
        with uow.transaction():
            if WebhookEvent.get_or_none(WebhookEvent.id == event.id) is not None:
                return False, None
            WebhookEvent.create(id=event.id, type=event.type, received_at=clock.to_db(clock.now()))
            handler = HANDLERS.get(event.type)
            return True, handler(uow, event.data.object.to_dict()) if handler else None
    except pw.IntegrityError:  # the same event, delivered twice at once
        return False, None


def _attempt_of(stripe_intent) -> Payment | None:
    """Our payment behind a Stripe PaymentIntent: the attempt named in its metadata, or the payment
    already recording it."""
    payment_id = (stripe_intent.get("metadata") or {}).get("payment_id")
    found = Payment.get_or_none(Payment.id == payment_id) if payment_id else None
    return found or Payment.get_or_none(Payment.provider_ref == stripe_intent["id"])


def _outside_intent(stripe_intent) -> PaymentIntent | None:
    """Our intent, for a Stripe charge we hold no attempt for (made outside flightbook's requests)."""
    metadata = stripe_intent.get("metadata") or {}
    intent = PaymentIntent.get_or_none(PaymentIntent.id == metadata.get("intent_id"))
    if intent is not None and intent.status == IntentStatus.PROCESSING:
        # another attempt of ours is at the provider right now; Stripe delivers the event again on 409
        raise PaymentInProgress("another payment of this intent is being recorded; deliver the event again later")
    return intent


def _attempt_from(stripe_intent, intent: PaymentIntent, status: PaymentStatus, failure: str | None) -> PaymentResult:
    metadata = stripe_intent.get("metadata") or {}
    return PaymentResult(id=metadata.get("payment_id") or "pay_" + stripe_intent["id"], intent_id=intent.id,
                         booking_ref=intent.booking_ref, status=status, amount=int(stripe_intent["amount"]),
                         currency=str(stripe_intent["currency"]).upper(), failure_code=failure)


def _finish_from_event(uow: UnitOfWork, stripe_intent, failure: str | None) -> PaymentResult | None:
    """Stripe's word on one of our attempts: a processing one is finished by it (as the reconciler would);
    a finished one is left alone. The result when it succeeded now."""
    payment = _attempt_of(stripe_intent)
    if payment is not None:
        if payment.status != PaymentStatus.PROCESSING:
            return None
        result = attempts.finish(uow, payment, ChargeOutcome(stripe_intent["id"], failure), reconciled=True)
        return result if result.is_success else None
    intent = _outside_intent(stripe_intent)
    if intent is None or intent.status == IntentStatus.SUCCEEDED:
        return None
    result = _attempt_from(stripe_intent, intent, PaymentStatus.FAILED if failure else PaymentStatus.SUCCEEDED,
                           failure)
    try:
        attempts.record_final(uow, result, intent.user_id, "stripe", stripe_intent["id"], None, None, None)
    except attempts.IntentTaken:
        return None
    return result if result.is_success else None


def payment_intent_succeeded(uow: UnitOfWork, stripe_intent) -> PaymentResult | None:
    return _finish_from_event(uow, stripe_intent, None)


def payment_intent_failed(uow: UnitOfWork, stripe_intent) -> None:
    error = stripe_intent.get("last_payment_error") or {}
    _finish_from_event(uow, stripe_intent, failure_code_of(error.get("code"), error.get("decline_code")))
    return None


def charge_refunded(uow: UnitOfWork, charge) -> None:
    """Refunds made outside flightbook (the Stripe dashboard): catch up with what Stripe says."""
    payment = Payment.get_or_none(Payment.provider_ref == charge.get("payment_intent"))
    if payment is None or int(charge["amount_refunded"]) <= payment.refunded_amount:
        return None
    missing = int(charge["amount_refunded"]) - payment.refunded_amount
    refunds_made = (charge.get("refunds") or {}).get("data") or []
    refunds.record_external(uow, payment, missing, refunds_made[0]["id"] if refunds_made else None)
    return None


HANDLERS = {
    "payment_intent.succeeded": payment_intent_succeeded,
    "payment_intent.payment_failed": payment_intent_failed,
    "charge.refunded": charge_refunded,
}
