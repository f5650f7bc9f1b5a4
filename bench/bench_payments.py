"""Payments on PostgreSQL with mockbank: payments processed per second (create intent excluded; each
payment = idempotency claim, booking check through the flights contract, intent claim, mockbank
charge, payment row, flights confirm), and the cost of an idempotent replay of a finished request.

    python bench/bench_payments.py [--payments 400] [--clients 8] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Calls go through the in-process contracts (as a gunicorn worker thread would), each client a thread.
Scratch databases are created and dropped again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flightbook import MODULES, wiring  # noqa: E402
from flightbook.contracts.flights import BookingRequest, PassengerInput  # noqa: E402
from flightbook.contracts.payments import CardInput  # noqa: E402
from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.auth import Principal  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.settings import Settings  # noqa: E402
from bench.common import admin  # noqa: E402

CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=dt.date.today().year + 2, cvc="123")



def scratch_system(pg: str):
    base = pg.rsplit("/", 1)[0]
    env = {"FLIGHTBOOK_HOME": tempfile.mkdtemp(prefix="fbbench"), "FLIGHTBOOK_SECRET_KEY": "bench-secret",
           "FLIGHTBOOK_SERVICE_SECRET": "bench-service-secret"}
    for module in MODULES:
        name = f"fbbench_payments_{module}"
        admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin(pg, f"CREATE DATABASE {name}")
        database = open_database(f"{base}/{name}")
        migrate(module, database)
        database.close_all()
        env[f"FLIGHTBOOK_{module.upper()}_DATABASE"] = f"{base}/{name}"
    return wiring.build_system(Settings.from_env(env))


def held_bookings(system, count: int) -> list[tuple[Principal, str]]:
    from flightbook.modules.flights.models import Airport, Flight, SeatInventory
    for code in ("LHR", "JFK"):
        Airport.insert(iata=code, name=code, city=code, country="GB", lat=0, lon=0, tz="UTC",
                       search_text=code.lower()).on_conflict_ignore().execute()
    departs = clock.now().replace(microsecond=0) + dt.timedelta(days=10)
    flight = Flight.create(flight_number="PB1", airline="Bench Air", origin="LHR", destination="JFK",
                           service_date=departs.date(), departs_at=clock.to_db(departs),
                           arrives_at=clock.to_db(departs + dt.timedelta(hours=8)), duration_minutes=480)
    SeatInventory.insert(flight=flight.id, cabin="economy", capacity=count, seats_left=count, fare_amount=19900,
                         currency="USD").execute()
    flights, payments = system.contracts["flights"], system.contracts["payments"]
    made = []
    for i in range(count):
        caller = Principal(kind="user", user_id=1000 + i % 50)
        booking = flights.book(caller, BookingRequest(outbound_flight_id=flight.id, cabin="economy",
                                                      passengers=[PassengerInput("Pax", "Bench", dt.date(1990, 1, 1))],
                                                      contact_email="bench@example.com"))
        made.append((caller, payments.create_intent(caller, booking.ref).id))
    return made


def run(payments, work: list, clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [work[i::clients] for i in range(clients)]

    def client(chunk):
        for caller, intent_id in chunk:
            started = time.perf_counter()
            result = payments.process_payment(caller, intent_id, CARD, f"bench-{intent_id}")
            assert result.status == "succeeded", result
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    started = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    return time.perf_counter() - started, latencies


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    system = scratch_system(args.pg)
    payments = system.contracts["payments"]
    try:
        work = held_bookings(system, args.payments)
        elapsed, latencies = run(payments, work, args.clients)
        print(f"payments processed: {len(latencies)} with {args.clients} clients in {elapsed:.2f} s "
              f"-> {len(latencies) / elapsed:.0f} payments/s; latency p50 {ms(latencies, 50):.1f} ms, "
              f"p99 {ms(latencies, 99):.1f} ms")
        replays = []
        for caller, intent_id in work[:200]:
            started = time.perf_counter()
            payments.process_payment(caller, intent_id, CARD, f"bench-{intent_id}")
            replays.append(time.perf_counter() - started)
        first = statistics.quantiles(latencies, n=100)[49]
        print(f"idempotent replay (1 client, {len(replays)} replays): p50 {ms(replays, 50):.2f} ms, "
              f"p99 {ms(replays, 99):.2f} ms ({statistics.median(replays) / first:.0%} of a first payment's p50)")
        from flightbook.modules.payments.models import BankEntry, Payment
        print(f"check: {Payment.select().count()} payments, {BankEntry.select().count()} mockbank charges")
    finally:
        system.close()
        for database in system.databases.values():
            getattr(getattr(database, "obj", database), "close_all", lambda: None)()
        for module in MODULES:
            admin(args.pg, f"DROP DATABASE IF EXISTS fbbench_payments_{module} WITH (FORCE)")


if __name__ == "__main__":
    main()
