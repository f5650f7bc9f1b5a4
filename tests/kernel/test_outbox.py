"""Publishing: the event exists exactly when the change it reports does."""
from __future__ import annotations

import json

import peewee as pw
import pytest

from flightbook.kernel import outbox as kout
from flightbook.kernel.db import write_transaction
from flightbook.kernel.events import Event
from flightbook.kernel.outbox import Outbox
from tests.kernel.eventkit import TOPIC, ThingHappened, effect_model


def test_publish_outside_a_transaction_is_refused(payments_db):
    with pytest.raises(RuntimeError, match="inside the write transaction"):
        Outbox(payments_db, "payments").publish(ThingHappened(1))
    assert kout.tables(payments_db).OutboxEvent.select().count() == 0


def test_publish_takes_only_events_with_a_topic(payments_db):
    with write_transaction(payments_db), pytest.raises(TypeError):
        Outbox(payments_db, "payments").publish(Event())


def test_published_event_commits_with_the_change(payments_db):
    change = effect_model(payments_db)
    with write_transaction(payments_db):
        change.create(n=7, subscriber="-")
        event_id = Outbox(payments_db, "payments").publish(ThingHappened(7))
    row = kout.tables(payments_db).OutboxEvent.get(kout.tables(payments_db).OutboxEvent.event_id == event_id)
    assert (row.topic, row.source, json.loads(row.payload)) == (TOPIC, "payments", {"n": 7})
    assert row.fanned_out_at is None and change.select().count() == 1


def test_event_rolls_back_with_the_change(payments_db):
    change = effect_model(payments_db)
    with pytest.raises(pw.IntegrityError):
        with write_transaction(payments_db):
            change.create(n=1, subscriber="-")
            Outbox(payments_db, "payments").publish(ThingHappened(1))
            change.create(n=None, subscriber="-")  # the change fails after publishing
    assert change.select().count() == 0
    assert kout.tables(payments_db).OutboxEvent.select().count() == 0
    assert kout.report(payments_db).backlog == 0


def test_event_ids_are_unique_uuids(payments_db):
    outbox = Outbox(payments_db, "payments")
    with write_transaction(payments_db):
        ids = [outbox.publish(ThingHappened(n)) for n in range(20)]
    assert len(set(ids)) == 20 and all(len(i) == 36 and i.count("-") == 4 for i in ids)
