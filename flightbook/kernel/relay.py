"""The relay: carries a module's outbox to the subscribers of each topic, at least once.

One round (``run_once``):
1. fan out: each new outbox row becomes one delivery per subscriber of its topic, so a slow or
   failing subscriber never holds back the others;
2. claim a batch of due deliveries, oldest first, under a lease (PostgreSQL: ``FOR UPDATE SKIP
   LOCKED``; both: a conditional UPDATE that only takes rows nobody holds), so several relays
   can run at once without delivering the same row twice;
3. deliver each: in process through the subscriber's Inbox, or ``POST <url>/api/events``;
   success -> delivered; failure -> retried with exponential backoff, dead after
   ``max_attempts`` (``flightbook events --retry`` re-queues it).

A relay that dies mid-batch leaves its lease to expire; the rows are then claimed again and
the subscriber's inbox turns a repeated delivery into a no-op.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from playhouse.shortcuts import chunked

from flightbook.kernel import clock, data, db as kdb, tracing
from flightbook.kernel.errors import DomainError, Unavailable
from flightbook.kernel.httpclient import ServiceClient
from flightbook.kernel.inbox import Inbox
from flightbook.kernel.outbox import DEAD, DELIVERED, PENDING, Message, event_connection, tables

log = logging.getLogger("flightbook.relay")


@dataclass(frozen=True)
class RelayPolicy:
    max_attempts: int = 10
    backoff_seconds: float = 1.0  # first retry; doubles each attempt
    max_backoff_seconds: float = 600.0
    lease_seconds: float = 60.0  # a claimed batch not acknowledged by then is claimed again
    batch_size: int = 100
    interval_seconds: float = 1.0  # pause between rounds in `serve` and `flightbook relay`

    def backoff(self, attempts: int) -> dt.timedelta:
        return dt.timedelta(seconds=min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.max_backoff_seconds))


@dataclass
class RoundResult:
    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def __iadd__(self, other: "RoundResult"):
        for name in ("fanned_out", "delivered", "retried", "dead"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def touched(self) -> int:
        return self.fanned_out + self.delivered + self.retried + self.dead


class SubscriberUnreachable(Exception):
    """No instance of the subscriber answered: skip its other deliveries this round."""


class LocalSubscriber:
    """A subscriber in this process: its handler runs through its Inbox, in its own database."""

    def __init__(self, inbox: Inbox, topics):
        self.name = inbox.subscriber
        self.inbox = inbox
        self.topics = frozenset(topics)

    def deliver(self, message: Message) -> None:
        self.inbox.receive(message)


class HttpSubscriber:
    """A subscriber in another process: ``POST <url>/api/events`` with a service token, through the same pooled
    client as every call between parts (its instances in turn, one that fails benched for a while; a delivery
    is idempotent, the inbox applies an event once, so a timeout moves on to the next instance)."""

    def __init__(self, name: str, urls, topics, tokens, source: str, *, connect_timeout: float = 2.0,
                 read_timeout: float = 10.0):
        self.name = name
        self.urls = tuple(urls)
        self.topics = frozenset(topics)
        self._tokens = tokens
        self._source = source
        self._http = ServiceClient(name, self.urls, tokens, source, connect_timeout=connect_timeout,
                                   read_timeout=read_timeout)

    def deliver(self, message: Message) -> None:
        token = self._tokens.service_token(self._source, self.name)
        body = {k: v for k, v in data.to_dict(message).items() if k not in ("trace_context", "request_id")}
        try:
            resp = self._http.send("POST", "/api/events", json=body, headers=_headers(token, message),
                                   idempotent=True)
        except Unavailable as exc:
            raise SubscriberUnreachable(str(exc)) from None
        if 200 <= resp.status_code < 300:
            return
        raise RuntimeError(f"{self.name} answered {resp.status_code}: {_error_text(resp)}")


def _headers(token: str, message: Message) -> dict:
    """The delivery's bearer, the trace context and the id of the request the event was published in."""
    headers = tracing.inject({"Authorization": f"Bearer {token}"})
    if message.request_id:
        headers["X-Request-ID"] = message.request_id
    return headers


def _error_text(resp) -> str:
    try:
        error = resp.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return resp.content[:200].decode(errors="replace")


