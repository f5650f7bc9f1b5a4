"""The deployments the journeys run against, differing only in configuration: one process on the embedded
SQLite default; four gunicorn processes on three PostgreSQL databases; and four services with two instances
of each module (eight module processes and the gateway) whose events travel through RabbitMQ, under a
prefix of their own on the broker (its queues deleted afterwards)."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.brokerkit import Scratch, broker_lock
from tests.conftest import MODULES, PG_BASE, make_env, pg_admin
from tests.servers import FLIGHTBOOK, ROOT, Server, four_services, instances

#: a consumer's retries in the broker deployment: a failing event is dead within a second or two
BROKER_RETRY_DELAYS = (0.3, 0.6)


def prepare(env: dict, days: int = 5) -> None:
    """Migrate, then airports, a few days of the sample schedule and the demo traveller."""
    full = {**os.environ, **env}
    for args in (["migrate"], ["demo", "--prepare-only", "--days", str(days)]):
        subprocess.run([FLIGHTBOOK, *args], env=full, cwd=ROOT, check=True, capture_output=True, timeout=300)


def pg_databases(label: str) -> dict:
    urls = {}
    for module in MODULES:
        name = f"fb{label}_{module}"
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {name}")
        urls[module] = f"{PG_BASE}/{name}"
    return urls


def drop_pg_databases(label: str) -> None:
    for module in MODULES:
        pg_admin(f"DROP DATABASE IF EXISTS fb{label}_{module} WITH (FORCE)")


class Deployment:
    """A running flightbook: ``url`` is the gateway; ``servers`` by part name (one entry in one-process mode)."""

    def __init__(self, mode: str, folder: Path, label: str, backend: str | None = None, **settings):
        self.mode = mode
        self.folder = folder
        self.label = label
        self.backend = backend or ("sqlite" if mode == "one_process" else "postgres")
        if self.backend == "sqlite":
            urls = {m: f"sqlite:///{folder / (m + '.db')}" for m in MODULES}
        else:
            urls = pg_databases(label)
        self.broker: Scratch | None = None
        if mode == "four_services_broker":
            self.broker = Scratch(label, retry_delays=BROKER_RETRY_DELAYS)
            settings = {"FLIGHTBOOK_BROKER_URL": self.broker.url,
                        "FLIGHTBOOK_BROKER_PREFIX": self.broker.topology.prefix,
                        "FLIGHTBOOK_BROKER_RETRY_DELAYS": ",".join(map(str, BROKER_RETRY_DELAYS)), **settings}
        self.env = make_env(folder, urls, FLIGHTBOOK_SWEEP_INTERVAL_SECONDS=1, **settings)
        self.servers: dict[str, Server] = {}
        self._lock = None

    def start(self) -> "Deployment":
        if self.broker is not None:  # held while it runs, so no test restarts the broker from under it
            self._lock = broker_lock(exclusive=False)
            self._lock.__enter__()
        try:
            prepare(self.env)  # with a broker, `flightbook migrate` declares every module's queues
            if self.mode == "one_process":
                self.servers = {"gateway": Server(None, self.env, workers=2, log_dir=self.folder).start()}
            elif self.mode == "four_services":
                self.servers = four_services(self.env, log_dir=self.folder, workers=2)
            else:
                self.servers = instances(self.env, copies=2, log_dir=self.folder, workers=1)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        return self.servers["gateway"].url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.backend == "postgres":
            drop_pg_databases(self.label)
        if self.broker is not None:
            self.broker.delete()
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None


def eventually(check, timeout: float = 30.0, interval: float = 0.25):
    """Poll ``check`` until it returns a truthy value (events cross processes asynchronously)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value {last!r}")
