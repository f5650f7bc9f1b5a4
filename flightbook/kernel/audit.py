"""The admin audit: every admin action recorded (who, when, what, why) in the database of the module that
owns what changed, as a row of that module's ``admin_audit`` table (its own migration) written in the same
transaction as the change, beside the event that tells the other parts."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import peewee as pw

from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError

MAX_REASON = 500


@dataclass(frozen=True)
class AuditEntry:
    id: int
    module: str
    admin_id: int
    admin_username: str
    action: str  # what was done, e.g. "flight.cancel", "points.adjust"
    target: str  # what it was done to, e.g. "flight 812", "booking ABC123", "user 7"
    reason: str
    details: dict
    created_at: dt.datetime


def model(database_proxy) -> type[pw.Model]:
    """The ``admin_audit`` table as a peewee model bound to a module's database."""

    class AdminAudit(pw.Model):
        id = pw.BigAutoField()
        admin_id = pw.BigIntegerField()
        admin_username = pw.CharField(max_length=40)
        action = pw.CharField(max_length=40)
        target = pw.CharField(max_length=100)
        reason = pw.TextField()
        details = pw.TextField()
        created_at = pw.DateTimeField(index=True)

        class Meta:
            database = database_proxy
            table_name = "admin_audit"

    return AdminAudit


def reason(value) -> str:
    """An admin action's reason: required, at most MAX_REASON characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("reason", "is required: say why")
    if len(value.strip()) > MAX_REASON:
        raise ValidationError("reason", f"must be at most {MAX_REASON} characters")
    return value.strip()


def record(table, admin, action: str, target: str, why: str, now: dt.datetime | None = None,
           **details) -> int:
    """One row, in the caller's transaction; its id."""
    row = table.create(admin_id=admin.user_id, admin_username=(admin.username or "")[:40], action=action,
                       target=target[:100], reason=why, details=json.dumps(details, default=str, sort_keys=True),
                       created_at=clock.to_db(now or clock.now()))
    return row.id


def entries(table, module: str, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
    query = table.select()
    if target is not None:
        query = query.where(table.target == target)
    return [AuditEntry(id=r.id, module=module, admin_id=r.admin_id, admin_username=r.admin_username,
                       action=r.action, target=r.target, reason=r.reason, details=json.loads(r.details or "{}"),
                       created_at=clock.from_db(r.created_at))
            for r in query.order_by(table.id.desc()).limit(limit)]
