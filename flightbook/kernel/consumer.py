"""The broker transport, subscriber side: a module's own queues on RabbitMQ, declared by the module from
the topics its handlers name, and consumers that apply each message through the module's Inbox.

The queues of subscriber ``loyalty`` (prefix ``flightbook``), all durable quorum queues:

- ``flightbook.loyalty``, bound to the exchange ``flightbook.events`` once per topic. A consumer takes
  messages with a prefetch limit, applies each through the Inbox (the effect and the event id commit
  together) and acks only after that commit: a consumer that dies before acking means a redelivery,
  which the inbox turns into a no-op. Consumers of one queue, in any number of processes, share it.
- ``flightbook.loyalty.retry-1000ms``, ... one per retry delay. A message whose handler failed is
  re-published to the queue of its next delay with its attempt count and error, then acked; the
  queue's message TTL dead-letters it back to ``flightbook.loyalty`` when the delay is up. One queue
  per delay because a queue expires messages from its head only: in a shared one a 1 s retry would
  wait behind a 10 min one. (RabbitMQ has no delayed delivery without a plugin.)
- ``flightbook.loyalty.dead``: a message after its last attempt, with its error; and a message the
  broker redelivered more than ``REDELIVERY_LIMIT`` times (its consumer died each time before it
  could even record a failure) through the main queue's delivery limit. ``dead_letters`` lists them,
  ``retry_dead_letters`` puts them back with a fresh set of attempts.

Dead-lettering between these queues is at-least-once (``x-dead-letter-strategy``), so a message
moved by the broker is never dropped on the way.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass

import pika
from pika.exceptions import AMQPError, ChannelClosedByBroker

from flightbook.kernel.broker import BrokerUnavailable, Topology, connect, declare_exchange, describe, redacted
from flightbook.kernel.errors import DomainError, Unavailable
from flightbook.kernel.events import EVENT_TYPES
from flightbook.kernel.inbox import Inbox, read_message
from flightbook.kernel.outbox import DeadLetter, QueueReport

log = logging.getLogger("flightbook.consumer")

ATTEMPTS = "flightbook-attempts"  # headers a consumer puts on a message it sets aside
ERROR = "flightbook-error"
#: redeliveries (consumer gone before acking) after which the broker dead-letters a message. Not a
#: setting: a queue's arguments cannot change once declared.
REDELIVERY_LIMIT = 20


@dataclass(frozen=True)
class ConsumerPolicy:
    #: seconds before the 2nd, 3rd, ... attempt; after the last, the message is dead
    retry_delays: tuple = (1.0, 5.0, 30.0, 120.0, 600.0)
    prefetch: int = 10
    reconnect_seconds: float = 0.5  # first pause after losing the broker; doubles up to the max
    max_reconnect_seconds: float = 10.0

    @property
    def attempts(self) -> int:
        return len(self.retry_delays) + 1


def _queue_arguments(dead_letter_to: str, **more) -> dict:
    return {"x-queue-type": "quorum", "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letter_to,
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish", **more}


def declare_queues(channel, topology: Topology, subscriber: str, topics, policy: ConsumerPolicy) -> None:
    """``subscriber``'s queues and bindings, as its handlers name them (idempotent: run on every start)."""
    declare_exchange(channel, topology)
    main, dead = topology.queue(subscriber), topology.dead_queue(subscriber)
    channel.queue_declare(dead, durable=True, arguments={"x-queue-type": "quorum"})
    for delay in policy.retry_delays:
        channel.queue_declare(topology.retry_queue(subscriber, delay), durable=True,
                              arguments=_queue_arguments(main, **{"x-message-ttl": round(delay * 1000)}))
    channel.queue_declare(main, durable=True, arguments=_queue_arguments(dead, **{"x-delivery-limit": REDELIVERY_LIMIT}))
    for topic in sorted(topics):
        channel.queue_bind(main, topology.exchange, routing_key=topic)
    # a topic the module no longer handles would only feed its dead letters
    for topic in sorted(set(EVENT_TYPES) - set(topics)):
        channel.queue_unbind(main, topology.exchange, routing_key=topic)


def declare_subscribers(url: str, topology: Topology, topics_by_subscriber: dict, policy: ConsumerPolicy) -> None:
    """Every subscriber's queues and bindings at once: what a deployment does before its first publisher
    runs (``flightbook migrate``), so no event is published while its subscriber's queue is missing."""
    try:
        with _channel(url) as channel:
            for subscriber, topics in topics_by_subscriber.items():
                declare_queues(channel, topology, subscriber, topics, policy)
    except AMQPError as exc:
        raise _trouble(url, exc) from None


