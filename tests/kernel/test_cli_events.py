"""`flightbook events` and `flightbook relay` on real databases."""
from __future__ import annotations

import re

from typer.testing import CliRunner

import cli
from flightbook.kernel import outbox as kout
from flightbook.kernel.relay import Relay, RelayPolicy
from tests.kernel.eventkit import publish


class AlwaysFails:
    name, topics = "loyalty", frozenset({"kerneltest.thing_happened"})

    def deliver(self, message):
        raise RuntimeError("loyalty is having a bad day")


def run(env, *args):
    return CliRunner().invoke(cli.app, list(args), env=env)


def test_events_lists_dead_letters_and_retry_requeues_one(env, open_db):
    flights_db = open_db("flights")
    dead_id, _ = publish(flights_db, "flights", 1, 2)
    Relay(flights_db, "flights", [AlwaysFails()], RelayPolicy(max_attempts=1, batch_size=1)).run_once()

    listed = run(env, "events")
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith("flights:"))
    assert re.search(r"backlog 1, oldest pending \S+ kerneltest.thing_happened since \S+Z, 1 dead", line)
    assert f"dead {dead_id} kerneltest.thing_happened -> loyalty after 1 attempts: RuntimeError" in listed.output

    retried = run(env, "events", "--retry", dead_id)
    assert retried.exit_code == 0 and "re-queued 1 dead delivery" in retried.output
    report = kout.report(flights_db)
    assert report.dead_letters == () and report.backlog == 2 and report.oldest_pending.event_id == dead_id

    again = run(env, "events", "--retry", dead_id)
    assert again.exit_code == 1 and "no dead letter with event id" in again.output
    bad = run(env, "events", "--retry", "42")
    assert bad.exit_code == 1 and "takes an event id" in bad.output


def test_relay_once_delivers_what_is_due_and_exits(env, open_db):
    flights_db = open_db("flights")
    publish(flights_db, "flights", 1, 2, 3)
    result = run(env, "relay", "--once")
    assert result.exit_code == 0, result.output
    assert "flights: 3 new events, 0 delivered" in result.output  # no module subscribes to the test topic
    assert kout.report(flights_db).backlog == 0
