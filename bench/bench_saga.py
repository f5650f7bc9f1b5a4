"""The saga's lag: from a card payment's HTTP answer to the points award landing in loyalty.

One process: the relays in a background JobRunner as ``flightbook serve`` runs them (default interval, then a
short one), in-process subscribers, embedded SQLite (or PostgreSQL with --pg).

Services, in the same run, both at their default settings, on PostgreSQL, through the gateway: four services
whose relays POST each event to its subscriber (the HTTP relay); the same four services with the events
through RabbitMQ; and four services with two instances of each module through RabbitMQ. The award is seen in
loyalty's database.

    python bench/bench_saga.py [--bookings 20] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                               [--only one-process|services]

Scratch databases (a temporary directory; PostgreSQL databases created and dropped again) and scratch names
on the broker, deleted afterwards.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import falcon.testing
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flightbook import MODULES, wiring  # noqa: E402
from flightbook.kernel.consumer import ConsumerPolicy  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.part import Job, JobRunner  # noqa: E402
from flightbook.kernel.relay import RelayPolicy  # noqa: E402
from flightbook.kernel.settings import Settings  # noqa: E402
from flightbook.modules.loyalty.models import PointsTransaction  # noqa: E402
from tests.conftest import Api, make_env, register_and_login  # noqa: E402
from tests.flights.builders import add_airports, add_flight, booking_body  # noqa: E402
from tests.payments.builders import card  # noqa: E402


def _pg(admin: str, sql: str) -> None:
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def databases(folder: Path, pg: str | None) -> dict:
    urls = {}
    for module in MODULES:
        if pg:
            name = f"fbbench_saga_{module}"
            _pg(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            _pg(pg, f"CREATE DATABASE {name}")
            urls[module] = f"{pg.rsplit('/', 1)[0]}/{name}"
        else:
            urls[module] = f"sqlite:///{folder / (module + '.db')}"
        database = open_database(urls[module])
        migrate(module, database)
        database.close()
    return urls


def lag_run(system, api: Api, bookings: int, interval: float | None) -> list[float]:
    """Seconds from each payment's answer to its EARN row in loyalty, relays in the background."""
    policy = RelayPolicy() if interval is None else RelayPolicy(interval_seconds=interval)
    jobs = [Job(f"relay-{name}", relay.policy.interval_seconds, relay.drain)
            for name, relay in wiring.build_relays(system, policy).items()]
    runner = JobRunner(jobs)
    runner.start()
    flight = add_flight(cabins={"economy": (bookings + 1, 25000)})
    traveller = register_and_login(api)
    lags = []
    try:
        for i in range(bookings):
            ref = traveller.post("/api/flights/book", json=booking_body(flight.id)).json["ref"]
            intent = traveller.post("/api/payments/create-intent", json={"booking_ref": ref}).json
            resp = traveller.post("/api/payments/process", json={"intent_id": intent["id"], "card": card()},
                                  headers={"Idempotency-Key": f"bench-{interval}-{i}"})
            assert resp.status_code == 200, resp.text
            paid = time.perf_counter()
            while not PointsTransaction.select().where(PointsTransaction.booking_ref == ref).exists():
                time.sleep(0.002)
            lags.append(time.perf_counter() - paid)
    finally:
        runner.stop()
    return lags


def report(label: str, lags: list[float]) -> None:
    lags = sorted(lags)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"{label:<34} n={len(lags):<4} p50={statistics.median(lags) * 1000:8.1f} ms  "
          f"p99={p99 * 1000:8.1f} ms  max={lags[-1] * 1000:8.1f} ms")


def services_lag(deployment, bookings: int) -> list[float]:
    """Seconds from each payment's answer at the gateway to its EARN row in loyalty's database."""
    from tests.e2e.test_journey import Traveller

    loyalty = psycopg2.connect(deployment.env["FLIGHTBOOK_LOYALTY_DATABASE"])
    loyalty.autocommit = True
    traveller = Traveller(deployment.url).sign_up()
    date = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    flight = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK",
                                                              "date": date})["outbound"][0]
    lags = []
    try:
        for _ in range(bookings):
            ref = traveller.book(flight["id"], 1)["ref"]
            # a pause of random length, so payments do not fall in step with the relays' polling
            time.sleep(random.uniform(0, 1.0))
            traveller.pay(ref)
            paid = time.perf_counter()
            with loyalty.cursor() as cur:
                while True:
                    cur.execute("SELECT 1 FROM points_transaction WHERE booking_ref = %s AND kind = 'EARN'", (ref,))
                    if cur.fetchone():
                        break
                    time.sleep(0.002)
            lags.append(time.perf_counter() - paid)
    finally:
        loyalty.close()
    return lags


def services(bookings: int) -> None:
    from tests.brokerkit import Scratch
    from tests.e2e.deployments import Deployment

    print("payment answered at the gateway -> points earned in loyalty (PostgreSQL, services, default settings)")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Scratch("bench", retry_delays=ConsumerPolicy().retry_delays)
        runs = [("four services, HTTP relay", "four_services", {}),
                ("four services, broker", "four_services",
                 {"FLIGHTBOOK_BROKER_URL": scratch.url, "FLIGHTBOOK_BROKER_PREFIX": scratch.topology.prefix}),
                ("four services x2 instances, broker", "four_services_broker", {})]
        try:
            for n, (label, mode, settings) in enumerate(runs):
                deployment = Deployment(mode, Path(folder) / str(n), f"benchsaga{n}", **settings)
                deployment.folder.mkdir()
                deployment.start()
                try:
                    report(label, services_lag(deployment, bookings))
                finally:
                    deployment.stop()
        finally:
            scratch.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--pg", help="PostgreSQL admin URL (default: SQLite)")
    parser.add_argument("--only", choices=["one-process", "services"], help="one of the two sections")
    args = parser.parse_args()
    if args.only != "one-process":
        services(args.bookings)
    if args.only == "services":
        return
    with tempfile.TemporaryDirectory() as folder:
        urls = databases(Path(folder), args.pg)
        system = wiring.build_system(Settings.from_env(make_env(Path(folder), urls)))
        api = Api(falcon.testing.TestClient(wiring.create_app(system)))
        add_airports("LHR", "JFK")
        backend = "PostgreSQL" if args.pg else "SQLite"
        print(f"payment answered -> points earned in loyalty ({backend}, relays in a background JobRunner)")
        report(f"default interval ({RelayPolicy().interval_seconds:g} s)", lag_run(system, api, args.bookings, None))
        report("short interval (0.05 s)", lag_run(system, api, args.bookings, 0.05))
        system.close()
    if args.pg:
        for module in MODULES:
            _pg(args.pg, f"DROP DATABASE IF EXISTS fbbench_saga_{module} WITH (FORCE)")


if __name__ == "__main__":
    main()
