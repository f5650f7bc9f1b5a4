"""Every example in the README's CLI table, run as written in a scratch FLIGHTBOOK_HOME, in the table's order:
the table is read from README.md, so it cannot drift from the code. Examples that serve are started, asked
for /health on the port they serve and stopped (in a network namespace of their own where the machine
allows one, so the fixed ports of the README never meet another process's)."""
from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flightbook import cli
from flightbook.kernel import clock
from flightbook.kernel.db import open_database
from flightbook.kernel.outbox import DEAD, tables

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
PROBE = Path(__file__).with_name("serve_probe.py")
DEFAULT_PORTS = {None: 8000, "gateway": 8000, "flights": 8001, "payments": 8002, "loyalty": 8003}


def cli_table() -> list[tuple[str, list[str]]]:
    """(command as the first column names it, the examples of the second column) for each row of ## CLI."""
    section = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("\n## CLI\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 2 or not cells[0].startswith("`flightbook"):
            continue
        spans = [span.replace("\\|", "|") for span in re.findall(r"`([^`]+)`", cells[1])]
        rows.append((cells[0].strip("`"), [s for s in spans if re.match(r"(flightbook |echo .*\| flightbook )", s)]))
    return rows


def serves(example: str) -> int | None:
    """The port an example serves on, or None when it runs and exits."""
    words = shlex.split(example.split("|")[-1])
    if words[1] not in ("serve", "demo") or "--prepare-only" in words:
        return None
    if "--port" in words:
        return int(words[words.index("--port") + 1])
    part = words[2] if words[1] == "serve" and len(words) > 2 and not words[2].startswith("-") else None
    return DEFAULT_PORTS[part]


def _network_namespace_works() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _dead_letter(home: Path, event_id: str) -> None:
    """A dead delivery of ``event_id`` in the flights outbox, for `events --retry` to find."""
    database = open_database(f"sqlite:///{home / 'flights.db'}")
    t = tables(database)
    with database.atomic():
        row = t.OutboxEvent.create(event_id=event_id, topic="booking.expired", source="flights",
                                   payload='{"ref": "ABC234", "user_id": 1}', created_at=clock.to_db(clock.now()),
                                   fanned_out_at=clock.to_db(clock.now()))
        t.OutboxDelivery.create(event=row.id, subscriber="loyalty", status=DEAD, attempts=10,
                                next_attempt_at=clock.to_db(clock.now()), last_error="the test's dead letter")
    database.close()


def _flight_to_move(home: Path, flight_id: int) -> None:
    """A dated flight three days from now with id ``flight_id``, for `reschedule-flight` to move."""
    database = open_database(f"sqlite:///{home / 'flights.db'}")
    departs = (clock.now() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    database.execute_sql(
        "INSERT INTO flight (id, flight_number, airline, origin, destination, service_date, departs_at, arrives_at, "
        "duration_minutes) VALUES (?, 'FB9001', 'Flightbook Air', 'LHR', 'JFK', ?, ?, ?, 480)",
        (flight_id, departs.date().isoformat(), clock.to_db(departs).isoformat(" "),
         clock.to_db(departs + dt.timedelta(minutes=480)).isoformat(" ")))
    database.close()


def test_the_table_lists_every_command_with_an_example():
    rows = cli_table()
    assert {c.name or c.callback.__name__ for c in cli.app.registered_commands} == {c.split()[1] for c, _ in rows}
    assert all(examples for _, examples in rows)


def consume_then_stop(example: str, cwd: Path, env: dict, broker) -> subprocess.CompletedProcess:
    """A `consume` example runs until stopped: started with the test's broker, SIGTERMed once it consumes."""
    env = {**env, "FLIGHTBOOK_BROKER_URL": broker.url, "FLIGHTBOOK_BROKER_PREFIX": broker.topology.prefix}
    process = subprocess.Popen(["bash", "-c", f"exec {example}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline() if process.stdout else ""
        assert first.startswith("consuming "), first
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, first + out, err)


@pytest.mark.slow
def test_every_example_of_the_cli_table_runs_as_written(tmp_path, broker):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTBOOK_")}
    env.update(FLIGHTBOOK_HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    isolated = _network_namespace_works()
    ran = []
    for _, examples in cli_table():
        for example in examples:
            port = serves(example)
            if "events --retry" in example:
                _dead_letter(home, example.split()[-1])
            if "reschedule-flight" in example:
                _flight_to_move(home, int(shlex.split(example)[2]))
            if shlex.split(example)[1] == "consume":
                result = consume_then_stop(example, tmp_path, env, broker)
            elif port is None:
                result = subprocess.run(["bash", "-c", example], cwd=tmp_path, env=env, capture_output=True,
                                        text=True, timeout=300)
            else:
                probe = [sys.executable, str(PROBE), str(port), example]
                result = subprocess.run(["unshare", "--net", *probe] if isolated else probe, cwd=tmp_path,
                                        env={**env, "FLIGHTBOOK_PROBE_NETNS": "1" if isolated else "0"},
                                        capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, f"{example}\n{result.stdout}\n{result.stderr}"
            ran.append((example, result.stdout))
    said = dict(ran)
    assert "admin alice created" in said["echo 's3cret-pass' | flightbook create-admin alice"]
    assert "re-queued 1 dead delivery" in said["flightbook events --retry 0b7e4c1a-5d2f-4e8b-9a41-3f7c2d9e8b10"]
    assert "loyalty: 0 applied, 0 acknowledged" in said["flightbook consume loyalty"]
    assert "FB9001 (90001) LHR-JFK moved from" in said["flightbook reschedule-flight 90001 --delay 45"]
    assert "0 sent" in said["flightbook send-mail --now"]
    assert (tmp_path / "data" / "schedule.csv").exists()  # generate-schedule wrote where the example says
    assert len(ran) >= 12
