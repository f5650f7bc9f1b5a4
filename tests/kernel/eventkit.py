"""A test-only event, a subscriber whose handler leaves a visible effect, and builders around them,
so the kernel's outbox/relay/inbox can be tested on their own, on real databases."""
from __future__ import annotations

import dataclasses
import threading

import peewee as pw

from flightbook.kernel.db import open_database, write_transaction
from flightbook.kernel.events import Event
from flightbook.kernel.inbox import Inbox
from flightbook.kernel.outbox import Outbox
from flightbook.kernel.relay import LocalSubscriber, RelayPolicy

TOPIC = "kerneltest.thing_happened"
FAST = RelayPolicy(max_attempts=3, backoff_seconds=1.0, max_backoff_seconds=60, lease_seconds=30, batch_size=50)


@dataclasses.dataclass(frozen=True)
class ThingHappened(Event):
    topic = TOPIC
    n: int


def effect_model(database):
    """The table a handler writes to: one row per application of an event."""
    bound = database

    class Effect(pw.Model):
        n = pw.IntegerField()
        subscriber = pw.CharField(max_length=40)

        class Meta:
            database = bound
            table_name = "kerneltest_effect"

    Effect.create_table(safe=True)
    return Effect


class Recorder:
    """A subscriber's handler: writes an Effect row (inside the inbox's transaction) and counts calls;
    ``fail_on`` makes it raise for some events after writing, to prove the write is rolled back."""

    def __init__(self, database, name: str, fail_on=lambda event, calls: False):
        self.effect = effect_model(database)
        self.name = name
        self.calls = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def __call__(self, event: ThingHappened):
        with self._lock:
            self.calls.append(event.n)
            calls = self.calls.count(event.n)
        self.effect.create(n=event.n, subscriber=self.name)
        if self.fail_on(event, calls):
            raise RuntimeError(f"handler failed part-way on {event.n}")

    def applied(self) -> list[int]:
        return [row.n for row in self.effect.select().where(self.effect.subscriber == self.name)
                .order_by(self.effect.id)]


def subscriber(database, name: str, handler) -> LocalSubscriber:
    return LocalSubscriber(Inbox(database, name, {TOPIC: handler}), [TOPIC])


def publish(database, source: str, *numbers: int) -> list[str]:
    outbox = Outbox(database, source)
    ids = []
    for n in numbers:
        with write_transaction(database):
            ids.append(outbox.publish(ThingHappened(n)))
    return ids


def crash_after_commit(publisher_url: str, subscriber_url: str) -> None:
    """Run in a child process: deliver one round, and die (no clean-up, no acknowledgement) right
    after the subscriber's transaction has committed."""
    import os

    from flightbook.kernel.relay import Relay

    publisher, subscriber_db = open_database(publisher_url), open_database(subscriber_url)
    inner = subscriber(subscriber_db, "loyalty", Recorder(subscriber_db, "loyalty"))

    class DiesAfterCommit:
        name, topics = inner.name, inner.topics

        def deliver(self, message):
            inner.deliver(message)
            os._exit(9)

    Relay(publisher, "payments", [DiesAfterCommit()], FAST).run_once()
    os._exit(3)  # not reached when there was something to deliver