class Consumer:
    """Applies the messages of ``inbox.subscriber``'s queue through ``inbox``. ``run`` blocks (a thread
    or a process of its own); each Consumer holds its own connection."""

    def __init__(self, url: str, topology: Topology, inbox: Inbox, topics, policy: ConsumerPolicy | None = None):
        self.url = url
        self.topology = topology
        self.inbox = inbox
        self.subscriber = inbox.subscriber
        self.topics = frozenset(topics)
        self.policy = policy or ConsumerPolicy()
        self.consuming = threading.Event()  # set while attached to the queue
        self.applied = 0  # messages whose effect committed now (not duplicates) since it was built
        self.acked = 0  # messages done with, whatever the outcome
        self.retried = 0  # of those, the ones set aside to a retry queue (they come back later)

    def declare(self) -> None:
        """Declare this subscriber's queues and bindings and return (before the first publisher runs)."""
        with _channel(self.url) as channel:
            declare_queues(channel, self.topology, self.subscriber, self.topics, self.policy)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, reconnecting by itself whenever the broker goes away."""
        pause = self.policy.reconnect_seconds
        while not stop.is_set():
            try:
                self._consume(stop)
                pause = self.policy.reconnect_seconds
            except (AMQPError, BrokerUnavailable) as exc:
                log.warning("%s consumer lost %s (%s); reconnecting in %.1f s", self.subscriber,
                            redacted(self.url), describe(exc), pause)
                stop.wait(pause)
                pause = min(pause * 2, self.policy.max_reconnect_seconds)

    def _consume(self, stop: threading.Event) -> None:
        connection = connect(self.url)
        try:
            channel = connection.channel()
            declare_queues(channel, self.topology, self.subscriber, self.topics, self.policy)
            channel.basic_qos(prefetch_count=self.policy.prefetch)
            set_aside = connection.channel()  # retries and dead letters, published with confirms
            set_aside.confirm_delivery()
            channel.basic_consume(self.topology.queue(self.subscriber),
                                  lambda _, method, properties, body: self._handle(
                                      channel, set_aside, method, properties, body))
            self.consuming.set()
            while not stop.is_set():
                connection.process_data_events(time_limit=0.5)
        finally:
            self.consuming.clear()
            _close(connection)

    def _handle(self, channel, set_aside, method, properties, body: bytes) -> None:
        attempt = _attempts(properties) + 1
        try:
            headers = properties.headers or {}
            message = read_message({"event_id": properties.message_id, "topic": properties.type,
                                    "source": properties.app_id or "", "payload": json.loads(body)},
                                   trace_context=str(headers.get("traceparent") or ""),
                                   request_id=str(headers.get("x-request-id") or ""))
            if properties.timestamp:
                message = dataclasses.replace(message, published_at=float(properties.timestamp))
            self.applied += self.inbox.receive(message)
        except Exception as exc:  # the handler's or the message's fault: retried later, then dead
            retried = self._set_aside(set_aside, properties, body, attempt, _error_text(exc))
        else:
            retried = False
        channel.basic_ack(method.delivery_tag)
        self.acked += 1
        self.retried += retried

    def _set_aside(self, channel, properties, body: bytes, attempt: int, error: str) -> bool:
        """Re-publish a failed message to its next retry queue (True), or to the dead letters after the last
        attempt (False); returns once the broker confirmed it (then the original is acked)."""
        retry = attempt < self.policy.attempts
        if not retry:
            target = self.topology.dead_queue(self.subscriber)
            log.error("%s gives up on %s %s after %d attempts: %s", self.subscriber, properties.type,
                      properties.message_id, attempt, error)
        else:
            target = self.topology.retry_queue(self.subscriber, self.policy.retry_delays[attempt - 1])
            log.warning("%s failed on %s %s (attempt %d of %d), retrying later: %s", self.subscriber,
                        properties.type, properties.message_id, attempt, self.policy.attempts, error)
        channel.basic_publish("", target, body, _with_headers(properties, {ATTEMPTS: attempt, ERROR: error}),
                              mandatory=True)
        return retry


def _attempts(properties) -> int:
    """The attempts a message has had so far, as our header says (0 when absent or unreadable)."""
    try:
        return max(int((properties.headers or {}).get(ATTEMPTS, 0)), 0)
    except (TypeError, ValueError):
        return 0


def _with_headers(properties, ours: dict):
    """A copy of the message's properties with ``ours`` in place of the headers we and the broker
    (x-death, x-delivery-count) put on it before."""
    headers = {k: v for k, v in (properties.headers or {}).items()
               if not k.startswith("x-") and k not in (ATTEMPTS, ERROR)}
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent, content_type=properties.content_type,
        message_id=properties.message_id, type=properties.type, app_id=properties.app_id,
        timestamp=properties.timestamp, headers={**headers, **ours})


def _error_text(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return f"{exc.code}: {exc.message}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


@contextlib.contextmanager
def _channel(url: str):
    connection = connect(url)
    try:
        yield connection.channel()
    finally:
        _close(connection)


def _close(connection) -> None:
    if connection.is_open:
        try:
            connection.close()
        except AMQPError:
            pass  # the broker is gone already


def _dead_count(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def dead_letters(url: str, topology: Topology, subscriber: str, limit: int = 50) -> tuple:
    """The first ``limit`` dead letters of ``subscriber`` on the broker, as ``outbox.DeadLetter``s. They
    are read without being acknowledged, so they stay where they are."""
    letters = []
    try:
        with _channel(url) as channel:
            for _ in range(min(_dead_count(channel, topology.dead_queue(subscriber)), limit)):
                method, properties, _body = channel.basic_get(topology.dead_queue(subscriber))
                if method is None:
                    break
                letters.append(_dead_letter(subscriber, properties))
    except ChannelClosedByBroker as exc:
        if exc.reply_code != 404:  # 404: the subscriber never declared its queues, so nothing is dead
            raise _trouble(url, exc) from None
    except AMQPError as exc:
        raise _trouble(url, exc) from None
    return tuple(letters)


def _trouble(url: str, exc: AMQPError) -> BrokerUnavailable:
    return BrokerUnavailable(f"RabbitMQ at {redacted(url)} failed: {describe(exc)}")


def _dead_letter(subscriber: str, properties) -> DeadLetter:
    headers = properties.headers or {}
    error = headers.get(ERROR)
    if error is None:  # dead-lettered by the broker itself: the delivery limit
        reason = headers.get("x-first-death-reason", "unknown")
        error = f"redelivered more than {REDELIVERY_LIMIT} times without an answer ({reason})"
    published = (dt.datetime.fromtimestamp(properties.timestamp, dt.timezone.utc)
                 if properties.timestamp else None)
    return DeadLetter(properties.message_id or "", properties.type or "", subscriber,
                      _attempts(properties), str(error), published)


def retry_dead_letters(url: str, topology: Topology, subscriber: str, event_id: str | None = None) -> int:
    """Put ``subscriber``'s dead letters (``event_id``'s, or all) back on its queue with a fresh set of
    attempts; returns how many. Only this subscriber sees them again, not every queue bound to the topic."""
    moved = 0
    try:
        with _channel(url) as channel:
            channel.confirm_delivery()
            dead = topology.dead_queue(subscriber)
            for _ in range(_dead_count(channel, dead)):
                method, properties, body = channel.basic_get(dead)
                if method is None:
                    break
                if event_id is None or properties.message_id == event_id:
                    channel.basic_publish("", topology.queue(subscriber), body,
                                          _with_headers(properties, {ATTEMPTS: 0}), mandatory=True)
                    channel.basic_ack(method.delivery_tag)
                    moved += 1
    except ChannelClosedByBroker as exc:
        if exc.reply_code != 404:
            raise _trouble(url, exc) from None
    except AMQPError as exc:
        raise _trouble(url, exc) from None
    return moved


@dataclass(frozen=True)
class BrokerQueue:
    """A subscriber's queue on the broker as an operator sees it: its dead letters, and putting them back. Both
    ``flightbook events`` and the admin console's events page go through it."""
    url: str
    topology: Topology
    subscriber: str

    @property
    def name(self) -> str:
        return self.topology.queue(self.subscriber)

    def dead_letters(self, limit: int = 50) -> tuple:
        return dead_letters(self.url, self.topology, self.subscriber, limit)

    def retry(self, event_id: str | None = None) -> int:
        return retry_dead_letters(self.url, self.topology, self.subscriber, event_id)

    def report(self, limit: int = 50) -> QueueReport:
        """Its dead letters, or why the broker could not tell (a page still shows the outboxes)."""
        try:
            return QueueReport(self.name, self.dead_letters(limit))
        except BrokerUnavailable as exc:
            return QueueReport(self.name, trouble=str(exc))

    def retry_for_admin(self, event_id: str | None = None) -> int:
        """``retry`` for an API caller: a broker that does not answer is a 503 ``unavailable``, not a fault."""
        try:
            return self.retry(event_id)
        except BrokerUnavailable as exc:
            raise Unavailable(str(exc)) from None
