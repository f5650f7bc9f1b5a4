"""The outbox keeps the trace context an event was published in (a W3C traceparent, "" untraced), so its
delivery and the subscriber's handling join the publisher's trace."""


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE outbox ADD COLUMN trace_context VARCHAR(512) NOT NULL DEFAULT ''")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE outbox DROP COLUMN trace_context")
