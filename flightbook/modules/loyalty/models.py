"""The loyalty module's tables, bound to its own database (loyalty_db).

Invariants the service keeps: ``balance`` = the sum of ``remaining`` over the account's lots, and
``0 <= held <= balance``; both counters only move by conditional UPDATEs on the account row."""
from __future__ import annotations

from enum import StrEnum

import peewee as pw

from flightbook.kernel import audit

database = pw.DatabaseProxy()


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class LoyaltyTier(BaseModel):
    name = pw.CharField(max_length=20, primary_key=True)
    threshold = pw.IntegerField(unique=True)  # qualifying points in the window
    multiplier_permille = pw.IntegerField()  # 1250 = x1.25


class LoyaltyAccount(BaseModel):
    user_id = pw.BigIntegerField(primary_key=True)  # flights' user id, a value: no cross-module keys
    balance = pw.BigIntegerField(default=0)
    held = pw.BigIntegerField(default=0)  # under pending holds
    tier = pw.CharField(max_length=20)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()

    class Meta:
        constraints = [pw.SQL("CHECK (held >= 0 AND balance >= held)")]


class LotSource(StrEnum):
    EARN = "EARN"  # earned on a booking's cash part
    RETURN = "RETURN"  # redeemed on a booking, given back when it was cancelled
    ADJUST = "ADJUST"  # credited by an admin (a manual adjustment)


# ``user_id``: the value of each table's foreign key to the account (its column), which peewee provides.
class PointsLot(BaseModel):
    """Points earned (or returned) together; they expire together, and are spent oldest first."""
    user_id: int
    id = pw.BigAutoField()
    account = pw.ForeignKeyField(LoyaltyAccount, column_name="user_id", backref="lots", index=False)
    source = pw.CharField(max_length=10)  # LotSource
    booking_ref = pw.CharField(max_length=40, null=True)
    points = pw.BigIntegerField()  # as credited
    remaining = pw.BigIntegerField()
    earned_at = pw.DateTimeField()
    expires_at = pw.DateTimeField()
    reversed_at = pw.DateTimeField(null=True)  # the booking was cancelled: no longer qualifying

    class Meta:
        indexes = ((("account", "expires_at", "id"), False),)
        constraints = [pw.SQL("CHECK (remaining >= 0 AND remaining <= points)")]


class PointsHold(BaseModel):
    user_id: int
    id = pw.CharField(max_length=40, primary_key=True)
    account = pw.ForeignKeyField(LoyaltyAccount, column_name="user_id", index=True)
    booking_ref = pw.CharField(max_length=40, index=True)
    points = pw.BigIntegerField()
    value_amount = pw.BigIntegerField()
    currency = pw.CharField(max_length=3)
    status = pw.CharField(max_length=10)
    created_at = pw.DateTimeField()
    settled_at = pw.DateTimeField(null=True)
    # expiry of the oldest lot the commit took points from: returned points keep it
    oldest_expires_at = pw.DateTimeField(null=True)


class PointsTransaction(BaseModel):
    user_id: int
    id = pw.BigAutoField()
    account = pw.ForeignKeyField(LoyaltyAccount, column_name="user_id", index=False)
    kind = pw.CharField(max_length=10)
    points = pw.BigIntegerField()  # signed
    balance_after = pw.BigIntegerField()
    booking_ref = pw.CharField(max_length=40, null=True)
    note = pw.CharField(max_length=200, default="")
    created_at = pw.DateTimeField()

    class Meta:
        indexes = ((("account", "id"), False), (("kind", "booking_ref"), True))


AdminAudit = audit.model(database)  # who adjusted what, when and why (kernel/audit.py)
