"""Charge attempts: each one recorded (``processing``, with the provider's idempotency key and a lease)
in its own committed transaction before the provider is called, and finished exactly once — by its
own request, by a retry with the same key, by a provider webhook or by the reconciler, whichever comes
first — in one transaction with the intent, the key's stored answer and the outbox event."""
from __future__ import annotations

import datetime as dt
import json

import peewee as pw

from flightbook.contracts.payments import (DECLINE_REASONS, CardView, IntentStatus, PaymentFailed, PaymentResult, PaymentStatus,
                                           PaymentSucceeded)
from flightbook.kernel import clock, data
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Statement, insert
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.payments import idempotency
from flightbook.modules.payments.leases import Leases
from flightbook.modules.payments.ledger import card_view_of
from flightbook.modules.payments.models import Payment, PaymentIntent
from flightbook.modules.payments.providers import ChargeOutcome, ChargeRequest



leases = Leases(Payment, PaymentStatus.PROCESSING)

# the attempt's writes, prepared on PostgreSQL (each is the same conditional statement peewee would build)
_ATTEMPT_COLUMNS = ("id", "intent_id", "booking_ref", "user_id", "status", "amount", "refunded_amount", "currency",
                    "provider", "provider_key", "created_at", "lease_expires_at", "card_brand", "card_last4",
                    "card_exp_month", "card_exp_year", "card_fingerprint")
_INSERT_ATTEMPT = insert("payments_insert_attempt", Payment, _ATTEMPT_COLUMNS)
_SQL_TYPES = {pw.BigIntegerField: "bigint", pw.IntegerField: "int", pw.DateTimeField: "timestamp"}
#: PostgreSQL: the key claimed, the intent taken and the attempt recorded in one statement (the attempt is
#: inserted only if the intent was taken; a taken key fails the whole statement on its unique index)
_BEGIN_ATTEMPT = Statement("payments_begin_attempt", lambda d: f"""WITH claimed AS (
INSERT INTO idempotency_record (scope_key, request_hash, state, result, resource_id, created_at)
VALUES ({{scope_key}}, {{request_hash}}, {{key_state}}, NULL, {{id}}, {{created_at}})),
taken AS (UPDATE payment_intent SET status = {{intent_processing}}, amount = {{amount}}, currency = {{currency}},
updated_at = {{created_at}} WHERE id = {{intent_id}} AND status = {{intent_waiting}} RETURNING id)
INSERT INTO payment ({', '.join(_ATTEMPT_COLUMNS)})
SELECT {', '.join(f"{{{c}}}::{_SQL_TYPES.get(type(Payment._meta.fields[c]), 'text')}" for c in _ATTEMPT_COLUMNS)}
FROM taken""")
_TAKE_INTENT = Statement("payments_take_intent", lambda d: """UPDATE payment_intent SET status = {processing},
amount = {amount}, currency = {currency}, updated_at = {updated_at} WHERE id = {id} AND status = {waiting}""")
_FINISH_ATTEMPT = Statement("payments_finish_attempt", lambda d: """UPDATE payment SET status = {status},
provider_ref = {provider_ref}, failure_code = {failure_code}, finished_at = {finished_at},
reconciled_at = {reconciled_at}, lease_expires_at = NULL WHERE id = {id} AND status = {processing}""")
_SETTLE_INTENT = Statement("payments_settle_intent", lambda d: """UPDATE payment_intent SET status = {status},
updated_at = {updated_at} WHERE id = {id} AND status = {processing}""")
#: PostgreSQL: the three statements above and the key's answer (``idempotency.finish``) in one, the intent and the
#: key changed only if this attempt was the one finished; answers how many attempts it finished (0 or 1)
_FINISH_ALL = Statement("payments_finish_all", lambda d: """WITH finished AS (UPDATE payment SET status = {status},
provider_ref = {provider_ref}, failure_code = {failure_code}, finished_at = {finished_at},
reconciled_at = {reconciled_at}, lease_expires_at = NULL WHERE id = {id} AND status = {processing} RETURNING id),
settled AS (UPDATE payment_intent SET status = {intent_status}, updated_at = {finished_at}
WHERE id = {intent_id} AND status = {intent_processing} AND EXISTS (SELECT 1 FROM finished)),
answered AS (UPDATE idempotency_record SET state = {done}, result = {result}
WHERE resource_id = {id} AND state = {in_progress} AND EXISTS (SELECT 1 FROM finished))
SELECT count(*) FROM finished""")


