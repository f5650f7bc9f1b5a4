"""The payments tables' state changes, each one transaction with one place for its outbox event."""
from __future__ import annotations

import peewee as pw

from flightbook.contracts.payments import (CardView, IntentAlreadyPaid, IntentNotFound, IntentStatus, IntentView,
                                           PaymentFailed, PaymentInProgress, PaymentNotFound, PaymentRefunded,
                                           PaymentResult, PaymentStatus, PaymentSucceeded, PaymentView,
                                           RefundExceedsPayment, RefundNotAllowed, RefundView)
from flightbook.kernel import clock, data
from flightbook.kernel.db import write_transaction
from flightbook.kernel.events import Event
from flightbook.kernel.money import Money
from flightbook.kernel.outbox import Outbox
from flightbook.modules.payments import idempotency
from flightbook.modules.payments.models import Payment, PaymentIntent, Refund, database, new_id

REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


outbox = Outbox(database, "payments")


def emit(event: Event) -> None:
    """A state change's event, into the payments outbox in the caller's transaction (every call below
    sits inside one), so the event exists exactly when the change does."""
    outbox.publish(event)


# --- intents ------------------------------------------------------------------------------

def intent_view(intent: PaymentIntent) -> IntentView:
    return IntentView(id=intent.id, booking_ref=intent.booking_ref, user_id=intent.user_id, amount=intent.amount,
                      currency=intent.currency, status=IntentStatus(intent.status),
                      created_at=clock.from_db(intent.created_at))


def open_intent(booking_ref: str, user_id: int, due: Money) -> IntentView:
    """The booking's one intent: created on first ask; an open one follows the amount now due."""
    try:
        with write_transaction(database):
            intent = PaymentIntent.get_or_none(PaymentIntent.booking_ref == booking_ref)
            if intent is None:
                now = clock.to_db(clock.now())
                intent = PaymentIntent.create(id=new_id("pi"), booking_ref=booking_ref, user_id=user_id,
                                              amount=due.amount, currency=due.currency,
                                              status=IntentStatus.REQUIRES_PAYMENT_METHOD,
                                              created_at=now, updated_at=now)
            elif intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD and (
                    intent.amount, intent.currency) != (due.amount, due.currency):
                intent.amount, intent.currency = due.amount, due.currency
                intent.updated_at = clock.to_db(clock.now())
                intent.save()
            return intent_view(intent)
    except pw.IntegrityError:  # a concurrent request created it first
        return intent_view(PaymentIntent.get(PaymentIntent.booking_ref == booking_ref))


def users_intent(intent_id: str, user_id: int) -> PaymentIntent:
    intent = PaymentIntent.get_or_none(PaymentIntent.id == intent_id)
    if intent is None or intent.user_id != user_id:
        raise IntentNotFound(f"no payment intent {intent_id}")
    return intent


def start_attempt(intent: PaymentIntent, due: Money) -> None:
    """requires_payment_method -> processing, by conditional UPDATE: one attempt per intent at a time."""
    with write_transaction(database):
        taken = PaymentIntent.update(status=IntentStatus.PROCESSING, amount=due.amount, currency=due.currency,
                                     updated_at=clock.to_db(clock.now())).where(
            (PaymentIntent.id == intent.id)
            & (PaymentIntent.status == IntentStatus.REQUIRES_PAYMENT_METHOD)).execute()
    if not taken:
        refuse_attempt(PaymentIntent.get_by_id(intent.id))


def refuse_attempt(intent: PaymentIntent) -> None:
    if intent.status == IntentStatus.SUCCEEDED:
        raise IntentAlreadyPaid(f"intent {intent.id} is already paid")
    if intent.status == IntentStatus.PROCESSING:
        raise PaymentInProgress(f"a payment for intent {intent.id} is in progress; wait for it")
    raise IntentNotFound(f"intent {intent.id} can no longer be paid")


def abandon_attempt(intent_id: str) -> None:
    """processing -> requires_payment_method when nothing happened at the provider."""
    with write_transaction(database):
        PaymentIntent.update(status=IntentStatus.REQUIRES_PAYMENT_METHOD, updated_at=clock.to_db(clock.now())).where(
            (PaymentIntent.id == intent_id) & (PaymentIntent.status == IntentStatus.PROCESSING)).execute()


def record_attempt(result: PaymentResult, user_id: int, provider: str, provider_ref: str | None,
                   fingerprint: str | None, scope_key: str | None) -> None:
    """The attempt's payment row, the intent's new status and the stored idempotent result, together."""
    succeeded = result.is_success
    with write_transaction(database):
        card = result.card
        Payment.insert(id=result.id, intent_id=result.intent_id, booking_ref=result.booking_ref, user_id=user_id,
                       status=result.status, amount=result.amount, refunded_amount=0, currency=result.currency,
                       failure_code=result.failure_code, card_brand=card and card.brand,
                       card_last4=card and card.last4, card_exp_month=card and card.exp_month,
                       card_exp_year=card and card.exp_year, card_fingerprint=fingerprint, provider=provider,
                       provider_ref=provider_ref, created_at=clock.to_db(clock.now())).execute()
        PaymentIntent.update(
            status=IntentStatus.SUCCEEDED if succeeded else IntentStatus.REQUIRES_PAYMENT_METHOD,
            updated_at=clock.to_db(clock.now())).where(PaymentIntent.id == result.intent_id).execute()
        if scope_key:
            idempotency.finish(scope_key, data.to_dict(result))
        if succeeded:
            emit(PaymentSucceeded(payment_id=result.id, intent_id=result.intent_id, booking_ref=result.booking_ref,
                                  user_id=user_id, amount=Money(result.amount, result.currency)))
        else:
            emit(PaymentFailed(intent_id=result.intent_id, booking_ref=result.booking_ref, user_id=user_id,
                               failure_code=result.failure_code or ""))


