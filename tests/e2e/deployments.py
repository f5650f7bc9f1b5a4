"""The two deployments every journey runs against, differing only in configuration:
one process on the embedded SQLite default, and four gunicorn processes on three PostgreSQL databases."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.conftest import MODULES, PG_BASE, make_env, pg_admin
from tests.servers import FLIGHTBOOK, ROOT, Server, four_services


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
        self.env = make_env(folder, urls, FLIGHTBOOK_SWEEP_INTERVAL_SECONDS=1, **settings)
        self.servers: dict[str, Server] = {}

    def start(self) -> "Deployment":
        prepare(self.env)
        if self.mode == "one_process":
            self.servers = {"gateway": Server(None, self.env, workers=2, log_dir=self.folder).start()}
        else:
            self.servers = four_services(self.env, log_dir=self.folder, workers=2)
        return self

    @property
    def url(self) -> str:
        return self.servers["gateway"].url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.backend == "postgres":
            drop_pg_databases(self.label)


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
