"""loyalty: tiers (seeded), accounts, points lots, holds and the transaction history."""
import peewee as pw

from flightbook.kernel.db import is_postgres

TIERS = (("Blue", 0, 1000), ("Silver", 25000, 1250), ("Gold", 50000, 1500), ("Platinum", 100000, 2000))


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class LoyaltyTier(pw.Model):
        name = pw.CharField(max_length=20, primary_key=True)
        threshold = pw.IntegerField(unique=True)
        multiplier_permille = pw.IntegerField()

        class Meta:
            table_name = "loyalty_tier"

    @migrator.create_model
    class LoyaltyAccount(pw.Model):
        user_id = pw.BigIntegerField(primary_key=True)
        balance = pw.BigIntegerField(default=0)
        held = pw.BigIntegerField(default=0)
        tier = pw.CharField(max_length=20)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "loyalty_account"
            constraints = [pw.SQL("CHECK (held >= 0 AND balance >= held)")]

    @migrator.create_model
    class PointsLot(pw.Model):
        id = pw.BigAutoField()
        account = pw.ForeignKeyField(LoyaltyAccount, column_name="user_id", index=False)
        source = pw.CharField(max_length=10)
        booking_ref = pw.CharField(max_length=40, null=True)
        points = pw.BigIntegerField()
        remaining = pw.BigIntegerField()
        earned_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        reversed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "points_lot"
            indexes = ((("account", "expires_at", "id"), False),)
            constraints = [pw.SQL("CHECK (remaining >= 0 AND remaining <= points)")]

    @migrator.create_model
    class PointsHold(pw.Model):
        id = pw.CharField(max_length=40, primary_key=True)
        account = pw.ForeignKeyField(LoyaltyAccount, column_name="user_id", index=True)
        booking_ref = pw.CharField(max_length=40, index=True)
        points = pw.BigIntegerField()
        value_amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)
        status = pw.CharField(max_length=10)
        created_at = pw.DateTimeField()
        settled_at = pw.DateTimeField(null=True)
        oldest_expires_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "points_hold"

    @migrator.create_model
    class PointsTransaction(pw.Model):
        id = pw.BigAutoField()
        account = pw.ForeignKeyField(LoyaltyAccount, column_name="user_id", index=False)
        kind = pw.CharField(max_length=10)
        points = pw.BigIntegerField()
        balance_after = pw.BigIntegerField()
        booking_ref = pw.CharField(max_length=40, null=True)
        note = pw.CharField(max_length=200, default="")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "points_transaction"
            indexes = ((("account", "id"), False), (("kind", "booking_ref"), True))

    # By expiry, for expire-points. Deliberately no index mentions ``remaining``, and (PostgreSQL) lot pages
    # keep room for a new row version: spending or expiring a lot is then a HOT update that writes no index.
    migrator.sql("CREATE INDEX points_lot_expiry ON points_lot (expires_at)")
    if is_postgres(database):
        migrator.sql("ALTER TABLE points_lot SET (fillfactor = 50)")
    # one live (pending or committed) hold per booking
    migrator.sql("CREATE UNIQUE INDEX points_hold_one_live_per_booking ON points_hold (booking_ref) "
                 "WHERE status IN ('PENDING', 'COMMITTED')")
    for name, threshold, permille in TIERS:
        migrator.sql("INSERT INTO loyalty_tier (name, threshold, multiplier_permille) "
                     f"VALUES ('{name}', {threshold}, {permille})")


def rollback(migrator, database, fake=False, **kwargs):
    for name in ("points_transaction", "points_hold", "points_lot", "loyalty_account", "loyalty_tier"):
        migrator.remove_model(name)