def cancel_open_intent(booking_ref: str) -> bool:
    """The booking can no longer be paid (expired or cancelled): its intent, if still waiting for a
    payment method, is canceled. One in progress is left to finish (the saga refunds it if need be)."""
    with write_transaction(database):
        return bool(PaymentIntent.update(status=IntentStatus.CANCELED, updated_at=clock.to_db(clock.now())).where(
            (PaymentIntent.booking_ref == booking_ref)
            & (PaymentIntent.status == IntentStatus.REQUIRES_PAYMENT_METHOD)).execute())


def payment_of(payment_id: str) -> Payment | None:
    return Payment.get_or_none(Payment.id == payment_id) if payment_id else None


# --- refunds ------------------------------------------------------------------------------

def refundable_payment(payment_id: str) -> Payment:
    payment = Payment.get_or_none(Payment.id == payment_id)
    if payment is None:
        raise PaymentNotFound(f"no payment {payment_id}")
    if payment.status not in REFUNDABLE:
        raise RefundNotAllowed(f"payment {payment_id} is {payment.status}; only captured payments are refunded")
    return payment


def _status_after(refunded_total) -> pw.Case:
    return pw.Case(None, [(refunded_total == Payment.amount, PaymentStatus.REFUNDED),
                          (refunded_total == 0, PaymentStatus.SUCCEEDED)], PaymentStatus.PARTIALLY_REFUNDED)


def reserve_refund(payment: Payment, amount: int) -> None:
    """Conditional UPDATE: concurrent refunds can never add up to more than was captured."""
    new_total = Payment.refunded_amount + amount
    with write_transaction(database):
        taken = Payment.update(refunded_amount=new_total, status=_status_after(new_total)).where(
            (Payment.id == payment.id) & Payment.status.in_(REFUNDABLE) & (new_total <= Payment.amount)).execute()
    if not taken:
        left = Payment.get_by_id(payment.id)
        raise RefundExceedsPayment(f"only {left.amount - left.refunded_amount} of {left.amount} is left to refund",
                                   refundable=left.amount - left.refunded_amount)


def unreserve_refund(payment_id: str, amount: int) -> None:
    new_total = Payment.refunded_amount - amount
    with write_transaction(database):
        Payment.update(refunded_amount=new_total, status=_status_after(new_total)).where(
            Payment.id == payment_id).execute()


def record_refund(payment_id: str, amount: int, provider_ref: str | None, scope_key: str | None) -> RefundView:
    with write_transaction(database):
        payment = Payment.get_by_id(payment_id)
        refund = Refund.create(id=new_id("re"), payment_id=payment_id, amount=amount, currency=payment.currency,
                               provider_ref=provider_ref, created_at=clock.to_db(clock.now()))
        view = refund_view(refund, payment)
        if scope_key:
            idempotency.finish(scope_key, data.to_dict(view))
        emit(PaymentRefunded(payment_id=payment_id, refund_id=refund.id, booking_ref=payment.booking_ref,
                             user_id=payment.user_id, amount=Money(amount, payment.currency),
                             refunded_total=Money(payment.refunded_amount, payment.currency)))
        return view


def refund_view(refund: Refund, payment: Payment) -> RefundView:
    return RefundView(id=refund.id, payment_id=payment.id, booking_ref=payment.booking_ref, amount=refund.amount,
                      currency=refund.currency, refunded_total=payment.refunded_amount,
                      payment_status=PaymentStatus(payment.status), created_at=clock.from_db(refund.created_at))


# --- history ------------------------------------------------------------------------------

def payments_of(user_id: int) -> list[PaymentView]:
    payments = list(Payment.select().where(Payment.user_id == user_id)
                    .order_by(Payment.created_at.desc(), Payment.id.desc()))
    refunds: dict[str, list[Refund]] = {}
    if payments:
        for refund in (Refund.select().where(Refund.payment_id.in_([p.id for p in payments]))
                       .order_by(Refund.created_at, Refund.id)):
            refunds.setdefault(refund.payment_id, []).append(refund)
    return [payment_view(p, refunds.get(p.id, [])) for p in payments]


def payment_view(payment: Payment, refunds: list[Refund]) -> PaymentView:
    card = None
    if payment.card_last4:
        card = CardView(brand=payment.card_brand or "unknown", last4=payment.card_last4,
                        exp_month=payment.card_exp_month or 0, exp_year=payment.card_exp_year or 0)
    return PaymentView(id=payment.id, intent_id=payment.intent_id, booking_ref=payment.booking_ref,
                       user_id=payment.user_id, status=PaymentStatus(payment.status), amount=payment.amount,
                       refunded_amount=payment.refunded_amount, currency=payment.currency,
                       created_at=clock.from_db(payment.created_at), card=card, failure_code=payment.failure_code,
                       refunds=[refund_view(r, payment) for r in refunds])
