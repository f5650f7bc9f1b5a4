"""The event outbox: a module records what happened in its own database, in the same transaction
as the change itself; the relay (``relay.py``) carries it to the subscribers later.

    outbox = Outbox(models.database, "payments")
    with write_transaction(models.database):
        ...                                    # the state change
        outbox.publish(PaymentSucceeded(...))  # same transaction: both commit or neither does

The tables live in every module's database (``migrations/kernel/``): ``outbox`` (one row per event),
``outbox_delivery`` (one row per event and subscriber, with its attempts, backoff and lease) and
``inbox`` (the events a subscriber has applied, see ``inbox.py``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

import peewee as pw

from flightbook.kernel import clock, db as kdb, tracing
from flightbook.kernel.auth import Principal, require_admin
from flightbook.kernel.events import Event
from flightbook.kernel.http import current_request_id
from flightbook.kernel.sql import Statement

class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


PENDING, DELIVERED, DEAD = DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.DEAD

_TABLES: dict = {}  # id(database) -> (database, models); DatabaseProxy cannot be weakly referenced


def tables(database) -> SimpleNamespace:
    """The kernel's event tables as peewee models bound to ``database`` (one set per database, so
    relays of several modules can run side by side in one process)."""
    held = _TABLES.get(id(database))
    if held is None or held[0] is not database:
        held = _TABLES[id(database)] = (database, _define_tables(database))
    return held[1]


def _define_tables(database) -> SimpleNamespace:
    class Base(pw.Model):
        class Meta:
            pass

    Base._meta.database = database

    class OutboxEvent(Base):
        id = pw.BigAutoField()
        event_id = pw.CharField(max_length=36, unique=True)
        topic = pw.CharField(max_length=100)
        source = pw.CharField(max_length=40)
        payload = pw.TextField()
        created_at = pw.DateTimeField()
        fanned_out_at = pw.DateTimeField(null=True)
        #: the W3C traceparent the event was published in ("" untraced): its delivery joins that trace
        trace_context = pw.CharField(max_length=512, default="")
        #: the id of the request it was published in ("" none): the subscriber handles it under that id
        request_id = pw.CharField(max_length=128, default="")

        class Meta:
            table_name = "outbox"

    class OutboxDelivery(Base):
        id = pw.BigAutoField()
        event = pw.ForeignKeyField(OutboxEvent, column_name="outbox_id", backref="deliveries")
        subscriber = pw.CharField(max_length=40)
        status = pw.CharField(max_length=10, default=PENDING)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)
        claim = pw.CharField(max_length=32, null=True)
        last_error = pw.TextField(null=True)
        delivered_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "outbox_delivery"

    class InboxEvent(Base):
        id = pw.BigAutoField()
        subscriber = pw.CharField(max_length=40)
        event_id = pw.CharField(max_length=36)
        topic = pw.CharField(max_length=100)
        source = pw.CharField(max_length=40)
        received_at = pw.DateTimeField()

        class Meta:
            table_name = "inbox"

    return SimpleNamespace(OutboxEvent=OutboxEvent, OutboxDelivery=OutboxDelivery, InboxEvent=InboxEvent)


@dataclass(frozen=True)
class Message:
    """An event on its way to a subscriber: what the relay hands over and ``POST /api/events`` carries."""
    event_id: str
    topic: str
    source: str
    payload: dict
    #: the publisher's W3C traceparent ("" untraced); it travels as a ``traceparent`` header, not in the body
    trace_context: str = ""
    #: when it was published (Unix seconds; 0 unknown): how long it took to arrive, for the metrics
    published_at: float = 0.0
    #: the id of the request it was published in ("" none); it travels as an ``X-Request-ID`` header
    request_id: str = ""

    @classmethod
    def of(cls, row) -> "Message":
        return cls(event_id=row.event_id, topic=row.topic, source=row.source, payload=json.loads(row.payload),
                   trace_context=row.trace_context or "", published_at=clock.from_db(row.created_at).timestamp(),
                   request_id=row.request_id or "")


# every state change publishes: prepared on PostgreSQL, as the hot writes are
_PUBLISH = Statement("outbox_publish", lambda d: """INSERT INTO outbox (event_id, topic, source, payload, created_at,
trace_context, request_id) VALUES ({event_id}, {topic}, {source}, {payload}, {created_at}, {trace_context},
{request_id})""")


class Outbox:
    """Where a module publishes its events: ``Outbox(database, "flights").publish(BookingConfirmed(...))``."""

    def __init__(self, database, source: str):
        self.database = database
        self.source = source

    def publish(self, event: Event) -> str:
        """Record ``event`` for delivery; must run inside the caller's write transaction, so the event
        exists exactly when the change it reports does. Returns the event id."""
        if not self.database.in_transaction():
            raise RuntimeError("Outbox.publish must run inside the write transaction of the change it reports")
        row = self._row(event)
        _PUBLISH.run(self.database, **row)
        return row["event_id"]

    def publish_many(self, events: list[Event], chunk_size: int = 500) -> int:
        """Record many events with a multi-row INSERT per ``chunk_size``, as ``publish`` records one
        (inside the caller's write transaction); how many."""
        if not self.database.in_transaction():
            raise RuntimeError("Outbox.publish_many must run inside the write transaction of the changes it reports")
        rows = [self._row(event) for event in events]
        for batch in pw.chunked(rows, chunk_size):
            tables(self.database).OutboxEvent.insert_many(batch).execute()
        return len(rows)

    def _row(self, event: Event) -> dict:
        if not isinstance(event, Event) or not event.topic:
            raise TypeError(f"publish() takes an Event subclass with a topic, got {type(event).__name__}")
        return {"event_id": str(uuid.uuid4()), "topic": event.topic, "source": self.source,
                "payload": json.dumps(event.payload(), sort_keys=True), "created_at": clock.to_db(clock.now()),
                "trace_context": tracing.current_traceparent(), "request_id": current_request_id() or ""}


def event_connection(database):
    """The connection the event machinery works on. PostgreSQL: borrowed from the pool for the block.
    SQLite: opened once per thread and kept. Closing it after each delivery made many threads open and
    close the same file all the time, and a WAL database's last connection takes an exclusive lock
    while it cleans up on close: a connection opening meanwhile gets "database is locked" at once,
    without waiting on the busy timeout (https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode).
    That was the flaky failure of the concurrent-relays test under load."""
    if kdb.is_postgres(database):
        return kdb.connection(database)
    database.connect(reuse_if_open=True)
    return contextlib.nullcontext(database)


@dataclass(frozen=True)
class PendingEvent:
    event_id: str
    topic: str
    created_at: dt.datetime  # aware UTC


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    topic: str
    subscriber: str
    attempts: int
    last_error: str
    created_at: dt.datetime | None  # None: the broker kept no time of publishing


@dataclass(frozen=True)
class QueueReport:
    """A module's queue on the broker: its dead letters, or why the broker could not tell."""
    queue: str
    dead_letters: tuple[DeadLetter, ...] = ()
    trouble: str | None = None


@dataclass(frozen=True)
class OutboxReport:
    #: deliveries still to make, plus events the relay has not yet turned into deliveries
    pending_deliveries: int
    events_not_fanned_out: int
    oldest_pending: PendingEvent | None
    dead_letters: tuple[DeadLetter, ...]
    #: the module's queue on the broker when one carries the events (what ``flightbook events`` lists), else None
    broker: QueueReport | None = None

    @property
    def backlog(self) -> int:
        return self.pending_deliveries + self.events_not_fanned_out


def report(database, dead_limit: int = 50) -> OutboxReport:
    t = tables(database)
    with event_connection(database):
        pending = t.OutboxDelivery.select().where(t.OutboxDelivery.status == PENDING).count()
        unfanned = t.OutboxEvent.select().where(t.OutboxEvent.fanned_out_at.is_null()).count()
        oldest = (t.OutboxEvent.select()
                  .where(t.OutboxEvent.fanned_out_at.is_null()
                         | t.OutboxEvent.id.in_(t.OutboxDelivery.select(t.OutboxDelivery.event)
                                                .where(t.OutboxDelivery.status == PENDING)))
                  .order_by(t.OutboxEvent.id).first())
        dead = (t.OutboxDelivery.select(t.OutboxDelivery, t.OutboxEvent).join(t.OutboxEvent)
                .where(t.OutboxDelivery.status == DEAD).order_by(t.OutboxDelivery.id).limit(dead_limit))
        letters = tuple(DeadLetter(d.event.event_id, d.event.topic, d.subscriber, d.attempts,
                                   d.last_error or "", clock.from_db(d.event.created_at)) for d in dead)
    oldest_pending = (PendingEvent(oldest.event_id, oldest.topic, clock.from_db(oldest.created_at))
                      if oldest else None)
    return OutboxReport(pending, unfanned, oldest_pending, letters)


def retry_dead_letter(database, event_id: str) -> int:
    """Put the dead deliveries of ``event_id`` back in the queue with a fresh set of attempts;
    returns how many were re-queued (0: no dead letter with that id here)."""
    t = tables(database)
    with event_connection(database), kdb.write_transaction(database):
        event = t.OutboxEvent.get_or_none(t.OutboxEvent.event_id == event_id)
        if event is None:
            return 0
        return _requeue_dead(t, t.OutboxDelivery.event == event.id)


def _requeue_dead(t, which) -> int:
    return (t.OutboxDelivery
            .update(status=PENDING, attempts=0, next_attempt_at=clock.to_db(clock.now()), locked_until=None,
                    claim=None)
            .where(which & (t.OutboxDelivery.status == DEAD))
            .execute())


def retry_all_dead_letters(database) -> int:
    """Put every dead delivery back in the queue with a fresh set of attempts; how many."""
    t = tables(database)
    with event_connection(database), kdb.write_transaction(database):
        return _requeue_dead(t, t.OutboxDelivery.id.is_null(False))


def pending_by_subscriber(database) -> dict[str, int]:
    """Deliveries still to make, per subscriber (``broker`` when a broker carries the events): a relay
    takes only those of its own destinations, so rows fanned out before a switch of transport wait here."""
    t = tables(database)
    with event_connection(database):
        rows = (t.OutboxDelivery.select(t.OutboxDelivery.subscriber, pw.fn.COUNT(t.OutboxDelivery.id).alias("n"))
                .where(t.OutboxDelivery.status == PENDING).group_by(t.OutboxDelivery.subscriber).tuples())
        return {subscriber: n for subscriber, n in rows}


@dataclass(frozen=True)
class EventRecord:
    """One event of the outbox, as an admin reads it."""
    event_id: str
    topic: str
    source: str
    created_at: dt.datetime
    payload: dict


def events_about(database, needle: str, limit: int = 100) -> list[EventRecord]:
    """The events whose payload names ``needle`` as a JSON string value (a booking ref), oldest first."""
    t = tables(database)
    with event_connection(database):
        rows = (t.OutboxEvent.select().where(t.OutboxEvent.payload.contains(f'"{needle}"'))
                .order_by(t.OutboxEvent.id).limit(limit))
        return [EventRecord(r.event_id, r.topic, r.source, clock.from_db(r.created_at), json.loads(r.payload))
                for r in rows]


class OutboxAdmin:
    """The admin console's view of a module's outbox, the same in every module's service (which holds ``uow``):
    the backlog and dead letters, and putting dead letters back; with a broker, its queue's dead letters too,
    as ``flightbook events`` shows and retries them."""
    uow: Any  # the module's UnitOfWork (kernel/uow.py imports this module, so not named here)
    #: the module's queue on the broker (kernel/consumer.py's BrokerQueue, which imports this module), handed over
    #: by the wiring when a broker carries the events
    broker_queue: Any = None

    def admin_events(self, caller: Principal) -> OutboxReport:
        require_admin(caller)
        found = report(self.uow.database)
        if self.broker_queue is None:
            return found
        return dataclasses.replace(found, broker=self.broker_queue.report())

    def admin_retry_events(self, caller: Principal, event_id: str | None = None) -> int:
        """The outbox's dead deliveries (``event_id``'s, or all) back in line, and the queue's on the broker."""
        require_admin(caller)
        if event_id is None:
            count = retry_all_dead_letters(self.uow.database)
        else:
            count = retry_dead_letter(self.uow.database, event_id)
        if self.broker_queue is not None:
            count += self.broker_queue.retry_for_admin(event_id)
        return count
