"""The broker in the wiring and the CLI: relays that publish to the exchange, one consumer per served module,
`migrate` declaring every queue, `consume`, and `events` with the broker's dead letters, on real databases
and the real RabbitMQ."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid

import pika
import pytest
from typer.testing import CliRunner

import cli
from flightbook import wiring
from flightbook.kernel import clock
from flightbook.kernel.broker import BrokerPublisher, connect
from flightbook.kernel.consumer import ATTEMPTS, ERROR
from flightbook.kernel.inbox import Inbox
from flightbook.kernel.outbox import DEAD, PENDING, tables
from flightbook.kernel.part import JobRunner, Loop
from flightbook.kernel.settings import Settings
from tests.brokerkit import wait_until
from tests.servers import FLIGHTBOOK, ROOT

NOWHERE = "amqp://guest:guest@127.0.0.1:9/%2F"


@pytest.fixture
def broker_env(env, broker) -> dict:
    return {**env, "FLIGHTBOOK_BROKER_URL": broker.url, "FLIGHTBOOK_BROKER_PREFIX": broker.topology.prefix}


def run(env, *args):
    return CliRunner().invoke(cli.app, list(args), env=env)


def outbox_row(database, source: str, status=None, subscriber: str = "loyalty") -> str:
    """A booking.expired event in ``source``'s outbox (with a delivery to ``subscriber`` in ``status``)."""
    event_id = str(uuid.uuid4())
    t = tables(database)
    with database.atomic():
        row = t.OutboxEvent.create(event_id=event_id, topic="booking.expired", source=source,
                                   payload='{"ref": "ABC234", "user_id": 1}', created_at=clock.to_db(clock.now()),
                                   fanned_out_at=clock.to_db(clock.now()) if status else None)
        if status:
            t.OutboxDelivery.create(event=row.id, subscriber=subscriber, status=status, attempts=10,
                                    next_attempt_at=clock.to_db(clock.now()), last_error="the test's dead letter")
    return event_id


