"""Refunds: each one recorded (``pending``, its amount reserved on the payment, the provider's idempotency
key, a lease) in its own committed transaction before the provider is called, and finished exactly
once. Unlike a charge, a refund can always be completed after a crash — nothing of the card is needed —
so the reconciler sends a pending refund again under the same key until the provider answers."""
from __future__ import annotations

import datetime as dt

import peewee as pw

from flightbook.contracts.payments import (PaymentNotFound, PaymentRefunded, PaymentStatus, RefundExceedsPayment,
                                           RefundNotAllowed, RefundStatus, RefundView)
from flightbook.kernel import clock, data
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.payments import idempotency
from flightbook.modules.payments.attempts import KeyTaken
from flightbook.modules.payments.leases import Leases
from flightbook.modules.payments.ledger import refund_view
from flightbook.modules.payments.models import Payment, Refund, new_id
from flightbook.modules.payments.providers import RefundOutcome

REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)
leases = Leases(Refund, RefundStatus.PENDING)


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


def _reserve(payment: Payment, amount: int) -> None:
    """Conditional UPDATE: refunds, however concurrent, never add up to more than was captured."""
    new_total = Payment.refunded_amount + amount
    taken = Payment.update(refunded_amount=new_total, status=_status_after(new_total)).where(
        (Payment.id == payment.id) & Payment.status.in_(REFUNDABLE) & (new_total <= Payment.amount)).execute()
    if not taken:
        left = Payment.get_by_id(payment.id)
        raise RefundExceedsPayment(f"only {left.amount - left.refunded_amount} of {left.amount} is left to refund",
                                   refundable=left.amount - left.refunded_amount)


def _unreserve(payment_id: str, amount: int) -> None:
    new_total = Payment.refunded_amount - amount
    Payment.update(refunded_amount=new_total, status=_status_after(new_total)).where(Payment.id == payment_id).execute()


def begin(uow: UnitOfWork, payment: Payment, amount: int, refund_id: str, provider_key: str, scope: str, req_hash: str,
          lease_seconds: float) -> Refund:
    """Reserve the amount and record the refund as owed, committed before the provider is called (or, inside
    an event handler's transaction, committed with the event's inbox record)."""
    now = clock.now()
    refund = Refund(id=refund_id, payment_id=payment.id, status=RefundStatus.PENDING, amount=amount,
                    currency=payment.currency, provider_key=provider_key, created_at=clock.to_db(now),
                    lease_expires_at=clock.to_db(now + dt.timedelta(seconds=lease_seconds)))
    try:
        with uow.transaction():
            idempotency.claim(scope, req_hash, refund_id)
            _reserve(payment, amount)
            refund.save(force_insert=True)
    except pw.IntegrityError:
        raise KeyTaken(scope) from None
    return refund


def finish(uow: UnitOfWork, refund: Refund, outcome: RefundOutcome, *, reconciled: bool = False) -> RefundView:
    """The refund's outcome, once. Refused for good: the reservation is undone and the key answers
    refund_not_allowed; the caller raises that."""
    status = RefundStatus.SUCCEEDED if outcome.is_refunded else RefundStatus.FAILED
    now = clock.to_db(clock.now())
    with uow.transaction():
        finished = Refund.update(status=status, provider_ref=outcome.provider_ref,
                                 failure_reason=outcome.refused_because, finished_at=now,
                                 reconciled_at=now if reconciled else None, lease_expires_at=None).where(
            (Refund.id == refund.id) & (Refund.status == RefundStatus.PENDING)).execute()
        if finished and not outcome.is_refunded:
            _unreserve(refund.payment_id, refund.amount)
        fresh = Refund.get_by_id(refund.id)
        payment = Payment.get_by_id(refund.payment_id)
        view = refund_view(fresh, payment)
        if finished:
            idempotency.finish(refund.id, data.to_dict(view) if outcome.is_refunded else
                               {"error": {"code": RefundNotAllowed.code, "message": outcome.refused_because}})
        if finished and outcome.is_refunded:
            uow.publish(PaymentRefunded(payment_id=payment.id, refund_id=refund.id, booking_ref=payment.booking_ref,
                                 user_id=payment.user_id, amount=Money(refund.amount, refund.currency),
                                 refunded_total=Money(payment.refunded_amount, payment.currency)))
    return view


def record_external(uow: UnitOfWork, payment: Payment, amount: int, provider_ref: str | None) -> None:
    """A refund made outside flightbook (the Stripe dashboard), reported by webhook: recorded as done."""
    now = clock.to_db(clock.now())
    with uow.transaction():
        _reserve(payment, amount)
        refund = Refund.create(id=new_id("re"), payment_id=payment.id, status=RefundStatus.SUCCEEDED, amount=amount,
                               currency=payment.currency, provider_ref=provider_ref, created_at=now,
                               finished_at=now)
        fresh = Payment.get_by_id(payment.id)
        uow.publish(PaymentRefunded(payment_id=payment.id, refund_id=refund.id, booking_ref=payment.booking_ref,
                             user_id=payment.user_id, amount=Money(amount, payment.currency),
                             refunded_total=Money(fresh.refunded_amount, payment.currency)))
