"""The inbox: a subscriber applies each event at most once, however often the relay delivers it.

The event id goes into the subscriber's own ``inbox`` table in the same transaction as the handler's
effect: a repeated delivery finds the id already there and changes nothing (but is still
acknowledged); a handler that raises leaves neither the effect nor the id, so the relay retries.
"""
from __future__ import annotations

import contextvars
import logging
import re
import time

import jwt

from flightbook.kernel import clock, db as kdb, faults, observability, tracing, validate
from flightbook.kernel.auth import require_service
from flightbook.kernel.errors import DomainError, Forbidden, Unavailable, Unprocessable, ValidationError
from flightbook.kernel.events import EVENT_TYPES
from flightbook.kernel.http import SAFE_REQUEST_ID, current_request_id, request_id_of
from flightbook.kernel.outbox import Message, event_connection, tables

log = logging.getLogger("flightbook.events")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_applying: contextvars.ContextVar[str | None] = contextvars.ContextVar("applying_event", default=None)
_published_at: contextvars.ContextVar[float] = contextvars.ContextVar("applying_published_at", default=0.0)


def current_event_age() -> float | None:
    """Seconds since the event whose handler runs now was published (None outside a handler, or unknown)."""
    published = _published_at.get()
    return max(0.0, time.time() - published) if published else None


def current_event_id() -> str:
    """The id of the event whose handler runs now, for a handler that keys records of its own by event (the
    inbox already applies each event once; such a record says which event made it). Only inside a handler."""
    event_id = _applying.get()
    if event_id is None:
        raise RuntimeError("current_event_id() is only known inside an event handler run by an Inbox")
    return event_id


class NoHandler(Unprocessable):
    code = "no_handler"


class Inbox:
    """``subscriber``'s inbox in its own ``database``; ``handlers`` maps topic -> callable(event).

    A handler may return a callable: it runs after the handler's transaction committed (see ``_follow``)."""

    def __init__(self, database, subscriber: str, handlers: dict):
        self.database = database
        self.subscriber = subscriber
        self.handlers = handlers

    def receive(self, message: Message, doorbell=None) -> bool:
        """Apply ``message`` once: True if the handler ran now, False if it had already been applied.
        In a span of the publisher's trace and as part of the request it was published in (the calls and events
        the handler makes carry that request id on), with one log line and one count per event. ``doorbell``
        (a request worker's, kernel.part.Doorbell): a follow-up that a background job also does is left to
        that job, rung now, instead of running here."""
        started = time.perf_counter()
        outcome = "failed"
        with tracing.span(f"handle {message.topic}", tracing.SpanKind.CONSUMER, message.trace_context,
                          **{"messaging.message.id": message.event_id, "messaging.consumer.group.name":
                             self.subscriber}), request_id_of(message.request_id):
            trace_id = tracing.current_trace_id()
            try:
                applied = self._receive(message, doorbell)
                outcome = "applied" if applied else "duplicate"
                return applied
            finally:
                observability.event_line(self.subscriber, message.topic, message.event_id, outcome,
                                         time.perf_counter() - started, trace_id, current_request_id())

    def _receive(self, message: Message, doorbell) -> bool:
        handler = self.handlers.get(message.topic)
        if handler is None:
            raise NoHandler(f"{self.subscriber} does not handle {message.topic!r}")
        event = _decode(message)
        inbox = tables(self.database).InboxEvent
        with event_connection(self.database):
            with kdb.write_transaction(self.database):
                # Insert first: on PostgreSQL a concurrent delivery of the same event waits here on the
                # unique index until this transaction ends, then finds the id and does nothing.
                inserted = (inbox.insert(subscriber=self.subscriber, event_id=message.event_id,
                                         topic=message.topic, source=message.source,
                                         received_at=clock.to_db(clock.now()))
                            .on_conflict_ignore().as_rowcount().execute())
                if not inserted:
                    return False
                applying = _applying.set(message.event_id)
                published = _published_at.set(message.published_at)
                try:
                    follow_up = handler(event)
                finally:
                    _applying.reset(applying)
                    _published_at.reset(published)
                faults.reach(f"{self.subscriber}.event_applied")  # the effect written, not yet committed
            if callable(follow_up):
                job = getattr(follow_up, "background_job", None)
                if doorbell is not None and job is not None:
                    doorbell.ring(job)
                else:
                    _follow(follow_up, self.subscriber, message)
        return True

    def has_applied(self, event_id: str) -> bool:
        inbox = tables(self.database).InboxEvent
        with event_connection(self.database):
            return inbox.select().where((inbox.subscriber == self.subscriber)
                                        & (inbox.event_id == event_id)).exists()