class KeyTaken(Exception):
    """Another request with the same Idempotency-Key recorded its attempt first."""


class IntentTaken(Exception):
    """The intent stopped waiting for a payment between our read and our attempt (paid, or another attempt)."""


def result_of(payment: Payment) -> PaymentResult:
    return PaymentResult(id=payment.id, intent_id=payment.intent_id, booking_ref=payment.booking_ref,
                         status=PaymentStatus(payment.status), amount=payment.amount, currency=payment.currency,
                         card=card_view_of(payment), failure_code=payment.failure_code,
                         message=DECLINE_REASONS.get(payment.failure_code or ""))


def provider_key(row) -> str:
    """The key a recorded charge or refund was (or will be) sent to the provider with."""
    if not row.provider_key:
        raise ValueError(f"{row.id} was recorded without a provider key")
    return row.provider_key


def charge_request(payment: Payment) -> ChargeRequest:
    return ChargeRequest(payment.id, payment.intent_id, payment.booking_ref, Money(payment.amount, payment.currency))


def _card_columns(card: CardView | None, fingerprint: str | None) -> dict:
    return {"card_brand": card and card.brand, "card_last4": card and card.last4,
            "card_exp_month": card and card.exp_month, "card_exp_year": card and card.exp_year,
            "card_fingerprint": fingerprint}


def begin(uow: UnitOfWork, intent: PaymentIntent, user_id: int, due: Money, payment_id: str, provider: str, provider_key: str,
          card: CardView, fingerprint: str, scope: str, req_hash: str, lease_seconds: float) -> Payment:
    """Record the attempt and take the intent (requires_payment_method -> processing), committed before the
    caller charges: a crash from here on leaves a row the reconciler finds."""
    now = clock.now()
    payment = Payment(id=payment_id, intent_id=intent.id, booking_ref=intent.booking_ref, user_id=user_id,
                      status=PaymentStatus.PROCESSING, amount=due.amount, refunded_amount=0, currency=due.currency,
                      provider=provider, provider_key=provider_key, created_at=clock.to_db(now),
                      lease_expires_at=clock.to_db(now + dt.timedelta(seconds=lease_seconds)),
                      **_card_columns(card, fingerprint))
    columns = {column: payment.__data__.get(column) for column in _ATTEMPT_COLUMNS}
    try:
        with uow.transaction():
            if uow.is_postgres:
                if _BEGIN_ATTEMPT.run(uow.database, scope_key=scope, request_hash=req_hash,
                                      key_state=str(idempotency.KeyState.IN_PROGRESS),
                                      intent_processing=str(IntentStatus.PROCESSING),
                                      intent_waiting=str(IntentStatus.REQUIRES_PAYMENT_METHOD), **columns).rowcount != 1:
                    raise IntentTaken(intent.id)
            else:
                idempotency.claim(scope, req_hash, payment_id)
                if not _take_intent(intent.id, due):
                    raise IntentTaken(intent.id)
                _INSERT_ATTEMPT.run(uow.database, **columns)
    except pw.IntegrityError:
        raise KeyTaken(scope) from None
    return payment


def _take_intent(intent_id: str, due: Money) -> bool:
    # conditional UPDATE: one attempt per intent at a time, whatever races with it
    return _TAKE_INTENT.run(PaymentIntent._meta.database, processing=str(IntentStatus.PROCESSING), amount=due.amount,
                            currency=due.currency, updated_at=clock.to_db(clock.now()), id=intent_id,
                            waiting=str(IntentStatus.REQUIRES_PAYMENT_METHOD)).rowcount == 1


