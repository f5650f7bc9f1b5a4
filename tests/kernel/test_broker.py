"""Events through RabbitMQ: outbox -> relay -> topic exchange (publisher confirms) -> each module's own
quorum queue -> consumer -> inbox, on SQLite and PostgreSQL, against the real broker."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flightbook.kernel import outbox as kout
from flightbook.kernel.broker import BrokerPublisher, BrokerUnavailable, Topology, connect
from flightbook.kernel.consumer import Consumer, dead_letters, retry_dead_letters
from flightbook.kernel.http import current_request_id, request_id_of
from flightbook.kernel.inbox import Inbox
from flightbook.kernel.relay import Relay, RelayPolicy
from flightbook.kernel.settings import Settings, SettingsError
from tests.brokerkit import FAST_CONSUMER, publish_raw, running, wait_until
from tests.kernel.eventkit import FAST, TOPIC, Recorder, publish

ROOT = Path(__file__).resolve().parents[2]


def deliveries(database):
    t = kout.tables(database)
    return list(t.OutboxDelivery.select(t.OutboxDelivery, t.OutboxEvent).join(t.OutboxEvent)
                .order_by(t.OutboxDelivery.id))


def test_each_event_is_one_delivery_to_the_exchange_and_reaches_every_subscribing_queue(
        payments_db, loyalty_db, flights_db, broker):
    loyalty, flights = Recorder(loyalty_db, "loyalty"), Recorder(flights_db, "flights")
    consumers = [broker.consumer(loyalty_db, "loyalty", loyalty), broker.consumer(flights_db, "flights", flights)]
    for consumer in consumers:
        consumer.declare()
    publish(payments_db, "payments", *range(1, 6))
    result = Relay(payments_db, "payments", [broker.publisher()], FAST).run_once()
    assert (result.fanned_out, result.delivered) == (5, 5)
    assert [(d.subscriber, d.status) for d in deliveries(payments_db)] == [("broker", "delivered")] * 5
    assert broker.depth(broker.topology.queue("loyalty")) == broker.depth(broker.topology.queue("flights")) == 5

    with running(*consumers):
        wait_until(lambda: all(c.acked == 5 for c in consumers), what="both queues consumed")
    assert loyalty.applied() == flights.applied() == [1, 2, 3, 4, 5]
    assert loyalty.calls == flights.calls == [1, 2, 3, 4, 5]
    assert broker.depth(broker.topology.queue("loyalty")) == broker.depth(broker.topology.queue("flights")) == 0


def test_a_message_delivered_twice_is_applied_once(payments_db, loyalty_db, broker):
    handler = Recorder(loyalty_db, "loyalty")
    consumer = broker.consumer(loyalty_db, "loyalty", handler)
    consumer.declare()
    (event_id,) = publish(payments_db, "payments", 7)
    publisher = broker.publisher()
    assert Relay(payments_db, "payments", [publisher], FAST).run_once().delivered == 1
    publisher.deliver(kout.Message.of(deliveries(payments_db)[0].event))  # a relay's retry after a lost confirm
    assert broker.depth(broker.topology.queue("loyalty")) == 2

    with running(consumer):
        wait_until(lambda: consumer.acked == 2, what="both copies acknowledged")
    assert handler.applied() == [7] and handler.calls == [7] and consumer.applied == 1
    assert consumer.inbox.has_applied(event_id)
    assert broker.depth(broker.topology.queue("loyalty")) == 0


def test_a_message_carries_the_id_of_the_request_that_published_it(payments_db, loyalty_db, broker):
    seen = []
    handler = Recorder(loyalty_db, "loyalty")

    def handle(event):
        seen.append(current_request_id())
        handler(event)
    consumer = broker.consumer(loyalty_db, "loyalty", handle)
    consumer.declare()
    with request_id_of("pay-4712"):
        publish(payments_db, "payments", 8)
    assert Relay(payments_db, "payments", [broker.publisher()], FAST).run_once().delivered == 1
    with running(consumer):
        wait_until(lambda: consumer.acked == 1, what="the message consumed")
    assert seen == ["pay-4712"]


def test_event_nobody_subscribes_to_is_confirmed_and_goes_to_no_one(payments_db, broker):
    publish(payments_db, "payments", 1, 2)
    result = Relay(payments_db, "payments", [broker.publisher()], FAST).run_once()
    assert result.delivered == 2
    assert kout.report(payments_db).backlog == 0 and kout.report(payments_db).dead_letters == ()


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["before-commit", "after-commit"])
def test_consumer_killed_mid_message_then_restarted_applies_it_exactly_once(
        moment, payments_db, loyalty_db, database_urls, broker, tmp_path):
    handler = Recorder(loyalty_db, "loyalty")
    consumer = broker.consumer(loyalty_db, "loyalty", handler)
    consumer.declare()
    (event_id,) = publish(payments_db, "payments", 42)
    Relay(payments_db, "payments", [broker.publisher()], FAST).run_once()
    marker, log_path = tmp_path / "received", tmp_path / "child.log"
    with open(log_path, "w") as child_log:
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.brokerkit import consume_until_killed; "
                                   "consume_until_killed(*sys.argv[1:])",
             broker.topology.prefix, database_urls["loyalty"], str(marker), moment],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=child_log, stderr=child_log)
    try:
        wait_until(lambda: marker.exists() or child.poll() is not None, timeout=60, what="the child's consumer")
    finally:
        os.kill(child.pid, signal.SIGKILL)  # kill -9: no clean-up, no acknowledgement, no rollback by the child
        child.wait(timeout=30)
    assert marker.exists(), log_path.read_text()
    assert child.returncode == -signal.SIGKILL

    committed = moment == "after-commit"
    assert handler.applied() == ([42] if committed else [])
    assert consumer.inbox.has_applied(event_id) is committed
    with running(consumer):
        wait_until(lambda: consumer.acked == 1, what="the redelivery")
    assert handler.applied() == [42]
    assert handler.calls == ([] if committed else [42])  # after the commit the redelivery is a no-op
    assert broker.depth(broker.topology.queue("loyalty")) == 0


def test_poison_message_is_dead_lettered_after_its_attempts_listed_and_retried_after_a_fix(
        payments_db, loyalty_db, broker):
    broken, tried_at = {"on": True}, []
    recorder = Recorder(loyalty_db, "loyalty", fail_on=lambda event, calls: event.n in (2, 4) and broken["on"])

    def handler(event):
        if event.n == 2:
            tried_at.append(time.monotonic())
        recorder(event)

    consumer = broker.consumer(loyalty_db, "loyalty", handler)
    consumer.declare()
    ids = publish(payments_db, "payments", 1, 2, 3, 4)
    Relay(payments_db, "payments", [broker.publisher()], FAST).run_once()
    dead_queue = broker.topology.dead_queue("loyalty")
    with running(consumer):
        wait_until(lambda: broker.depth(dead_queue) == 2, what="two dead letters")
    assert sorted(recorder.applied()) == [1, 3]
    assert len(tried_at) == FAST_CONSUMER.attempts == 3
    gaps = [later - earlier for earlier, later in zip(tried_at, tried_at[1:])]
    assert all(gap >= delay for gap, delay in zip(gaps, FAST_CONSUMER.retry_delays)), gaps  # backed off

    letters = dead_letters(broker.url, broker.topology, "loyalty")
    assert sorted((d.event_id, d.topic, d.subscriber, d.attempts) for d in letters) == sorted(
        [(ids[1], TOPIC, "loyalty", 3), (ids[3], TOPIC, "loyalty", 3)])
    assert all(d.last_error.startswith("RuntimeError: handler failed part-way on") for d in letters)
    assert all(d.created_at is not None for d in letters)
    assert broker.depth(dead_queue) == 2  # listing leaves them where they are
    assert dead_letters(broker.url, broker.topology, "flights") == ()  # never declared: nothing dead

    broken["on"] = False
    assert retry_dead_letters(broker.url, broker.topology, "loyalty", ids[0]) == 0  # not dead
    assert retry_dead_letters(broker.url, broker.topology, "loyalty", ids[1]) == 1
    assert [d.event_id for d in dead_letters(broker.url, broker.topology, "loyalty")] == [ids[3]]
    assert retry_dead_letters(broker.url, broker.topology, "loyalty") == 1  # all the rest
    with running(consumer):
        wait_until(lambda: sorted(recorder.applied()) == [1, 2, 3, 4], what="the retried events applied")
    assert dead_letters(broker.url, broker.topology, "loyalty") == () and broker.depth(dead_queue) == 0


def test_a_message_that_is_no_event_is_dead_lettered_and_the_consumer_goes_on(payments_db, loyalty_db, broker):
    handler = Recorder(loyalty_db, "loyalty")
    consumer = broker.consumer(loyalty_db, "loyalty", handler)
    consumer.declare()
    publish_raw(broker, TOPIC, b"not json", message_id="not-a-uuid", type=TOPIC,
                headers={"flightbook-attempts": "many"})
    publish(payments_db, "payments", 5)
    Relay(payments_db, "payments", [broker.publisher()], FAST).run_once()
    with running(consumer):
        wait_until(lambda: broker.depth(broker.topology.dead_queue("loyalty")) == 1 and handler.applied() == [5],
                   what="the stray message dead and the event applied")
    (dead,) = dead_letters(broker.url, broker.topology, "loyalty")
    assert dead.event_id == "not-a-uuid" and dead.attempts == FAST_CONSUMER.attempts
    assert "JSONDecodeError" in dead.last_error


def test_two_consumers_of_one_queue_share_the_load_and_apply_each_event_once(payments_db, loyalty_db, broker):
    handler = Recorder(loyalty_db, "loyalty")
    # two instances of the subscriber: each its own connection and channel; the handler writes through
    # the subscriber's database object, as a module's handler does
    first, second = (broker.consumer(loyalty_db, "loyalty", handler) for _ in range(2))
    first.declare()
    count = 100
    with running(first, second):
        publish(payments_db, "payments", *range(count))
        Relay(payments_db, "payments", [broker.publisher()], RelayPolicy(batch_size=200)).run_once()
        wait_until(lambda: first.acked + second.acked == count, what="every event acknowledged")
    assert sorted(handler.calls) == sorted(handler.applied()) == list(range(count))
    assert first.applied > 0 and second.applied > 0 and first.applied + second.applied == count


@pytest.mark.slow
def test_broker_restart_mid_run_loses_nothing_and_applies_nothing_twice(
        payments_db, loyalty_db, broker, restartable_broker, caplog):
    caplog.set_level(logging.WARNING, logger="flightbook.consumer")
    handler = Recorder(loyalty_db, "loyalty")
    consumer = broker.consumer(loyalty_db, "loyalty", handler)
    consumer.declare()
    relay = Relay(payments_db, "payments", [broker.publisher()],
                  RelayPolicy(max_attempts=1000, backoff_seconds=0.2, max_backoff_seconds=1.0, batch_size=20))
    total, published, errors = 120, [], []

    def keep_publishing():
        for n in range(total):
            published.extend(publish(payments_db, "payments", n))
            time.sleep(0.05)

    def keep_relaying(stop):
        while not stop.is_set():
            try:
                relay.run_once()
            except Exception as exc:  # surfaced below
                errors.append(exc)
            stop.wait(0.05)

    with running(consumer) as stop:
        threads = [threading.Thread(target=keep_publishing), threading.Thread(target=keep_relaying, args=(stop,))]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(published) >= total // 4, what="a quarter published")
        restartable_broker(1.0)
        threads[0].join(timeout=60)
        wait_until(lambda: len(handler.applied()) >= total and kout.report(payments_db).backlog == 0,
                   timeout=90, what="every event applied after the restart")
    threads[1].join(timeout=30)
    relay.subscribers["broker"].close()
    assert errors == []
    assert sorted(handler.applied()) == list(range(total))  # nothing lost, nothing applied twice
    rows = deliveries(payments_db)
    assert {d.status for d in rows} == {"delivered"} and len(rows) == total
    assert max(d.attempts for d in rows) > 1  # the relay failed during the outage and published again
    assert any("consumer lost" in r.getMessage() for r in caplog.records)  # and the consumer reconnected
    assert broker.depth(broker.topology.queue("loyalty")) == 0


def test_without_a_broker_the_relay_keeps_its_rows_and_the_consumer_keeps_trying(payments_db, loyalty_db):
    nowhere = "amqp://guest:secret@127.0.0.1:9/%2F"
    with pytest.raises(BrokerUnavailable, match=r"^RabbitMQ at amqp://guest:\*\*\*@127.0.0.1:9/%2F is not reachable"):
        connect(nowhere)
    publish(payments_db, "payments", 1, 2)
    result = Relay(payments_db, "payments", [BrokerPublisher(nowhere, Topology("nowhere"))], FAST).run_once()
    assert (result.delivered, result.retried) == (0, 1)  # one try, the rest of the round skipped
    first, second = deliveries(payments_db)
    assert (first.status, first.attempts, second.attempts) == ("pending", 1, 0)
    assert first.last_error.startswith("unreachable: ") and "secret" not in first.last_error

    consumer = Consumer(nowhere, Topology("nowhere"), Inbox(loyalty_db, "loyalty", {}), [TOPIC], FAST_CONSUMER)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    time.sleep(0.5)
    assert not consumer.consuming.is_set()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_broker_settings_are_read_and_checked(tmp_path):
    base = {"FLIGHTBOOK_HOME": str(tmp_path), "FLIGHTBOOK_SECRET_KEY": "k" * 32, "FLIGHTBOOK_SERVICE_SECRET": "s" * 32}
    default = Settings.from_env(base)
    assert (default.broker_url, default.broker_prefix, default.broker_prefetch) == ("", "flightbook", 10)
    assert default.broker_retry_delays == (1.0, 5.0, 30.0, 120.0, 600.0)
    given = Settings.from_env({**base, "FLIGHTBOOK_BROKER_URL": "amqp://u:p@mq:5672/%2F",
                               "FLIGHTBOOK_BROKER_PREFIX": "staging", "FLIGHTBOOK_BROKER_PREFETCH": "3",
                               "FLIGHTBOOK_BROKER_RETRY_DELAYS": "0.5, 2,60"})
    assert (given.broker_url, given.broker_prefix, given.broker_prefetch, given.broker_retry_delays) == (
        "amqp://u:p@mq:5672/%2F", "staging", 3, (0.5, 2.0, 60.0))
    for name, value in [("FLIGHTBOOK_BROKER_URL", "http://mq:5672"), ("FLIGHTBOOK_BROKER_PREFIX", "no spaces"),
                        ("FLIGHTBOOK_BROKER_PREFETCH", "0"), ("FLIGHTBOOK_BROKER_RETRY_DELAYS", "1,-2"),
                        ("FLIGHTBOOK_BROKER_RETRY_DELAYS", "soon")]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**base, name: value})


@pytest.mark.slow
def test_publisher_whose_kept_connection_the_broker_dropped_publishes_on_a_fresh_one(payments_db, loyalty_db, broker):
    consumer = broker.consumer(loyalty_db, "loyalty", Recorder(loyalty_db, "loyalty"))
    consumer.declare()
    # heartbeat=1: an idle connection is dropped by the broker within seconds, as after a restart
    relay = Relay(payments_db, "payments", [BrokerPublisher(f"{broker.url}?heartbeat=1", broker.topology)], FAST)
    publish(payments_db, "payments", 1)
    assert relay.run_once().delivered == 1
    time.sleep(5)
    publish(payments_db, "payments", 2)
    assert relay.run_once().delivered == 1  # not "retried": the reconnection happened within the delivery
    assert broker.depth(broker.topology.queue("loyalty")) == 2
    relay.subscribers["broker"].close()