def _follow(follow_up, subscriber: str, message: Message) -> None:
    """Work a handler asked for once its effect has committed, such as calling a payment provider (never
    from inside a transaction). The effect already records the work as owed, so if this fails or the
    process dies here, the subscriber's own recovery (payments' reconciler, flights' mail job) finishes it:
    the delivery stays acknowledged."""
    try:
        follow_up()
    except Exception:
        log.exception("%s: the follow-up of %s %s failed; its recovery job will finish it", subscriber,
                      message.topic, message.event_id)


def _decode(message: Message):
    event_type = EVENT_TYPES.get(message.topic)
    if event_type is None:
        raise NoHandler(f"unknown topic {message.topic!r}")
    try:
        return event_type.from_payload(message.payload)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationError("payload", f"does not fit {message.topic}: {exc}") from None


def read_message(body: dict, trace_context: str = "", request_id: str = "") -> Message:
    """The ``POST /api/events`` body as a Message (400 naming the field when it does not fit)."""
    event_id = validate.text(body, "event_id", max_len=36)
    if not _UUID.match(event_id):
        raise ValidationError("event_id", "must be a lower-case UUID")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise ValidationError("payload", "must be a JSON object")
    return Message(event_id=event_id, topic=validate.text(body, "topic", max_len=100),
                   source=validate.text(body, "source", max_len=40), payload=payload,
                   trace_context=trace_context[:512], published_at=_seconds(body.get("published_at")),
                   request_id=request_id if SAFE_REQUEST_ID.match(request_id) else "")


def _seconds(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


class EventsResource:
    """``POST /api/events``: the relay of another part delivering an event to one of the parts served
    here. Service tokens only; the token's audience names the subscriber, its issuer the source."""

    def __init__(self, inboxes: dict, doorbell=None):
        self.inboxes = inboxes  # subscriber name -> Inbox
        self.doorbell = doorbell  # the jobs worker's, when one runs beside this request worker

    def on_post(self, req, resp):
        caller = require_service(getattr(req.context, "principal", None))
        inbox = self.inboxes.get(_audience(caller.token))
        if inbox is None:
            raise Forbidden(f"this service token is for none of {', '.join(sorted(self.inboxes))}",
                            code="wrong_audience")
        message = read_message(validate.body(req, checked=False))
        if message.source != caller.service:
            raise Forbidden(f"{caller.service} may not deliver events published by {message.source}",
                            code="wrong_source")
        try:
            applied = inbox.receive(message, self.doorbell)
        except DomainError:
            raise
        except Exception as exc:  # the handler's own failure: nothing was recorded, the relay retries
            log.exception("handler of %s for %s failed on event %s", inbox.subscriber, message.topic,
                          message.event_id)
            raise Unavailable(f"{inbox.subscriber} could not apply {message.topic} yet: {type(exc).__name__}",
                              code="handler_failed") from None
        resp.media = {"event_id": message.event_id, "subscriber": inbox.subscriber,
                      "status": "applied" if applied else "duplicate"}


def _audience(token: str | None) -> str | None:
    """The audience of a service token the auth middleware has already verified."""
    if not token:
        return None
    audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    return audience[0] if isinstance(audience, list) and len(audience) == 1 else audience
