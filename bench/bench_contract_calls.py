"""What the switch costs per call: contract methods in process vs through their HTTP adapters (a real
gunicorn per module), and how fast a caller learns that a service is down.

    python bench/bench_contract_calls.py [--calls 300] [--backend sqlite|postgres]

Databases are fresh (SQLite files in a temporary folder, or scratch PostgreSQL databases that are dropped
again). Prints p50/p99 in milliseconds per method and adapter, and the HTTP/in-process ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flightbook import MODULES, wiring  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.errors import Unavailable  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.money import Money  # noqa: E402
from flightbook.kernel.settings import Settings  # noqa: E402
from tests.conftest import PG_BASE, make_env, pg_admin  # noqa: E402
from tests.contract.builders import held_booking, traveller  # noqa: E402
from tests.contract.conftest import http_contract  # noqa: E402
from tests.servers import Server, free_port  # noqa: E402


def databases(backend: str, folder: Path) -> dict:
    urls = {}
    for module in MODULES:
        if backend == "sqlite":
            urls[module] = f"sqlite:///{folder / (module + '.db')}"
        else:
            pg_admin(f"DROP DATABASE IF EXISTS fbbench_contract_{module} WITH (FORCE)")
            pg_admin(f"CREATE DATABASE fbbench_contract_{module}")
            urls[module] = f"{PG_BASE}/fbbench_contract_{module}"
        database = open_database(urls[module])
        migrate(module, database)
        database.close()
    return urls


def timed(call, n: int) -> list[float]:
    call()  # warm the pool and caches
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] if len(samples) > 1 else samples[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = make_env(folder, databases(args.backend, folder), FLIGHTBOOK_SWEEP_INTERVAL_SECONDS=3600)
        system = wiring.build_system(Settings.from_env(env))
        servers = {m: Server(m, env, workers=2, log_dir=folder).start() for m in MODULES}
        try:
            run(system, servers, args.calls)
        finally:
            for server in servers.values():
                server.stop()
            system.close()
            if args.backend == "postgres":
                for module in MODULES:
                    pg_admin(f"DROP DATABASE IF EXISTS fbbench_contract_{module} WITH (FORCE)")


def run(system, servers, calls: int) -> None:
    ada = traveller(system)
    booking = held_booking(system, ada)
    system.contracts["loyalty"].earn(ada.user_id, "BENCH1", Money(50000, "USD"))
    http = {m: http_contract(system, m, servers[m].url) for m in MODULES}
    methods = {
        "flights.get_booking": lambda c: c["flights"].get_booking(ada, booking.ref),
        "flights.search_places": lambda c: c["flights"].search_places("lon"),
        "payments.history": lambda c: c["payments"].history(ada, ada.user_id),
        "loyalty.get_account": lambda c: c["loyalty"].get_account(ada, ada.user_id),
        "loyalty.earn (replay)": lambda c: c["loyalty"].earn(ada.user_id, "BENCH1", Money(50000, "USD")),
    }
    print(f"{'method':24} {'in-process p50/p99 ms':>22} {'HTTP p50/p99 ms':>18} {'ratio p50':>10}")
    for name, method in methods.items():
        local = timed(lambda: method(system.contracts), calls)
        remote = timed(lambda: method(http), calls)
        print(f"{name:24} {p(local, 50):10.2f}/{p(local, 99):<10.2f} {p(remote, 50):8.2f}/{p(remote, 99):<9.2f}"
              f" {p(remote, 50) / p(local, 50):9.1f}x")
    down = http_contract(system, "loyalty", f"http://127.0.0.1:{free_port()}")
    started = time.perf_counter()
    try:
        down.get_account(ada, ada.user_id)
    except Unavailable:
        pass
    print(f"loyalty down (refused port): Unavailable after {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
