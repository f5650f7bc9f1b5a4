"""The real RabbitMQ for the tests that use it: a scratch set of names per test or deployment (deleted
after it), consumers run on threads, a consumer in a child process that dies when told, and the broker's
restart.

Tests that use the broker hold a shared lock on a file; the test that restarts it holds the lock alone,
so a restart never pulls the broker from under another test (another xdist worker, another checkout)."""
from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pika

from flightbook.kernel.broker import BrokerPublisher, BrokerUnavailable, Topology, connect
from flightbook.kernel.consumer import Consumer, ConsumerPolicy
from flightbook.kernel.inbox import Inbox
from tests.kernel.eventkit import TOPIC

BROKER_URL = os.environ.get("FLIGHTBOOK_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672/%2F")
LOCK_FILE = Path("/tmp/flightbook-test-rabbitmq.lock")
FAST_CONSUMER = ConsumerPolicy(retry_delays=(0.2, 0.4), prefetch=10, reconnect_seconds=0.2,
                               max_reconnect_seconds=1.0)
SUBSCRIBERS = ("flights", "payments", "loyalty")


def unreachable_reason() -> str | None:
    """None when the test broker answers, else one line saying why not (seconds, never a hang)."""
    try:
        connect(BROKER_URL).close()
    except BrokerUnavailable as exc:
        return str(exc)
    return None


def depth(url: str, queue: str) -> int:
    """Messages ready in ``queue`` (acknowledged ones are gone; unacknowledged ones are not counted)."""
    connection = connect(url)
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


class _Lock:
    """This process's hold on the lock file. Tests (and a module's deployment) hold it shared; the test that
    restarts the broker turns this process's hold exclusive for the restart and back again, so a deployment
    that holds it for a whole module can be restarted by that module's own test."""

    def __init__(self):
        self._handle = None
        self._shared = 0

    @contextlib.contextmanager
    def hold(self, exclusive: bool):
        if self._handle is None:
            self._handle = open(LOCK_FILE, "a")
        fd = self._handle.fileno()
        if exclusive:
            fcntl.flock(fd, fcntl.LOCK_EX)  # from shared, Linux lets go of it first: two such never deadlock
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_SH if self._shared else fcntl.LOCK_UN)
            return
        if not self._shared:
            fcntl.flock(fd, fcntl.LOCK_SH)
        self._shared += 1
        try:
            yield
        finally:
            self._shared -= 1
            if not self._shared:
                fcntl.flock(fd, fcntl.LOCK_UN)


_lock = _Lock()


def broker_lock(exclusive: bool):
    return _lock.hold(exclusive)


class Scratch:
    """One test's corner of the broker: its own prefix, so its exchange and queues are its alone."""

    def __init__(self, worker: str, retry_delays=()):
        self.url = BROKER_URL
        self.topology = Topology(f"fbtest-{worker}-{uuid.uuid4().hex[:8]}")
        self._consumers: list[Consumer] = []
        self.retry_delays = set(retry_delays)  # of its retry queues, besides those of the consumers made here

    def publisher(self) -> BrokerPublisher:
        return BrokerPublisher(self.url, self.topology)

    def consumer(self, database, name: str, handler, policy: ConsumerPolicy = FAST_CONSUMER) -> Consumer:
        consumer = Consumer(self.url, self.topology, Inbox(database, name, {TOPIC: handler}), [TOPIC], policy)
        self._consumers.append(consumer)
        return consumer

    def depth(self, queue: str) -> int:
        return depth(self.url, queue)

    def delete(self) -> None:
        connection = connect(self.url)
        try:
            channel = connection.channel()
            # and the default ones: `flightbook migrate` and consumers built by the wiring declare those
            delays = {d for c in self._consumers for d in c.policy.retry_delays} | set(FAST_CONSUMER.retry_delays)
            delays |= set(ConsumerPolicy().retry_delays)
            delays |= self.retry_delays
            for name in SUBSCRIBERS:
                queues = [self.topology.queue(name), self.topology.dead_queue(name)]
                queues += [self.topology.retry_queue(name, d) for d in sorted(delays)]
                for queue in queues:
                    channel.queue_delete(queue)
            channel.exchange_delete(self.topology.exchange)
        finally:
            connection.close()


@contextlib.contextmanager
def running(*consumers: Consumer, timeout: float = 20.0):
    """Consumers on threads of their own, attached to their queue before the block starts."""
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in consumers]
    for thread in threads:
        thread.start()
    try:
        for consumer in consumers:
            assert consumer.consuming.wait(timeout), f"{consumer.subscriber} consumer never attached"
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=timeout)
        assert not any(t.is_alive() for t in threads), "a consumer did not stop"


def wait_until(condition, timeout: float = 30.0, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def restart_broker(pause: float) -> None:
    """``rabbitmqctl stop_app``, ``pause`` seconds, ``start_app``: started again whatever happens."""
    run = lambda *args: subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)
    run("stop_app")
    try:
        time.sleep(pause)
    finally:
        run("start_app")
        run("await_startup")


def consume_until_killed(prefix: str, subscriber_url: str, marker: str, moment: str) -> None:
    """Run in a child process: a loyalty consumer that, on its first message, writes ``marker`` and waits
    to be killed, either inside the inbox's transaction (``before-commit``: the effect is written but not
    committed) or after the commit and before the acknowledgement (``after-commit``)."""
    from flightbook.kernel.db import open_database
    from tests.kernel.eventkit import Recorder

    database = open_database(subscriber_url)
    recorder = Recorder(database, "loyalty")

    def wait_for_the_kill(event):
        Path(marker).write_text(str(event.n))
        time.sleep(600)

    def handler(event):
        recorder(event)
        if moment == "before-commit":
            wait_for_the_kill(event)

    inbox = Inbox(database, "loyalty", {TOPIC: handler})
    if moment == "after-commit":
        receive = inbox.receive

        def receive_then_wait(message):
            receive(message)
            wait_for_the_kill(type("Event", (), {"n": message.payload["n"]}))

        inbox.receive = receive_then_wait
    Consumer(BROKER_URL, Topology(prefix), inbox, [TOPIC], FAST_CONSUMER).run(threading.Event())


def publish_raw(scratch: Scratch, routing_key: str, body: bytes, **properties) -> None:
    """A message put on the exchange by hand (a duplicate, or one that is not a flightbook event)."""
    connection = connect(scratch.url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(scratch.topology.exchange, routing_key, body,
                              pika.BasicProperties(delivery_mode=2, **properties), mandatory=True)
    finally:
        connection.close()
