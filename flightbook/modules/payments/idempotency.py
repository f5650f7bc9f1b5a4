"""Idempotency keys, Stripe's way: a request with a key either completes once, or can be retried safely
until it does.

A key is claimed in the same transaction that records the attempt it starts (a payment or a refund,
``resource_id``), before any provider is called, and finished in the transaction that records the
attempt's outcome. A request with a key that is already:
- done with the same body replays the stored answer; with another body is a 422;
- in progress while its attempt's lease runs gets a fast 409 ``payment_in_progress`` with Retry-After;
- in progress past the lease (its request died) finishes that attempt (the reconciler's path) and then
  answers as the first request would have.
A request refused before it recorded anything claims nothing, so its key stays free to retry."""
from __future__ import annotations

import hashlib
import hmac
import json
from enum import StrEnum

from flightbook.contracts.payments import IdempotencyKeyReused, PaymentInProgress
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.sql import Lookup, Statement, insert
from flightbook.modules.payments.models import IdempotencyRecord, PaymentIntent

MAX_KEY_LENGTH = 255
_BY_KEY = Lookup(IdempotencyRecord, "scope_key = {scope_key}")
_CLAIM = insert("idempotency_claim", IdempotencyRecord,
                ("scope_key", "request_hash", "state", "result", "resource_id", "created_at"))
_RECORD_FIELDS = IdempotencyRecord._meta.sorted_fields
_INTENT_FIELDS = PaymentIntent._meta.sorted_fields
#: a key's record and an intent, either missing, in one round trip: a row of the record's columns, then the intent's
_WITH_INTENT = Statement("idempotency_find_with_intent", lambda d: f"""SELECT
{', '.join('r.' + f.column_name for f in _RECORD_FIELDS)}, {', '.join('i.' + f.column_name for f in _INTENT_FIELDS)}
FROM (SELECT 1 AS one) AS one LEFT JOIN idempotency_record r ON r.scope_key = {{scope_key}}
LEFT JOIN payment_intent i ON i.id = {{intent_id}}""")
_FINISH = Statement("idempotency_finish", lambda d: """UPDATE idempotency_record SET state = {done}, result = {result}
WHERE resource_id = {resource_id} AND state = {in_progress}""")


class KeyState(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"


def checked_key(key: str | None) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("Idempotency-Key", "header is required (a unique string per payment attempt)")
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError("Idempotency-Key", f"must be at most {MAX_KEY_LENGTH} characters")
    if not key.isprintable():
        raise ValidationError("Idempotency-Key", "must be printable text")
    return key


def request_hash(secret: str, request: dict) -> str:
    """A keyed hash of the request: enough to tell "same body" from "different body", useless to a thief."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def derived(secret: str, scope_key: str, purpose: str) -> str:
    """A stable value derived from a claimed key (provider idempotency keys, payment ids), so every retry
    of a request, and the reconciler after a crash, uses the same ones."""
    return hmac.new(secret.encode(), f"{purpose}:{scope_key}".encode(), hashlib.sha256).hexdigest()[:24]


def find(scope_key: str, req_hash: str) -> IdempotencyRecord | None:
    """The key's record, if it was claimed; a 422 if it was claimed for another request."""
    record = _BY_KEY.first(scope_key=scope_key)
    if record is not None and record.request_hash != req_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
    return record


def find_with_intent(scope_key: str, req_hash: str, intent_id: str) -> tuple[IdempotencyRecord | None,
                                                                         PaymentIntent | None]:
    """``find(scope_key, req_hash)`` and the intent ``intent_id`` (None: no such intent), read together."""
    row = _WITH_INTENT.rows(IdempotencyRecord._meta.database, scope_key=scope_key, intent_id=intent_id)[0]
    record = _model(IdempotencyRecord, _RECORD_FIELDS, row[:len(_RECORD_FIELDS)])
    if record is not None and record.request_hash != req_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
    return record, _model(PaymentIntent, _INTENT_FIELDS, row[len(_RECORD_FIELDS):])


def _model(model, fields, values):
    """A row's columns as an instance of ``model``, converted as its own select converts them; None: all NULL
    (its primary key, never NULL, is NULL: no row was joined)."""
    if all(value is None for value in values):
        return None
    return model(**{f.name: f.python_value(value) for f, value in zip(fields, values)})


def claim(scope_key: str, req_hash: str, resource_id: str, result: dict | None = None) -> None:
    """Inside the transaction that records ``resource_id``: the key is now its (an IntegrityError if a
    request with the same key got there first). ``result``: an attempt finished in that same transaction."""
    _CLAIM.run(IdempotencyRecord._meta.database, scope_key=scope_key, request_hash=req_hash, resource_id=resource_id,
               state=str(KeyState.IN_PROGRESS if result is None else KeyState.DONE),
               result=None if result is None else json.dumps(result), created_at=clock.to_db(clock.now()))


def finish(resource_id: str, result: dict) -> None:
    """Inside the transaction that records the outcome of ``resource_id``: its key now answers ``result``."""
    _FINISH.run(IdempotencyRecord._meta.database, result=json.dumps(result), resource_id=resource_id,
                done=str(KeyState.DONE), in_progress=str(KeyState.IN_PROGRESS))


def stored_result(record: IdempotencyRecord) -> dict | None:
    return json.loads(record.result) if record.state == KeyState.DONE and record.result is not None else None


def in_progress(retry_after: float = 1.0) -> PaymentInProgress:
    return PaymentInProgress("a request with this Idempotency-Key is still being processed; "
                             "ask again in a moment", retry_after=retry_after)
