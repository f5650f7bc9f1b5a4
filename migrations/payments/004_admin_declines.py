"""payments: the admin overview's declines by code read the failed payments of the last 30 days."""


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("CREATE INDEX IF NOT EXISTS payment_failed_created_at ON payment (created_at) WHERE status = 'failed'")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("DROP INDEX IF EXISTS payment_failed_created_at")
