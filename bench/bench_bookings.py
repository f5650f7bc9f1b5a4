"""Seat-hold throughput on PostgreSQL: bookings per second and latency with concurrent clients, on one
hot flight and spread across many, each priced flat and in fare buckets (issue 21; scenarios alternating in
order round by round), the oversell count (must be 0), the revenue check (what the live bookings pay minus the
bucket prices, or flat fares, of the seats sold: must be 0), and what each hold costs in CPU: this process's (the
service layer, as a gunicorn worker runs it) and the PostgreSQL backends' (from /proc), per attempt and per
booking held; beside pgbench's TPC-B transactions per second on the same server.

    python bench/bench_bookings.py [--clients 16] [--attempts 150] [--flights 200] [--rounds 3]
                                   [--compare REV] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Each client is a thread with its own connection calling the service layer (bookings.hold_seats), as a
gunicorn worker thread would. One hot flight sells out part way (seats for about 60 % of the passengers
asked for: the later attempts are refused); the spread flights have room for everyone, so their figures are
those of bookings held. A scratch database is created and dropped again per round, and pgbench's TPC-B
(``pgbench -i -s 1`` on the scratch database ``bench_pgbench``, then ``-c 16 -j 2 -T 10``) runs once per round.

--compare REV measures the code at REV too (a git worktree; this script, with that checkout's flightbook),
rounds alternating, so both see the same machine; figures are medians over the rounds. CPU ms per operation
is the stable figure on a shared machine, bookings/s less so (the machine's load is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CpuMeter, admin, backend_pids, machine_load, pgbench_tps  # noqa: E402

SCENARIOS = ("one hot flight", "hot, fare buckets", "spread", "spread, fare buckets")
BUCKETED = {"hot, fare buckets": "one hot flight", "spread, fare buckets": "spread"}  # -> its flat twin


def measure_round(code: Path, pg: str, clients: int, attempts: int, flights: int) -> dict:
    """One round with ``code``'s flightbook (imported here, in a process of its own): the figures per scenario."""
    sys.path.insert(0, str(code))
    import datetime as dt
    import random
    import threading
    import time

    import flightbook
    from flightbook.contracts.flights import BookingRequest, PassengerInput, SeatsUnavailable
    from flightbook.kernel import clock
    from flightbook.kernel.db import open_database
    from flightbook.kernel.migrations import migrate
    from flightbook.kernel.uow import UnitOfWork
    from flightbook.modules.flights import models
    from flightbook.modules.flights.booking import bookings
    from flightbook.modules.flights.models import Booking, BookingFlight, Flight, Passenger, SeatInventory
    try:
        from flightbook.modules.flights.catalogue import pricing
    except ImportError:  # code from before fare buckets (--compare): flat scenarios only
        pricing = None

    rules, uow = bookings.BookingRules(), UnitOfWork(models.database, "flights")
    scratch = f"fbbench_bookings_{os.getpid()}"

    def add_flights(count: int, capacity: int, tag: str, buckets: bool = False) -> list[int]:
        """Flights 15 days ahead (the advance-purchase rule's 100 %), priced flat at 199.00 or in the default
        fare buckets of that base fare."""
        departs = clock.now().replace(microsecond=0) + dt.timedelta(days=15, hours=6)
        priced: dict = {"fare_amount": 19900}
        if buckets:
            state = pricing.opening_state(19900, capacity, dt.time(12), pricing.DEFAULT_BUCKETS)
            priced = dict(buckets=pricing.state_text(state), fare_amount=pricing.next_price(state),
                          next_fares=pricing.ladder_text([(s.price, s.left) for s in state]))
        ids = []
        for i in range(count):
            flight = Flight.create(flight_number=f"{tag}{i}", airline="Bench Air", origin="LHR", destination="JFK",
                                   service_date=departs.date(), departs_at=clock.to_db(departs),
                                   arrives_at=clock.to_db(departs + dt.timedelta(hours=8)), duration_minutes=480)
            SeatInventory.insert(flight=flight.id, cabin="economy", capacity=capacity, seats_left=capacity,
                                 currency="USD", **priced).execute()
            ids.append(flight.id)
        return ids

    def request(flight_id: int, passengers: int) -> BookingRequest:
        people = [PassengerInput(f"Pax{i}", "Bench", dt.date(1990, 1, 1)) for i in range(passengers)]
        return BookingRequest(outbound_flight_id=flight_id, cabin="economy", passengers=people,
                              contact_email="bench@example.com")

    def oversold(flight_ids: list[int]) -> int:
        """Seats sold beyond capacity, plus any flight whose inventory disagrees with its live passengers."""
        bad = 0
        for inv in SeatInventory.select().where(SeatInventory.flight.in_(flight_ids)):
            passengers = (Passenger.select().join(Booking)
                          .join(BookingFlight, on=(BookingFlight.booking == Booking.ref))
                          .where((BookingFlight.flight == inv.flight_id)
                                 & Booking.status.in_(["HELD", "CONFIRMED"])).count())
            bad += max(0, passengers - inv.capacity) + (inv.capacity - inv.seats_left != passengers)
        return bad

    def revenue_gap(flight_ids: list[int]) -> int:
        """What the live bookings on these flights pay minus the bucket prices (or flat fares) of the seats sold."""
        paid = sum(b.total_amount for b in Booking.select().join(BookingFlight, on=(BookingFlight.booking == Booking.ref))
                   .where(BookingFlight.flight.in_(flight_ids) & Booking.status.in_(["HELD", "CONFIRMED"])))
        sold = 0
        for inv in SeatInventory.select().where(SeatInventory.flight.in_(flight_ids)):
            state = pricing.parse_state(inv.buckets) if pricing else []
            sold += pricing.sold_value(state) if state else inv.fare_amount * (inv.capacity - inv.seats_left)
        return paid - sold

    def run(flight_ids: list[int], attempts: int = attempts) -> dict:
        start = threading.Barrier(clients + 1)
        latencies, held, refused = [], [0], [0]
        lock = threading.Lock()

        def client(i: int) -> None:
            rng, mine, ok, no = random.Random(i), [], 0, 0
            work = [request(rng.choice(flight_ids), rng.randint(1, 3)) for _ in range(attempts)]
            start.wait()
            for wanted in work:
                began = time.perf_counter()
                try:
                    bookings.hold_seats(uow, i + 1, wanted, rules)
                    ok += 1
                except SeatsUnavailable:
                    no += 1
                mine.append(time.perf_counter() - began)
            models.database.close()
            with lock:
                latencies.extend(mine)
                held[0] += ok
                refused[0] += no

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        backends = CpuMeter(lambda: backend_pids(pg, [scratch])).start()
        app_before = resource.getrusage(resource.RUSAGE_SELF)
        start.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        app_after = resource.getrusage(resource.RUSAGE_SELF)
        pg_cpu = backends.stop()
        app_cpu = (app_after.ru_utime - app_before.ru_utime) + (app_after.ru_stime - app_before.ru_stime)
        latencies.sort()
        return {"held": held[0], "refused": refused[0], "elapsed": elapsed, "attempts": len(latencies),
                "p50": statistics.median(latencies) * 1000,
                "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
                "app_cpu": app_cpu, "pg_cpu": pg_cpu, "oversold": oversold(flight_ids),
                "revenue_gap": revenue_gap(flight_ids)}

    admin(pg, f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
    admin(pg, f"CREATE DATABASE {scratch}")
    database = open_database(f"{pg.rsplit('/', 1)[0]}/{scratch}")
    try:
        models.database.initialize(database)
        migrate("flights", database)
        total = clients * attempts
        hot, spread_capacity = int(total * 2 * 0.6), max(1, int(total * 3 * 1.5 / flights))
        made = {"one hot flight": add_flights(1, capacity=hot, tag="HOT"),
                "spread": add_flights(flights, capacity=spread_capacity, tag="SPR")}
        warm = add_flights(1, capacity=clients * 3 * 10, tag="WARM")
        if pricing is not None:
            made["hot, fare buckets"] = add_flights(1, capacity=hot, tag="HOTB", buckets=True)
            made["spread, fare buckets"] = add_flights(flights, capacity=spread_capacity, tag="SPRB", buckets=True)
            warm += add_flights(1, capacity=clients * 3 * 10, tag="WARMB", buckets=True)
        models.database.close()
        run(warm, attempts=5)  # warm-up: connections opened, statements prepared, as in a serving process
        # each flat scenario next to its fare-buckets twin, which goes first every other round
        order = [s for s in SCENARIOS if s in made]
        if os.environ.get("BENCH_ROUND_ODD") == "1":
            order = [order[i ^ 1] if len(order) == 4 else order[i] for i in range(len(order))]
        results = {scenario: run(made[scenario]) for scenario in order}
        return {"code": str(Path(flightbook.__file__).parents[1]), "scenarios": results}
    finally:
        database.close_all()
        admin(pg, f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")


def measured_by(checkout: Path, args, odd: int = 0) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTBOOK_")}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--round", str(checkout),
                           "--clients", str(args.clients), "--attempts", str(args.attempts),
                           "--flights", str(args.flights), "--pg", args.pg],
                          env={**env, "BENCH_ROUND_ODD": str(odd)}, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: bench round failed\n{done.stdout}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(rounds: list[dict], scenario: str) -> dict | None:
    rows = [r["scenarios"][scenario] for r in rounds if scenario in r["scenarios"]]
    if not rows:
        return None

    def med(f):
        return statistics.median(f(row) for row in rows)
    return {"rate": med(lambda r: r["held"] / r["elapsed"]), "p50": med(lambda r: r["p50"]),
            "p99": med(lambda r: r["p99"]), "held": med(lambda r: r["held"]), "refused": med(lambda r: r["refused"]),
            "app_attempt": med(lambda r: r["app_cpu"] / r["attempts"] * 1000),
            "pg_attempt": med(lambda r: r["pg_cpu"] / r["attempts"] * 1000),
            "app_held": med(lambda r: r["app_cpu"] / max(1, r["held"]) * 1000),
            "pg_held": med(lambda r: r["pg_cpu"] / max(1, r["held"]) * 1000),
            "oversold": max(row["oversold"] for row in rows),
            "revenue_gap": max((abs(row.get("revenue_gap", 0)) for row in rows), default=0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--attempts", type=int, default=150, help="booking attempts per client per scenario")
    parser.add_argument("--flights", type=int, default=200, help="flights in the spread scenario")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", metavar="REV", help="measure the code at REV too, rounds alternating")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--round", metavar="CHECKOUT", help=argparse.SUPPRESS)  # one round, as JSON
    args = parser.parse_args()
    if args.round:
        print(json.dumps(measure_round(Path(args.round), args.pg, args.clients, args.attempts, args.flights)))
        return 0
    checkouts = {"now": ROOT}
    if args.compare:
        baseline = Path(tempfile.mkdtemp(prefix="fbbaseline")) / "checkout"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(baseline), args.compare],
                       check=True)
        checkouts = {"before": baseline, "now": ROOT}
    rounds: dict[str, list] = {label: [] for label in checkouts}
    tps, loads = [], []
    try:
        for r in range(args.rounds):
            order = list(checkouts.items())
            for label, checkout in (order if r % 2 == 0 else order[::-1]):
                rounds[label].append(measured_by(checkout, args, r % 2))
            loads.append(os.getloadavg()[0])
            tps.append(pgbench_tps(args.pg, clients=args.clients, seconds=args.pgbench_seconds))
    finally:
        if args.compare:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkouts["before"])],
                           check=False)
    pgbench = statistics.median(tps)
    print(f"{args.rounds} rounds, {args.clients} clients x {args.attempts} attempts per scenario; {machine_load()} "
          f"(1-min load after each round: {', '.join(f'{x:.1f}' for x in loads)})")
    print(f"pgbench TPC-B (-s 1 -c {args.clients} -j 2 -T {args.pgbench_seconds}): {pgbench:.0f} tps "
          f"(rounds: {', '.join(f'{t:.0f}' for t in tps)})")
    print(f"{'scenario':26} {'code':8} {'holds/s':>8} {'x pgbench':>9} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'app CPU ms/attempt':>18} {'PG CPU ms/attempt':>17} {'app ms/held':>11} {'PG ms/held':>10} "
          f"{'held':>6} {'refused':>7} {'oversold':>8} {'paid-sold':>9}")
    figures = {}
    for scenario in SCENARIOS:
        name = scenario.replace("spread", f"spread/{args.flights}")
        for label in checkouts:
            s = summary(rounds[label], scenario)
            if s is None:
                continue
            figures[scenario, label] = s
            print(f"{name:26} {label:8} {s['rate']:8.0f} {s['rate'] / pgbench:9.2f} {s['p50']:7.1f} {s['p99']:7.1f} "
                  f"{s['app_attempt']:18.2f} {s['pg_attempt']:17.2f} {s['app_held']:11.2f} {s['pg_held']:10.2f} "
                  f"{s['held']:6.0f} {s['refused']:7.0f} {s['oversold']:8d} {s['revenue_gap']:9d}")
    for bucketed, flat in BUCKETED.items():
        if (bucketed, "now") in figures:
            b, f = figures[bucketed, "now"], figures[flat, "now"]
            print(f"{bucketed} vs flat: {b['rate'] / f['rate'] * 100:.1f} % of the holds/s, app CPU per attempt "
                  f"{b['app_attempt'] / f['app_attempt']:.2f} x, PG CPU per attempt {b['pg_attempt'] / f['pg_attempt']:.2f} x")
    if args.compare:
        for scenario in SCENARIOS:
            if (scenario, "before") not in figures:
                continue
            now, before = figures[scenario, "now"], figures[scenario, "before"]
            print(f"{scenario}: now/before holds/s {now['rate'] / before['rate']:.2f} x, app CPU per attempt "
                  f"{now['app_attempt'] / before['app_attempt']:.2f} x, PG CPU per attempt "
                  f"{now['pg_attempt'] / before['pg_attempt']:.2f} x")
    print(f"targets: app CPU <= 2.5 ms and PG CPU <= 2 ms per booking held (spread: every attempt is held); "
          f"holds/s >= 0.25 x pgbench ({0.25 * pgbench:.0f}/s); oversold 0; fare buckets within 10 % of flat's "
          f"holds/s, paid - sold 0. Code measured: "
          f"{', '.join(label + ' ' + rounds[label][0]['code'] for label in checkouts)}")
    return 1 if any(f["oversold"] or f["revenue_gap"] for f in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