def dead_on_the_broker(broker, subscriber: str) -> str:
    """A message in ``subscriber``'s dead-letter queue, as a consumer leaves it after its last attempt."""
    event_id = str(uuid.uuid4())
    connection = connect(broker.url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("", broker.topology.dead_queue(subscriber), b'{"ref": "ABC234", "user_id": 1}',
                              pika.BasicProperties(message_id=event_id, type="booking.expired", app_id="flights",
                                                   delivery_mode=2, headers={ATTEMPTS: 6, ERROR: "RuntimeError: x"}),
                              mandatory=True)
    finally:
        connection.close()
    return event_id


def test_with_a_broker_each_relay_publishes_to_the_exchange_and_each_module_with_handlers_consumes(broker_env):
    system = wiring.build_system(Settings.from_env(broker_env))
    try:
        relays = wiring.build_relays(system)
        assert set(relays) == {"flights", "payments", "loyalty"}
        for relay in relays.values():
            [destination] = relay.subscribers.values()
            assert isinstance(destination, BrokerPublisher)
            assert destination.topology.prefix == broker_env["FLIGHTBOOK_BROKER_PREFIX"]
        consumers = wiring.build_consumers(system)
        assert {name: set(c.topics) for name, c in consumers.items()} == {
            name: set(wiring.TOPICS[name]) for name in ("flights", "payments", "loyalty")}
        assert sorted(loop.name for loop in system.loops()) == ["consumer-flights", "consumer-loyalty",
                                                                "consumer-payments"]
    finally:
        system.close()
    alone = wiring.build_system(Settings.from_env({**broker_env, "FLIGHTBOOK_FLIGHTS_URL": "http://127.0.0.1:9"}),
                                serve="loyalty")
    try:
        assert list(wiring.build_consumers(alone)) == ["loyalty"] and list(wiring.build_relays(alone)) == ["loyalty"]
    finally:
        alone.close()


def test_without_a_broker_nothing_consumes_and_the_relays_deliver_to_each_subscriber(env):
    system = wiring.build_system(Settings.from_env(env))
    try:
        assert wiring.build_consumers(system) == {} and system.loops() == []
        assert set(wiring.build_relays(system)["flights"].subscribers) == {"flights", "payments", "loyalty"}
    finally:
        system.close()


def test_migrate_declares_every_modules_queue_and_a_broker_that_is_down_is_one_line(broker_env, broker):
    result = run(broker_env, "migrate")
    assert result.exit_code == 0, result.output
    assert f"broker: {broker.topology.queue('flights')}, {broker.topology.queue('payments')}, " \
           f"{broker.topology.queue('loyalty')} declared with their bindings" in result.output
    assert all(broker.depth(broker.topology.queue(m)) == 0 for m in ("flights", "payments", "loyalty"))

    down = run({**broker_env, "FLIGHTBOOK_BROKER_URL": NOWHERE}, "migrate")
    assert down.exit_code == 1
    assert down.output.splitlines()[-1].startswith("error: RabbitMQ at amqp://guest:***@127.0.0.1:9/%2F is not "
                                                   "reachable")


def test_consume_applies_what_the_relay_published_and_stops_on_sigterm(broker_env, open_db, database_urls):
    flights_db, loyalty_db = open_db("flights"), open_db("loyalty")
    assert run(broker_env, "migrate").exit_code == 0
    event_id = outbox_row(flights_db, "flights")
    relayed = run(broker_env, "relay", "--once")
    assert "flights: 1 new events, 1 delivered" in relayed.output, relayed.output
    consumer = subprocess.Popen([FLIGHTBOOK, "consume", "loyalty"], cwd=ROOT, env={**os.environ, **broker_env},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: Inbox(loyalty_db, "loyalty", {}).has_applied(event_id), what="the event applied")
    finally:
        consumer.send_signal(signal.SIGTERM)
        output, _ = consumer.communicate(timeout=30)
    assert consumer.returncode == 0, output
    assert "consuming loyalty from amqp://guest:***@" in output and "loyalty: 1 applied, 1 acknowledged" in output


def test_consume_without_a_broker_or_with_one_that_is_down_exits_with_one_line(env, broker_env):
    unset = run(env, "consume")
    assert unset.exit_code == 1 and unset.output.strip().splitlines() == [
        "error: FLIGHTBOOK_BROKER_URL is not set: without a broker, `flightbook relay` delivers the events"]
    down = run({**broker_env, "FLIGHTBOOK_BROKER_URL": NOWHERE}, "consume", "loyalty")
    assert down.exit_code == 1 and "error: RabbitMQ at amqp://guest:***@127.0.0.1:9/%2F is not reachable" in down.output
    assert run(broker_env, "consume", "gateway").exit_code == 1


def test_events_lists_the_brokers_dead_letters_and_retry_all_puts_both_kinds_back(broker_env, broker, open_db):
    flights_db = open_db("flights")
    assert run(broker_env, "migrate").exit_code == 0
    in_outbox = outbox_row(flights_db, "flights", DEAD, subscriber="broker")
    on_broker = dead_on_the_broker(broker, "loyalty")
    listed = run(broker_env, "events")
    assert listed.exit_code == 0, listed.output
    assert f"  dead {in_outbox} booking.expired -> broker after 10 attempts: the test's dead letter" in listed.output
    assert f"loyalty on the broker ({broker.topology.queue('loyalty')}): 1 dead" in listed.output
    assert f"  dead {on_broker} booking.expired -> loyalty after 6 attempts: RuntimeError: x" in listed.output
    assert f"payments on the broker ({broker.topology.queue('payments')}): 0 dead" in listed.output

    both = run(broker_env, "events", "--retry", on_broker, "--retry-all")
    assert both.exit_code == 1 and "not both" in both.output
    retried = run(broker_env, "events", "--retry-all")
    assert retried.exit_code == 0 and "re-queued 2 dead deliveries" in retried.output, retried.output
    assert broker.depth(broker.topology.dead_queue("loyalty")) == 0
    assert broker.depth(broker.topology.queue("loyalty")) == 1
    assert "0 dead" in run(broker_env, "events").output.splitlines()[0]


def test_events_retry_finds_a_dead_letter_on_the_broker_by_its_id(broker_env, broker):
    assert run(broker_env, "migrate").exit_code == 0
    event_id = dead_on_the_broker(broker, "payments")
    retried = run(broker_env, "events", "--retry", event_id)
    assert retried.exit_code == 0 and f"re-queued 1 dead delivery of event {event_id}" in retried.output
    assert run(broker_env, "events", "--retry", event_id).exit_code == 1  # gone from the dead letters


def test_events_counts_deliveries_left_for_the_other_transport_and_a_broker_down_is_one_line(
        env, broker_env, open_db):
    flights_db = open_db("flights")
    outbox_row(flights_db, "flights", PENDING, subscriber="loyalty")  # fanned out by the HTTP relay
    listed = run(broker_env, "events")
    assert "  1 pending deliveries were fanned out for the other transport: run `flightbook relay --once` " \
           "without FLIGHTBOOK_BROKER_URL to deliver them" in listed.output, listed.output
    assert "other transport" not in run(env, "events").output
    down = run({**broker_env, "FLIGHTBOOK_BROKER_URL": NOWHERE}, "events")
    assert down.exit_code == 1 and down.output.splitlines()[-1].startswith("error: RabbitMQ at ")


def test_job_runner_starts_a_failed_loop_again_and_stops_every_loop():
    runs, stopped = [], threading.Event()

    def flaky(stop):
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run fails")
        stop.wait()
        stopped.set()

    runner = JobRunner([], [Loop("flaky", flaky)])
    runner.restart_seconds = 0.05
    runner.start()
    wait_until(lambda: len(runs) == 2, what="the loop started again")
    runner.stop()
    assert stopped.is_set()
