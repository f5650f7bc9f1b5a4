"""Recording an admin action in flights' ``admin_audit`` and telling the other parts (FlightAdminAction)."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import FlightAdminAction
from flightbook.kernel import audit
from flightbook.kernel.auth import Principal
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.models import AdminAudit


def record(uow: UnitOfWork, admin: Principal, action: str, target: str, reason: str,
           now: dt.datetime | None = None, **details) -> int:
    """In the caller's transaction."""
    audit_id = audit.record(AdminAudit, admin, action, target, reason, now, **details)
    uow.publish(FlightAdminAction(audit_id=audit_id, admin_id=admin.user_id or 0, action=action, target=target,
                                  reason=reason))
    return audit_id


def entries(limit: int, target: str | None) -> list[audit.AuditEntry]:
    return audit.entries(AdminAudit, "flights", limit, target)