class Relay:
    """Delivers the outbox in ``database`` (published by ``source``) to ``subscribers``."""

    def __init__(self, database, source: str, subscribers, policy: RelayPolicy | None = None):
        self.database = database
        self.source = source
        self.subscribers = {s.name: s for s in subscribers}
        self.policy = policy or RelayPolicy()
        self._t = tables(database)

    def run_once(self, now: dt.datetime | None = None) -> RoundResult:
        """One round: fan out new events, then claim and deliver one batch of due deliveries."""
        now = now or clock.now()
        with event_connection(self.database):
            result = RoundResult(fanned_out=self._fan_out(now))
            claim, batch = self._claim(now)
            unreachable: set[str] = set()
            delivered = []
            for delivery in batch:
                if delivery.subscriber in unreachable:
                    self._release(delivery, claim)
                    continue
                outcome = self._deliver(delivery, claim, now, unreachable)
                if outcome == "delivered":
                    delivered.append(delivery.id)
                setattr(result, outcome, getattr(result, outcome) + 1)
            self._acknowledge(delivered, claim)
        return result

    def drain(self, max_rounds: int = 100) -> RoundResult:
        """Rounds until nothing is due (or ``max_rounds``): what a background job runs."""
        total = RoundResult()
        for _ in range(max_rounds):
            result = self.run_once()
            total += result
            if result.delivered + result.retried + result.dead < self.policy.batch_size and not result.fanned_out:
                break
        return total

    def _locking(self, query):
        # SKIP LOCKED lets concurrent relays take different rows instead of queueing on each other;
        # SQLite has no row locks (BEGIN IMMEDIATE already serialises writers).
        return query.for_update(skip_locked=True) if kdb.is_postgres(self.database) else query

    def _fan_out(self, now) -> int:
        Event, Delivery = self._t.OutboxEvent, self._t.OutboxDelivery
        with kdb.write_transaction(self.database):
            rows = list(self._locking(Event.select(Event.id, Event.topic).where(Event.fanned_out_at.is_null())
                                      .order_by(Event.id).limit(self.policy.batch_size)))
            if not rows:
                return 0
            due = clock.to_db(now)
            deliveries = [{"event": row.id, "subscriber": name, "next_attempt_at": due}
                          for row in rows for name, sub in self.subscribers.items() if row.topic in sub.topics]
            for chunk in chunked(deliveries, 500):
                Delivery.insert_many(chunk).on_conflict_ignore().execute()
            Event.update(fanned_out_at=due).where(Event.id.in_([row.id for row in rows])).execute()
        return len(rows)

    def _claim(self, now):
        Delivery = self._t.OutboxDelivery
        claim, at = uuid.uuid4().hex, clock.to_db(now)
        free = Delivery.locked_until.is_null() | (Delivery.locked_until <= at)
        due = ((Delivery.status == PENDING) & (Delivery.next_attempt_at <= at) & free
               & Delivery.subscriber.in_(list(self.subscribers)))
        with kdb.write_transaction(self.database):
            ids = [row.id for row in self._locking(Delivery.select(Delivery.id).where(due)
                                                   .order_by(Delivery.id).limit(self.policy.batch_size))]
            if not ids:
                return claim, []
            lease = clock.to_db(now + dt.timedelta(seconds=self.policy.lease_seconds))
            # conditional: a row another relay leased since our SELECT is not taken twice
            Delivery.update(claim=claim, locked_until=lease).where(Delivery.id.in_(ids) & due).execute()
        batch = (Delivery.select(Delivery, self._t.OutboxEvent).join(self._t.OutboxEvent)
                 .where((Delivery.claim == claim) & (Delivery.status == PENDING)).order_by(Delivery.id))
        return claim, list(batch)

    def _deliver(self, delivery, claim: str, now, unreachable: set) -> str:
        """"delivered" (acknowledged with the rest of the batch), "retried" or "dead"."""
        message = Message.of(delivery.event)
        try:
            with tracing.span(f"deliver {message.topic}", tracing.SpanKind.PRODUCER, message.trace_context,
                              **{"messaging.destination.name": delivery.subscriber,
                                 "messaging.message.id": message.event_id}):
                self.subscribers[delivery.subscriber].deliver(message)
        except SubscriberUnreachable as exc:
            unreachable.add(delivery.subscriber)
            return self._failed(delivery, claim, now, f"unreachable: {exc}")
        except DomainError as exc:
            return self._failed(delivery, claim, now, f"{exc.code}: {exc.message}")
        except Exception as exc:  # a handler's bug must not stop the relay; it is retried and reported
            log.warning("delivery of %s %s to %s failed: %r", message.topic, message.event_id,
                        delivery.subscriber, exc)
            return self._failed(delivery, claim, now, f"{type(exc).__name__}: {exc}")
        return "delivered"

    def _failed(self, delivery, claim: str, now, error: str) -> str:
        attempts = delivery.attempts + 1
        if attempts >= self.policy.max_attempts:
            log.error("parking %s %s for %s as dead after %d attempts: %s", delivery.event.topic,
                      delivery.event.event_id, delivery.subscriber, attempts, error)
            self._settle(delivery, claim, status=DEAD, attempts=attempts, last_error=error[:2000])
            return "dead"
        self._settle(delivery, claim, attempts=attempts, last_error=error[:2000],
                     next_attempt_at=clock.to_db(now + self.policy.backoff(attempts)))
        return "retried"

    def _acknowledge(self, ids: list, claim: str) -> None:
        """One write for the batch's successes: a crash before it only means redeliveries (no-ops)."""
        if not ids:
            return
        Delivery = self._t.OutboxDelivery
        with kdb.write_transaction(self.database):
            (Delivery.update(status=DELIVERED, attempts=Delivery.attempts + 1, delivered_at=clock.to_db(clock.now()),
                             last_error=None, claim=None, locked_until=None)
             .where(Delivery.id.in_(ids) & (Delivery.claim == claim)).execute())

    def _release(self, delivery, claim: str) -> None:
        self._settle(delivery, claim)

    def _settle(self, delivery, claim: str, **changes) -> None:
        """Update a delivery we still hold (if our lease ran out and another relay took it, leave it)."""
        Delivery = self._t.OutboxDelivery
        with kdb.write_transaction(self.database):
            (Delivery.update(claim=None, locked_until=None, **changes)
             .where((Delivery.id == delivery.id) & (Delivery.claim == claim)).execute())

