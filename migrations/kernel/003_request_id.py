"""The outbox keeps the id of the request an event was published in ("" none: a job, the CLI), so the
subscriber's handling logs under it and the calls and events it makes in turn carry it on."""


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE outbox ADD COLUMN request_id VARCHAR(128) NOT NULL DEFAULT ''")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE outbox DROP COLUMN request_id")
