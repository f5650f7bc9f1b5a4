"""What every module's admin API shares: reading a time or a yes/no from a request, the outbox's events
(backlog, dead letters, retry) and a booking's events as resources, and the same over HTTP for the clients."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from flightbook.kernel import data, validate
from flightbook.kernel.audit import AuditEntry
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.httpclient import ServiceClient, bearer
from flightbook.kernel.outbox import EventRecord, OutboxReport


def principal(req):
    return getattr(req.context, "principal", None)


def moment(values: dict, field: str, *, required: bool = True, naive: bool = False) -> dt.datetime | None:
    """An ISO 8601 time (``naive``: a wall-clock time without an offset, else one with an offset or UTC)."""
    value = values.get(field)
    if value is None or value == "":
        if required:
            raise ValidationError(field, "is required (YYYY-MM-DDTHH:MM)")
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, f"{str(value)[:40]!r} is not a time (YYYY-MM-DDTHH:MM)") from None
    if naive:
        if parsed.tzinfo is not None:
            raise ValidationError(field, "is a local time: no offset")
        return parsed
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def boolean(values: dict, field: str) -> bool:
    value = values.get(field)
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValidationError(field, "must be true or false")


class Events:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        resp.media = data.to_dict(self.service.admin_events(principal(req)))


class RetryEvents:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        event_id = validate.text(body, "event_id", max_len=36, required=False)
        resp.media = {"retried": self.service.admin_retry_events(principal(req), event_id)}


class BookingEvents:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, ref):
        resp.media = {"events": [data.to_dict(e) for e in self.service.admin_booking_events(principal(req), ref)]}


class Audit:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        limit = validate.integer(params, "limit", minimum=1, maximum=100, required=False, default=100)
        target = validate.text(params, "target", max_len=100, required=False)
        resp.media = {"entries": [data.to_dict(e) for e in self.service.admin_audit(principal(req), limit, target)]}


def add_routes(app, service, prefix: str, audit: bool = True) -> None:
    app.add_route(f"{prefix}/events", Events(service))
    app.add_route(f"{prefix}/events/retry", RetryEvents(service))
    app.add_route(f"{prefix}/bookings/{{ref}}/events", BookingEvents(service))
    if audit:
        app.add_route(f"{prefix}/audit", Audit(service))


class EventsClient:
    """The shared admin calls over HTTP (a class with ``http`` and ``admin_prefix``)."""
    http: ServiceClient
    admin_prefix: str

    def admin_events(self, caller) -> OutboxReport:
        return data.from_dict(OutboxReport, self.http.call("GET", f"{self.admin_prefix}/events",
                                                           token=bearer(caller)))

    def admin_retry_events(self, caller, event_id: str | None = None) -> int:
        body = self.http.call("POST", f"{self.admin_prefix}/events/retry",
                              json={"event_id": event_id}, token=bearer(caller))
        return int(body["retried"])

    def admin_booking_events(self, caller, ref: str) -> list[EventRecord]:
        body = self.http.call("GET", f"{self.admin_prefix}/bookings/{quote(str(ref), safe='')}/events",
                              token=bearer(caller))
        return [data.from_dict(EventRecord, e) for e in body["events"]]

    def admin_audit(self, caller, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        params: dict = {"limit": limit, **({"target": target} if target else {})}
        body = self.http.call("GET", f"{self.admin_prefix}/audit", params=params,
                              token=bearer(caller))
        return [data.from_dict(AuditEntry, e) for e in body["entries"]]
