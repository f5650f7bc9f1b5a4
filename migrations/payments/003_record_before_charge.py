"""payments: every charge and refund is recorded before the provider is called (provider key, lease,
finished/reconciled times); idempotency keys name what they are making; mockbank remembers declines
and voided keys."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    migrator.add_fields(
        "payment",
        provider_key=pw.CharField(max_length=100, null=True, unique=True),
        lease_expires_at=pw.DateTimeField(null=True),
        finished_at=pw.DateTimeField(null=True),
        reconciled_at=pw.DateTimeField(null=True),
    )
    migrator.add_fields(
        "refund",
        status=pw.CharField(max_length=12, default="succeeded"),
        provider_key=pw.CharField(max_length=100, null=True, unique=True),
        failure_reason=pw.CharField(max_length=200, null=True),
        lease_expires_at=pw.DateTimeField(null=True),
        finished_at=pw.DateTimeField(null=True),
        reconciled_at=pw.DateTimeField(null=True),
    )
    migrator.add_fields("idempotency_record", resource_id=pw.CharField(max_length=40, null=True, index=True))
    migrator.add_fields("bank_entry", failure_code=pw.CharField(max_length=40, null=True))
    # the reconciler's and the status report's questions: what is still unfinished?
    migrator.sql("CREATE INDEX payment_unfinished ON payment (lease_expires_at) WHERE status = 'processing'")
    migrator.sql("CREATE INDEX refund_unfinished ON refund (lease_expires_at) WHERE status = 'pending'")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("DROP INDEX IF EXISTS payment_unfinished")
    migrator.sql("DROP INDEX IF EXISTS refund_unfinished")
    migrator.remove_fields("payment", "provider_key", "lease_expires_at", "finished_at", "reconciled_at")
    migrator.remove_fields("refund", "status", "provider_key", "failure_reason", "lease_expires_at", "finished_at",
                           "reconciled_at")
    migrator.remove_fields("idempotency_record", "resource_id")
    migrator.remove_fields("bank_entry", "failure_code")
