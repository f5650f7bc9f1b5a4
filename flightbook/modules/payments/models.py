"""The payments module's tables, bound to its own database (payments_db).

No card number or CVC is ever a column: cards are kept as brand, last4, expiry and a fingerprint."""
from __future__ import annotations

import secrets

import peewee as pw

database = pw.DatabaseProxy()


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class PaymentIntent(BaseModel):
    """What a booking owes; one per booking, so creating it twice finds the first."""
    id = pw.CharField(max_length=40, primary_key=True)
    booking_ref = pw.CharField(max_length=16, unique=True)
    user_id = pw.IntegerField(index=True)
    amount = pw.BigIntegerField()
    currency = pw.CharField(max_length=3)
    status = pw.CharField(max_length=30)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()


class Payment(BaseModel):
    """One attempt to pay an intent. Written as ``processing`` (with the provider's idempotency key and a
    lease) *before* the provider is called, then finished as succeeded or failed; an attempt left
    processing past its lease is finished by the reconciler, which asks the provider what happened.
    Refunds move refunded_amount."""
    id = pw.CharField(max_length=40, primary_key=True)
    intent_id = pw.CharField(max_length=40, index=True)
    booking_ref = pw.CharField(max_length=16)
    user_id = pw.IntegerField(index=True)
    status = pw.CharField(max_length=20)
    amount = pw.BigIntegerField()
    refunded_amount = pw.BigIntegerField(default=0)
    currency = pw.CharField(max_length=3)
    failure_code = pw.CharField(max_length=40, null=True)
    card_brand = pw.CharField(max_length=20, null=True)
    card_last4 = pw.CharField(max_length=4, null=True)
    card_exp_month = pw.IntegerField(null=True)
    card_exp_year = pw.IntegerField(null=True)
    card_fingerprint = pw.CharField(max_length=64, null=True)
    provider = pw.CharField(max_length=20)
    provider_ref = pw.CharField(max_length=100, null=True, index=True)
    provider_key = pw.CharField(max_length=100, null=True, unique=True)  # the key the provider was sent
    lease_expires_at = pw.DateTimeField(null=True)  # processing: its request may still be at the provider
    finished_at = pw.DateTimeField(null=True)
    reconciled_at = pw.DateTimeField(null=True)  # finished by the reconciler, not by its own request
    created_at = pw.DateTimeField()

    class Meta:
        constraints = [pw.SQL("CHECK (refunded_amount >= 0 AND refunded_amount <= amount)")]


class Refund(BaseModel):
    """Money given back. Written as ``pending`` (amount reserved on the payment, provider key, lease) before
    the provider is called; the reconciler sends a refund left pending again under the same key."""
    id = pw.CharField(max_length=40, primary_key=True)
    payment_id = pw.CharField(max_length=40, index=True)
    status = pw.CharField(max_length=12, default="succeeded")
    amount = pw.BigIntegerField()
    currency = pw.CharField(max_length=3)
    provider_ref = pw.CharField(max_length=100, null=True, index=True)
    provider_key = pw.CharField(max_length=100, null=True, unique=True)
    failure_reason = pw.CharField(max_length=200, null=True)
    lease_expires_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    reconciled_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField()


class IdempotencyRecord(BaseModel):
    """A claimed Idempotency-Key: inserted first, in its own transaction, so it is the lock.
    Holds a hash of the request (never the request) and, once done, the result to replay."""
    scope_key = pw.CharField(max_length=400, primary_key=True)
    request_hash = pw.CharField(max_length=64)
    state = pw.CharField(max_length=12)  # in_progress | done
    result = pw.TextField(null=True)  # JSON of the result
    resource_id = pw.CharField(max_length=40, null=True, index=True)  # the payment or refund it is making
    created_at = pw.DateTimeField()


class WebhookEvent(BaseModel):
    """A provider event already applied; a replay finds its id here and changes nothing."""
    id = pw.CharField(max_length=100, primary_key=True)
    type = pw.CharField(max_length=60)
    received_at = pw.DateTimeField()


class BankCard(BaseModel):
    """mockbank's issuer ledger: a card is found by a hash of its number, never by the number."""
    pan_hash = pw.CharField(max_length=64, primary_key=True)
    brand = pw.CharField(max_length=20)
    last4 = pw.CharField(max_length=4)
    behaviour = pw.CharField(max_length=30)  # approve | card_declined | expired_card | incorrect_cvc
    balance = pw.BigIntegerField()  # minor units; the mock issuer treats every currency at par


class BankEntry(BaseModel):
    """mockbank's ledger: every answer it gave, keyed by the caller's idempotency key, so a retry gets the
    first answer: a charge, a decline (failure_code), a refund, or a void (the key was asked about before
    it was ever used, and will never charge)."""
    id = pw.CharField(max_length=40, primary_key=True)
    idempotency_key = pw.CharField(max_length=400, unique=True)
    kind = pw.CharField(max_length=10)  # charge | decline | refund | void
    failure_code = pw.CharField(max_length=40, null=True)
    pan_hash = pw.CharField(max_length=64)
    amount = pw.BigIntegerField()
    currency = pw.CharField(max_length=3)
    charge_id = pw.CharField(max_length=40, null=True)  # the charge a refund gives back
    created_at = pw.DateTimeField()


TABLES = [PaymentIntent, Payment, Refund, IdempotencyRecord, WebhookEvent, BankCard, BankEntry]


def new_id(prefix: str) -> str:
    """Opaque ids in Stripe's style ('pay_3f9c...'): they cross boundaries as plain strings."""
    return f"{prefix}_{secrets.token_hex(12)}"
