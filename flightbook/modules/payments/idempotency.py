"""Idempotency keys: the first request with a key inserts its record (its own short transaction, so the
unique key is the lock); later requests with that key replay the stored result, or wait for it.

Choice: a request that finds the key in progress polls for up to ``WAIT_SECONDS`` and then replays the
stored result; only if the first request is still running after that does it get 409 payment_in_progress.
A request that fails before anything happened at the provider releases its key, so it can be retried."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import peewee as pw

from flightbook.contracts.payments import IdempotencyKeyReused, PaymentInProgress
from flightbook.kernel import clock
from flightbook.kernel.db import write_transaction
from flightbook.kernel.errors import ValidationError
from flightbook.modules.payments.models import IdempotencyRecord, database

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05
MAX_KEY_LENGTH = 255


def checked_key(key: str | None) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("Idempotency-Key", "header is required (a unique string per payment attempt)")
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError("Idempotency-Key", f"must be at most {MAX_KEY_LENGTH} characters")
    return key


def request_hash(secret: str, request: dict) -> str:
    """A keyed hash of the request: enough to tell "same body" from "different body", useless to a thief."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def derived(secret: str, scope_key: str, purpose: str) -> str:
    """A stable value derived from a claimed key (provider idempotency keys, payment ids), so a retry
    after a crash reuses them."""
    return hmac.new(secret.encode(), f"{purpose}:{scope_key}".encode(), hashlib.sha256).hexdigest()[:24]


def claim(scope_key: str, req_hash: str, wait_seconds: float = WAIT_SECONDS) -> dict | None:
    """None: the key is ours, do the work. A dict: the stored result of the same earlier request."""
    deadline = time.monotonic() + wait_seconds
    while True:
        if _insert(scope_key, req_hash):
            return None
        record = IdempotencyRecord.get_or_none(IdempotencyRecord.scope_key == scope_key)
        if record is None:
            continue  # released between our insert and our read: try to take it
        if record.request_hash != req_hash:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
        if record.state == "done" and record.result is not None:
            return json.loads(record.result)
        if time.monotonic() >= deadline:
            raise PaymentInProgress("a request with this Idempotency-Key is still being processed; retry shortly")
        time.sleep(POLL_SECONDS)


def _insert(scope_key: str, req_hash: str) -> bool:
    try:
        with write_transaction(database):
            IdempotencyRecord.insert(scope_key=scope_key, request_hash=req_hash, state="in_progress",
                                     created_at=clock.to_db(clock.now())).execute()
        return True
    except pw.IntegrityError:
        return False


def finish(scope_key: str, result: dict) -> None:
    """Store the result; call it inside the transaction that records what the request did."""
    IdempotencyRecord.update(state="done", result=json.dumps(result)).where(
        IdempotencyRecord.scope_key == scope_key).execute()


def release(scope_key: str) -> None:
    """Forget a key whose request failed before changing anything, so the client can retry it."""
    with write_transaction(database):
        IdempotencyRecord.delete().where((IdempotencyRecord.scope_key == scope_key)
                                         & (IdempotencyRecord.state == "in_progress")).execute()