def finish(uow: UnitOfWork, payment: Payment, outcome: ChargeOutcome, *, reconciled: bool = False) -> PaymentResult:
    """The attempt's outcome, once: whoever finishes it second gets the first finisher's result."""
    status = PaymentStatus.SUCCEEDED if outcome.is_approved else PaymentStatus.FAILED
    intent_status = IntentStatus.SUCCEEDED if outcome.is_approved else IntentStatus.REQUIRES_PAYMENT_METHOD
    now = clock.to_db(clock.now())
    result = PaymentResult(id=payment.id, intent_id=payment.intent_id, booking_ref=payment.booking_ref, status=status,
                           amount=payment.amount, currency=payment.currency, card=card_view_of(payment),
                           failure_code=outcome.failure_code, message=DECLINE_REASONS.get(outcome.failure_code or ""))
    attempt = {"status": str(status), "provider_ref": outcome.provider_ref, "failure_code": outcome.failure_code,
               "finished_at": now, "reconciled_at": now if reconciled else None, "id": payment.id,
               "processing": str(PaymentStatus.PROCESSING)}
    with uow.transaction():
        if uow.is_postgres:
            finished = _FINISH_ALL.rows(uow.database, **attempt, intent_status=str(intent_status),
                                        intent_id=payment.intent_id, intent_processing=str(IntentStatus.PROCESSING),
                                        done=str(idempotency.KeyState.DONE), result=json.dumps(data.to_dict(result)),
                                        in_progress=str(idempotency.KeyState.IN_PROGRESS))[0][0]
        else:
            finished = _FINISH_ATTEMPT.run(uow.database, **attempt).rowcount
            if finished:
                _SETTLE_INTENT.run(uow.database, status=str(intent_status), updated_at=now, id=payment.intent_id,
                                   processing=str(IntentStatus.PROCESSING))
                idempotency.finish(payment.id, data.to_dict(result))
        if not finished:
            return result_of(Payment.get_by_id(payment.id))
        payment.status, payment.provider_ref, payment.failure_code = status, outcome.provider_ref, outcome.failure_code
        _publish(uow, result, payment.user_id)
    return result


def _publish(uow: UnitOfWork, result: PaymentResult, user_id: int) -> None:
    if result.is_success:
        uow.publish(PaymentSucceeded(payment_id=result.id, intent_id=result.intent_id, booking_ref=result.booking_ref,
                              user_id=user_id, amount=Money(result.amount, result.currency)))
    else:
        uow.publish(PaymentFailed(intent_id=result.intent_id, booking_ref=result.booking_ref, user_id=user_id,
                           failure_code=result.failure_code or ""))


def record_final(uow: UnitOfWork, result: PaymentResult, user_id: int, provider: str, provider_ref: str | None,
                 fingerprint: str | None, scope: str | None, req_hash: str | None) -> None:
    """An attempt that needs no provider call (points paid it all; a number that fails Luhn), or one a
    provider reported by webhook that we never started: written finished, in one transaction."""
    with uow.transaction():
        if scope is not None and req_hash is not None:
            idempotency.claim(scope, req_hash, result.id, data.to_dict(result))
        if result.is_success and not _settle_intent(result):
            raise IntentTaken(result.intent_id)
        now = clock.to_db(clock.now())
        Payment.insert(id=result.id, intent_id=result.intent_id, booking_ref=result.booking_ref, user_id=user_id,
                       status=result.status, amount=result.amount, refunded_amount=0, currency=result.currency,
                       failure_code=result.failure_code, provider=provider, provider_ref=provider_ref,
                       created_at=now, finished_at=now, **_card_columns(result.card, fingerprint)).execute()
        _publish(uow, result, user_id)


def _settle_intent(result: PaymentResult) -> bool:
    return bool(PaymentIntent.update(status=IntentStatus.SUCCEEDED, updated_at=clock.to_db(clock.now())).where(
        (PaymentIntent.id == result.intent_id)
        & (PaymentIntent.status == IntentStatus.REQUIRES_PAYMENT_METHOD)).execute())


def processing_attempt(intent_id: str) -> Payment | None:
    return (Payment.select().where((Payment.intent_id == intent_id) & (Payment.status == PaymentStatus.PROCESSING))
            .first())

