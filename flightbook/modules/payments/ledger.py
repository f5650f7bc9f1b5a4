"""Payment intents, and the views of payments and refunds that history shows.
(Charge attempts are in ``attempts.py``, refunds in ``refunds.py``.)"""
from __future__ import annotations

import peewee as pw

from flightbook.contracts.payments import (CardView, IntentAlreadyPaid, IntentNotFound, IntentStatus, IntentView,
                                           PaymentInProgress, PaymentStatus, PaymentView, RefundStatus, RefundView)
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Lookup, Statement
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.payments.models import Payment, PaymentIntent, Refund, new_id

_INTENT = Lookup(PaymentIntent, "id = {id}")
_INTENT_OF_BOOKING = Lookup(PaymentIntent, "booking_ref = {booking_ref}")
_INTENT_COLUMNS = ("id", "booking_ref", "user_id", "amount", "currency", "status", "created_at", "updated_at")
#: the booking's first intent, or nothing when it has one (booking_ref is unique)
_OPEN_INTENT = Statement("payments_open_intent", lambda d: f"""INSERT INTO payment_intent ({', '.join(_INTENT_COLUMNS)})
VALUES ({', '.join('{' + c + '}' for c in _INTENT_COLUMNS)}) ON CONFLICT (booking_ref) DO NOTHING""")


def intent_view(intent: PaymentIntent) -> IntentView:
    return IntentView(id=intent.id, booking_ref=intent.booking_ref, user_id=intent.user_id, amount=intent.amount,
                      currency=intent.currency, status=IntentStatus(intent.status),
                      created_at=clock.from_db(intent.created_at))


def open_intent(uow: UnitOfWork, booking_ref: str, user_id: int, due: Money) -> IntentView:
    """The booking's one intent: created on first ask (one statement); an open one follows the amount now due."""
    now = clock.now()
    intent = PaymentIntent(id=new_id("pi"), booking_ref=booking_ref, user_id=user_id, amount=due.amount,
                           currency=due.currency, status=IntentStatus.REQUIRES_PAYMENT_METHOD,
                           created_at=clock.to_db(now), updated_at=clock.to_db(now))
    if _OPEN_INTENT.run(uow.database, **{c: intent.__data__[c] for c in _INTENT_COLUMNS}).rowcount == 1:
        return intent_view(intent)
    try:
        with uow.transaction():
            intent = _INTENT_OF_BOOKING.first(booking_ref=booking_ref)
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


def users_intent(intent_id: str, user_id: int, read: PaymentIntent | None = None) -> PaymentIntent:
    """``read``: the intent, if the caller read it already (None: read it now)."""
    intent = read if read is not None and read.id == intent_id else _INTENT.first(id=intent_id)
    if intent is None or intent.user_id != user_id:
        raise IntentNotFound(f"no payment intent {intent_id}")
    return intent


def refuse_attempt(intent: PaymentIntent) -> None:
    if intent.status == IntentStatus.SUCCEEDED:
        raise IntentAlreadyPaid(f"intent {intent.id} is already paid")
    if intent.status == IntentStatus.PROCESSING:
        raise PaymentInProgress(f"a payment for intent {intent.id} is in progress; wait for it", retry_after=1)
    raise IntentNotFound(f"intent {intent.id} can no longer be paid")


def cancel_open_intent(uow: UnitOfWork, booking_ref: str) -> bool:
    """The booking can no longer be paid (expired or cancelled): its intent, if still waiting for a
    payment method, is canceled. One in progress is left to finish (the saga refunds it if need be)."""
    with uow.transaction():
        return bool(PaymentIntent.update(status=IntentStatus.CANCELED, updated_at=clock.to_db(clock.now())).where(
            (PaymentIntent.booking_ref == booking_ref)
            & (PaymentIntent.status == IntentStatus.REQUIRES_PAYMENT_METHOD)).execute())


def payment_of(payment_id: str) -> Payment | None:
    return Payment.get_or_none(Payment.id == payment_id) if payment_id else None


def payments_of(user_id: int) -> list[PaymentView]:
    payments = list(Payment.select().where(Payment.user_id == user_id)
                    .order_by(Payment.created_at.desc(), Payment.id.desc()))
    refunds: dict[str, list[Refund]] = {}
    if payments:
        for refund in (Refund.select().where(Refund.payment_id.in_([p.id for p in payments]))
                       .order_by(Refund.created_at, Refund.id)):
            refunds.setdefault(refund.payment_id, []).append(refund)
    return [payment_view(p, refunds.get(p.id, [])) for p in payments]


def card_view_of(payment: Payment) -> CardView | None:
    if not payment.card_last4:
        return None
    return CardView(brand=payment.card_brand or "unknown", last4=payment.card_last4,
                    exp_month=payment.card_exp_month or 0, exp_year=payment.card_exp_year or 0)


def payment_view(payment: Payment, refunds: list[Refund]) -> PaymentView:
    return PaymentView(id=payment.id, intent_id=payment.intent_id, booking_ref=payment.booking_ref,
                       user_id=payment.user_id, status=PaymentStatus(payment.status), amount=payment.amount,
                       refunded_amount=payment.refunded_amount, currency=payment.currency,
                       created_at=clock.from_db(payment.created_at), card=card_view_of(payment),
                       failure_code=payment.failure_code, refunds=[refund_view(r, payment) for r in refunds])


def refund_view(refund: Refund, payment: Payment) -> RefundView:
    return RefundView(id=refund.id, payment_id=payment.id, booking_ref=payment.booking_ref, amount=refund.amount,
                      currency=refund.currency, refunded_total=payment.refunded_amount,
                      payment_status=PaymentStatus(payment.status), created_at=clock.from_db(refund.created_at),
                      status=RefundStatus(refund.status))
