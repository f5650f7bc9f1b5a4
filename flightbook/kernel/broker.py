"""The broker transport, publisher side: when ``FLIGHTBOOK_BROKER_URL`` names a RabbitMQ, a module's relay
hands each outbox row to one durable topic exchange (routing key = the event's topic) instead of to each
subscriber. Publishers know no subscribers: every module declares its own queue and bindings
(``consumer.py``).

    relay = Relay(database, "payments", [BrokerPublisher(url, Topology("flightbook"))])

The outbox then has one destination, the exchange: the relay's fan-out gives each event a single delivery
row (to ``broker``), and the relay's claim/lease, backoff and dead letters work on it unchanged, so several
relays of one module still compete safely for rows. A row is marked delivered once ``deliver`` returns,
which it does only after the broker confirmed the message (publisher confirms).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError

from flightbook.kernel.outbox import Message
from flightbook.kernel.relay import SubscriberUnreachable
from flightbook.kernel.settings import BROKER_NAME

log = logging.getLogger("flightbook.broker")
# pika logs every failed connection attempt at ERROR with a traceback; the transport reports each failure
# itself in one line (and retries), so a broker restart does not fill the log with pika's stack traces
logging.getLogger("pika").setLevel(logging.CRITICAL)


class BrokerUnavailable(Exception):
    """The broker cannot be reached (or refused the connection); the message is one line."""


@dataclass(frozen=True)
class Topology:
    """The names of everything a deployment keeps on the broker, under one prefix, so several
    deployments (or test runs) can share one RabbitMQ without seeing each other's events."""
    prefix: str = "flightbook"

    def __post_init__(self):
        if not BROKER_NAME.match(self.prefix):
            raise ValueError(f"broker prefix {self.prefix!r}: letters, digits, '.', '_' and '-' only")

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    def queue(self, subscriber: str) -> str:
        return f"{self.prefix}.{subscriber}"

    def dead_queue(self, subscriber: str) -> str:
        return f"{self.prefix}.{subscriber}.dead"

    def retry_queue(self, subscriber: str, delay_seconds: float) -> str:
        return f"{self.prefix}.{subscriber}.retry-{round(delay_seconds * 1000)}ms"


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()


def connect(url: str) -> pika.BlockingConnection:
    """A blocking connection, failing within seconds when the broker is down (the URL's own
    ``socket_timeout`` etc. win over these defaults)."""
    params = pika.URLParameters(url)
    given = parse_qs(urlparse(url).query)
    defaults = {"socket_timeout": 3.0, "stack_timeout": 5.0, "blocked_connection_timeout": 30.0,
                "connection_attempts": 1}
    for name, value in defaults.items():
        if name not in given:
            setattr(params, name, value)
    try:
        return pika.BlockingConnection(params)
    except AMQPError as exc:
        raise BrokerUnavailable(f"RabbitMQ at {redacted(url)} is not reachable: {describe(exc)}") from None


def describe(exc: BaseException) -> str:
    """One line for a pika error, naming its root cause: pika wraps the socket's error two levels deep."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    exc = getattr(exc, "exception", None) or exc
    text = " ".join((str(exc) or repr(exc)).split())
    return f"{type(exc).__name__}: {text}"[:300]


def declare_exchange(channel, topology: Topology) -> None:
    channel.exchange_declare(topology.exchange, exchange_type="topic", durable=True)


class EveryTopic:
    """The topics a BrokerPublisher takes: all of them (the exchange routes each to its subscribers)."""

    def __contains__(self, topic) -> bool:
        return True


class BrokerPublisher:
    """The relay's one destination when a broker carries the events. Not thread-safe: one per relay.

    Unroutable messages (``mandatory``): the exchange returns a message no queue is bound for, which
    means no module subscribes to that topic (several events are published for the record only). It
    counts as delivered, as an event nobody subscribes to is fanned out to no one by the relay without a
    broker. Every module's queue must therefore exist before events it wants are published: a subscriber
    declares it on every start, and the deployment declares all of them once before the first publisher
    runs (``Consumer.declare``), as it migrates the databases."""

    name = "broker"
    topics = EveryTopic()

    def __init__(self, url: str, topology: Topology):
        self.url = url
        self.topology = topology
        self._connection = None
        self._channel = None
        self._unrouted_topics: set[str] = set()

    def deliver(self, message: Message) -> None:
        """Publish ``message`` and return once the broker confirmed it; raise otherwise (the relay retries)."""
        kept = self._channel is not None
        try:
            self._publish(message)
            return
        except (AMQPError, BrokerUnavailable) as exc:
            self.close()
            if not kept:
                raise SubscriberUnreachable(describe(exc)) from None
        # the connection kept since an earlier round had gone (broker restarted, idle connection
        # dropped): once more on a fresh one before giving up this round
        try:
            self._publish(message)
        except (AMQPError, BrokerUnavailable) as exc:
            self.close()
            raise SubscriberUnreachable(describe(exc)) from None

    def _publish(self, message: Message) -> None:
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json",
            message_id=message.event_id, type=message.topic, app_id=message.source, timestamp=int(time.time()),
            headers=_headers(message))
        body = json.dumps(message.payload, sort_keys=True).encode()
        try:
            self._open().basic_publish(self.topology.exchange, message.topic, body, properties, mandatory=True)
        except UnroutableError:
            if message.topic not in self._unrouted_topics:
                self._unrouted_topics.add(message.topic)
                log.info("no queue is bound for %s on %s: nobody subscribes to it, its events go to no one",
                         message.topic, self.topology.exchange)
        except NackError:
            raise RuntimeError(f"the broker refused {message.topic} {message.event_id} (nack)") from None

    def _open(self):
        if self._channel is None or not self._channel.is_open:
            self.close()
            self._connection = connection = connect(self.url)
            channel = connection.channel()
            declare_exchange(channel, self.topology)
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except AMQPError:
                pass  # already gone; nothing to give back


def _headers(message: Message) -> dict | None:
    """The message's trace context and the id of the request it was published in, where it has them."""
    headers = {name: value for name, value in (("traceparent", message.trace_context),
                                                ("x-request-id", message.request_id)) if value}
    return headers or None
