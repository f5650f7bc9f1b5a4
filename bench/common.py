"""What the benchmarks share: scratch PostgreSQL databases, created fresh and dropped afterwards; CPU time of
processes (ours, gunicorn's, PostgreSQL's backends) from /proc; pgbench's TPC-B figure on the same server."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin(pg: str, sql: str) -> None:
    """Run one statement on the admin database outside a transaction (CREATE/DROP DATABASE)."""
    conn = psycopg2.connect(pg)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def create_scratch(pg: str, name: str) -> str:
    """A new empty database called ``name`` (dropped first if a previous run left it); its URL."""
    admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(pg, f"CREATE DATABASE {name}")
    return f"{pg.rsplit('/', 1)[0]}/{name}"


def drop_scratch(pg: str, name: str) -> None:
    admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def scratch_database(pg: str, name: str):
    """``with scratch_database(pg, "fbbench_x") as url:`` — always dropped at the end."""
    url = create_scratch(pg, name)
    try:
        yield url
    finally:
        drop_scratch(pg, name)


def scratch_system(pg: str, prefix: str):
    """The whole system in this process on fresh, migrated PostgreSQL databases ``<prefix>_<module>`` (drop them
    with ``drop_scratch``). flightbook is imported here, not above: a benchmark measuring another checkout
    puts it on the path after importing this module."""
    from flightbook import MODULES, wiring
    from flightbook.kernel.db import open_database
    from flightbook.kernel.migrations import migrate
    from flightbook.kernel.settings import Settings

    env = {"FLIGHTBOOK_HOME": tempfile.mkdtemp(prefix=prefix), "FLIGHTBOOK_SECRET_KEY": "bench-secret",
           "FLIGHTBOOK_SERVICE_SECRET": "bench-service-secret"}
    for module in MODULES:
        url = create_scratch(pg, f"{prefix}_{module}")
        database = open_database(url)
        migrate(module, database)
        database.close_all()
        env[f"FLIGHTBOOK_{module.upper()}_DATABASE"] = url
    return wiring.build_system(Settings.from_env(env))


def drop_scratch_system(pg: str, prefix: str, system) -> None:
    """Close ``system`` (a ``scratch_system``) and its pools, and drop its databases."""
    from flightbook import MODULES

    system.close()
    for database in system.databases.values():
        getattr(getattr(database, "obj", database), "close_all", lambda: None)()
    for module in MODULES:
        drop_scratch(pg, f"{prefix}_{module}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a gunicorn master and its workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as fh:
                queue.extend(int(child) for child in fh.read().split())
        except OSError:
            pass
    return found


def backend_pids(pg: str, databases: list[str]) -> list[int]:
    """The PostgreSQL backends connected to ``databases`` now (the server runs on this machine)."""
    conn = psycopg2.connect(pg)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", (databases,))
            return [pid for (pid,) in cur.fetchall()]
    finally:
        conn.close()


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()`` by some processes: the ones ``pids()`` names at
    either moment (a process that appears in between counts from 0, as a backend opened by the pool does)."""

    def __init__(self, pids):
        self.pids = pids
        self.before: dict[int, float] = {}

    def start(self) -> "CpuMeter":
        self.before = {pid: cpu_seconds(pid) for pid in self.pids()}
        return self

    def stop(self) -> float:
        after = {pid: cpu_seconds(pid) for pid in set(self.pids()) | set(self.before)}
        return sum(max(0.0, seconds - self.before.get(pid, 0.0)) for pid, seconds in after.items())


def pgbench_tps(pg: str, clients: int = 16, threads: int = 2, seconds: int = 10, scratch: str = "bench_pgbench") -> float:
    """pgbench's TPC-B-like transactions per second against the same server, on a scratch database
    (``pgbench -i -s 1``, then ``-c clients -j threads -T seconds``); made on the first call, kept after."""
    url = urlparse(pg)
    conn = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    conn_db = psycopg2.connect(pg)
    conn_db.autocommit = True
    with conn_db.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch,))
        exists = cur.fetchone() is not None
    conn_db.close()
    if not exists:
        admin(pg, f"CREATE DATABASE {scratch}")
        subprocess.run(["pgbench", *conn, "-i", "-s", "1", "-q", scratch], check=True, capture_output=True)
    done = subprocess.run(["pgbench", *conn, "-c", str(clients), "-j", str(threads), "-T", str(seconds), scratch],
                          check=True, capture_output=True, text=True)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout) or \
        re.search(r"tps = ([\d.]+)", done.stdout)
    if not found:
        raise RuntimeError(f"pgbench said:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def bare_server(folder: Path, module: str, source: str, probe: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """A reference WSGI app (``source``, its ``app``) written to ``folder/module.py`` and served by gunicorn with the
    workers and threads ``flightbook serve`` uses, on a free port of 127.0.0.1; returns the process and its URL once
    ``probe`` answers."""
    import requests

    from tests.servers import free_port

    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4",
                                "--bind", f"127.0.0.1:{port}", "--chdir", str(folder), f"{module}:app"],
                               env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(url + probe, timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the bare {module} did not come up")
