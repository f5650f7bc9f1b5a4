"""scripts/test on machines in every state, from bare to prepared, without touching this machine's own
PostgreSQL, RabbitMQ or chromium: the script runs in its own network and mount namespaces (so nothing listens
on 5432 or 5672 unless the case starts it) with a PATH of stand-ins for apt-get, sudo, PostgreSQL's tools,
rabbitmq-server and python that record what they were asked and change the state the next check sees."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT

SCRIPT = ROOT / "scripts" / "test"
REAL_TOOLS = ("bash", "env", "dirname", "mktemp", "rm", "tail", "seq", "sleep", "sort", "awk", "sed", "cat",
              "grep", "touch", "chmod", "cp", "ln")

# Each stand-in appends what it was asked to $STATE/calls; "as root" means uid 0 or through the sudo stand-in.
FAKES = {
    "id": 'echo "$(cat "$STATE/uid")"',
    "sudo": '[ -e "$STATE/sudo_ok" ] || exit 1\n[ "$1" = -n ] && shift\n[ "$1" = true ] && exit 0\n'
            'echo "sudo $*" >> "$STATE/calls"\nexport AS_ROOT=1\nexec "$@"',
    "apt-get": 'echo "apt-get $*" >> "$STATE/calls"\nrootly\n'
               'case "$*" in *" chromium") touch "$FLIGHTBOOK_TEST_CHROMIUM"; chmod +x "$FLIGHTBOOK_TEST_CHROMIUM";;\n'
               '  *" postgresql") for t in pg_ctlcluster pg_isready pg_lsclusters pg_conftool psql; do '
               'cp "$STATE/later/$t" "$STATE/bin/"; done;;\n'
               '  *" rabbitmq-server") cp "$STATE/later/rabbitmq-server" "$STATE/bin/";; esac',
    "python": 'echo "python $*" >> "$STATE/calls"',
}
LATER = {
    "pg_ctlcluster": 'echo "pg_ctlcluster $*" >> "$STATE/calls"\nrootly\n'
                     'case "$*" in *" start") touch "$STATE/pg_up";; esac',
    "pg_isready": '[ -e "$STATE/pg_up" ]',
    "pg_lsclusters": 'echo "15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/pg.log"',
    "pg_conftool": 'echo "$STATE/pg_hba.conf"',
    "psql": 'sql="${@: -1}"\n[ -e "$STATE/pg_up" ] || exit 2\n'
            'grep -q "^host all postgres 127.0.0.1/32 trust" "$STATE/pg_hba.conf" || exit 2\n'
            'case "$sql" in "CREATE DATABASE "*) echo "psql $sql" >> "$STATE/calls"; touch "$STATE/db_${sql##* }";;\n'
            '  *datname*) [ -e "$STATE/db_$(grep -o "[a-z]*_db" <<< "$sql")" ] && echo 1;; esac; exit 0',
    "rabbitmq-server": 'echo "rabbitmq-server $*" >> "$STATE/calls"\nrootly\n'
                       '"$STATE/bin/amqp-listener" </dev/null >/dev/null 2>&1 &',
}
ROOTLY = '[ "$(cat "$STATE/uid")" = 0 ] || [ -n "${AS_ROOT:-}" ] || { echo "$0: permission denied" >&2; exit 100; }'
LISTENER = (f"#!{sys.executable}\nimport os, socket, time\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind(('127.0.0.1', 5672)); s.listen(8)\n"
            "open(os.environ['STATE'] + '/amqp.pid', 'w').write(str(os.getpid())); time.sleep(600)\n")
ALL_PRESENT = ("apt-get", "pg_ctlcluster", "pg_isready", "pg_lsclusters", "pg_conftool", "psql", "rabbitmq-server")


def can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not can_unshare(), reason="needs root and unshare (network and mount namespaces) "
                                                         "to give scripts/test a machine of its own")


class Machine:
    """A machine as scripts/test sees it; what is installed, running and allowed is set by the case."""

    def __init__(self, folder: Path):
        self.state = folder
        self.bin = folder / "bin"
        (folder / "later").mkdir()
        self.bin.mkdir()
        (folder / "empty").mkdir()
        self.chromium = folder / "chromium"
        self.set_uid(0)
        for tool in REAL_TOOLS:
            (self.bin / tool).symlink_to(shutil.which(tool))
        for name, body in FAKES.items():
            self._write(self.bin / name, body)
        for name, body in LATER.items():
            self._write(folder / "later" / name, body)
        self._write(self.bin / "amqp-listener", LISTENER, shebang=False)
        (folder / "pg_hba.conf").write_text("local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n")

    def _write(self, path: Path, body: str, shebang: bool = True) -> None:
        rootly = f"rootly() {{ {ROOTLY}; }}\n"
        path.write_text(f"#!/bin/bash\n{rootly}{body}\n" if shebang else body)
        path.chmod(0o755)

    def set_uid(self, uid: int) -> None:
        (self.state / "uid").write_text(str(uid))

    def install(self, *tools: str) -> None:
        for tool in tools:
            if not (self.bin / tool).exists():
                shutil.copy(self.state / "later" / tool, self.bin / tool)

    def uninstall(self, tool: str) -> None:
        (self.bin / tool).unlink()

    def prepared(self) -> "Machine":
        """Everything installed, running, allowed and created."""
        self.install(*ALL_PRESENT[1:])
        self.chromium.write_text("")
        self.chromium.chmod(0o755)
        self.mark("pg_up", "rabbit_up", "db_flights_db", "db_payments_db", "db_loyalty_db")
        (self.state / "pg_hba.conf").write_text("host all postgres 127.0.0.1/32 trust\n")
        return self

    def mark(self, *names: str) -> None:
        for name in names:
            (self.state / name).touch()

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        # Inside the namespaces: loopback up, the real /usr/sbin (rabbitmq-server) hidden, RabbitMQ's stand-in
        # listening if the case says it runs; the stand-in is stopped before the namespace goes.
        inside = (f'ip link set lo up && mount --bind "$STATE/empty" /usr/sbin || exit 99\n'
                  f'[ -e "$STATE/rabbit_up" ] && ("$STATE/bin/amqp-listener" </dev/null >/dev/null 2>&1 &)\n'
                  f'[ -e "$STATE/rabbit_up" ] && until [ -e "$STATE/amqp.pid" ]; do sleep 0.05; done\n'
                  f'PATH="$STATE/bin" {SCRIPT} "$@"; rc=$?\n'
                  f'[ -e "$STATE/amqp.pid" ] && kill "$(cat "$STATE/amqp.pid")"\nexit $rc')
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLIGHTBOOK_TEST_", "PYTEST_"))}
        return subprocess.run(["unshare", "--net", "--mount", "bash", "-c", inside, "bash", *args],
                              env={**clean, "STATE": str(self.state), "FLIGHTBOOK_TEST_CHROMIUM": str(self.chromium),
                                   **env}, capture_output=True, text=True, timeout=120)

    @property
    def calls(self) -> list[str]:
        path = self.state / "calls"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def machine(tmp_path) -> Machine:
    return Machine(tmp_path)


def said(run: subprocess.CompletedProcess) -> list[str]:
    return [line.removeprefix("scripts/test: ") for line in run.stdout.splitlines()]


PIP = "python -m pip install -q -e .[test]"


def test_a_bare_machine_gets_everything_installed_started_and_created_then_the_suite(machine):
    run = machine.run("-m", "not slow")
    assert run.returncode == 0, run.stdout + run.stderr
    assert said(run) == [
        f"chromium is missing ({machine.chromium}): installing chromium (apt-get)",
        "PostgreSQL is missing: installing postgresql (apt-get)",
        "starting PostgreSQL 15",
        f"letting user postgres log in to PostgreSQL from this machine without a password ({machine.state}/pg_hba.conf)",
        "creating PostgreSQL databases flights_db payments_db loyalty_db",
        "RabbitMQ is missing: installing rabbitmq-server (apt-get)",
        "starting RabbitMQ",
        "installing flightbook with its test extra (pip install -e '.[test]')",
    ]
    assert machine.calls == [
        "apt-get update -q",
        "apt-get install -y -q chromium",
        "apt-get install -y -q postgresql",
        "pg_ctlcluster --skip-systemctl-redirect 15 main start",
        "pg_ctlcluster --skip-systemctl-redirect 15 main reload",
        "psql CREATE DATABASE flights_db",
        "psql CREATE DATABASE payments_db",
        "psql CREATE DATABASE loyalty_db",
        "apt-get install -y -q rabbitmq-server",
        "rabbitmq-server -detached",
        PIP,
        "python -m pytest -n 2 -m not slow",
    ]
    assert (machine.state / "pg_hba.conf").read_text().startswith("host all postgres 127.0.0.1/32 trust\n")


def test_a_prepared_machine_only_installs_the_package_and_runs_the_suite(machine):
    run = machine.prepared().run()
    assert run.returncode == 0, run.stdout + run.stderr
    assert said(run) == ["installing flightbook with its test extra (pip install -e '.[test]')"]
    assert machine.calls == [PIP, "python -m pytest -n 2"]


def test_not_root_and_no_sudo_it_says_what_to_run_and_does_nothing(machine):
    machine.prepared()
    machine.chromium.unlink()
    machine.uninstall("sudo")
    machine.set_uid(1000)
    run = machine.run()
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"scripts/test: chromium is missing ({machine.chromium}) and I cannot install it (not root): "
        "run `sudo apt-get install -y chromium`, then run scripts/test again"]
    assert machine.calls == []


def test_not_root_and_postgresql_down_it_says_how_to_start_it(machine):
    machine.prepared()
    (machine.state / "pg_up").unlink()
    machine.set_uid(1000)
    run = machine.run()
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "scripts/test: PostgreSQL 15 is not running and I cannot start it (not root, and sudo asks for a password): "
        "run `sudo pg_ctlcluster 15 main start`, then run scripts/test again"]
    assert machine.calls == []


def test_not_root_with_passwordless_sudo_it_acts_through_sudo(machine):
    machine.prepared()
    machine.chromium.unlink()
    (machine.state / "pg_up").unlink()
    (machine.state / "rabbit_up").unlink()
    machine.set_uid(1000)
    machine.mark("sudo_ok")
    run = machine.run()
    assert run.returncode == 0, run.stdout + run.stderr
    assert said(run)[:3] == [f"chromium is missing ({machine.chromium}): installing chromium (apt-get)",
                             "starting PostgreSQL 15", "starting RabbitMQ"]
    assert machine.calls == [
        "sudo apt-get update -q", "apt-get update -q",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium", "apt-get install -y -q chromium",
        "sudo pg_ctlcluster --skip-systemctl-redirect 15 main start", "pg_ctlcluster --skip-systemctl-redirect 15 main start",
        "sudo rabbitmq-server -detached", "rabbitmq-server -detached",
        PIP, "python -m pytest -n 2",
    ]


def test_without_apt_get_it_names_the_package_to_install(machine):
    machine.prepared()
    machine.uninstall("apt-get")
    machine.uninstall("rabbitmq-server")
    run = machine.run()
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "scripts/test: RabbitMQ is missing and I cannot install it (no apt-get here): "
        "install rabbitmq-server with this system's package manager, then run scripts/test again"]


def test_without_python_it_asks_for_a_virtualenv(machine):
    machine.prepared()
    machine.uninstall("python")
    run = machine.run()
    assert run.returncode == 1
    assert "no python on PATH: make a virtualenv and activate it" in run.stderr
    assert machine.calls == []


def test_a_suite_pointed_at_another_postgresql_leaves_the_local_one_alone(machine):
    machine.prepared()
    for tool in ("pg_ctlcluster", "pg_isready", "pg_lsclusters", "pg_conftool", "psql"):
        machine.uninstall(tool)
    run = machine.run(FLIGHTBOOK_TEST_PG="postgresql://postgres@db.example:5432/postgres")
    assert run.returncode == 0, run.stdout + run.stderr
    assert machine.calls == [PIP, "python -m pytest -n 2"]
