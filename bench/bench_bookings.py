"""Seat-hold throughput on PostgreSQL: bookings per second and latency with concurrent clients, on one
hot flight and spread across many, and the oversell count (must be 0); then the hot flight priced flat and in
fare buckets side by side (rounds alternating, a fresh flight each), with the revenue check: what the live
bookings pay = the bucket prices of the seats sold.

    python bench/bench_bookings.py [--clients 16] [--attempts 150] [--rounds 3] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Each client is a thread with its own connection calling the service layer (bookings.hold_seats), as a
gunicorn worker thread would. A scratch database is created and dropped again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import threading
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flightbook.contracts.flights import BookingRequest, PassengerInput, SeatsUnavailable  # noqa: E402
from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.uow import UnitOfWork  # noqa: E402
from flightbook.modules.flights import models  # noqa: E402
from flightbook.modules.flights.booking import bookings  # noqa: E402
from flightbook.modules.flights.models import Booking, BookingFlight, Flight, Passenger, SeatInventory  # noqa: E402
from flightbook.modules.flights.catalogue import pricing  # noqa: E402
from bench.common import admin  # noqa: E402

RULES = bookings.BookingRules()
UOW = UnitOfWork(models.database, "flights")
SCRATCH = "fbbench_bookings"



def add_flights(count: int, capacity: int, tag: str, buckets: bool = False) -> list[int]:
    """Flights 15 days ahead (the advance-purchase rule's 100 %), priced flat at 199.00 or in the default
    fare buckets of that base fare."""
    departs = clock.now().replace(microsecond=0) + dt.timedelta(days=15, hours=6)
    state = pricing.opening_state(19900, capacity, dt.time(12), pricing.DEFAULT_BUCKETS) if buckets else []
    priced = dict(buckets=pricing.state_text(state), next_fares=pricing.ladder_text([(s.price, s.left) for s in state]),
                  fare_amount=pricing.next_price(state)) if buckets else {"fare_amount": 19900}
    ids = []
    for i in range(count):
        flight = Flight.create(flight_number=f"{tag}{i}", airline="Bench Air", origin="LHR", destination="JFK",
                               service_date=departs.date(), departs_at=clock.to_db(departs),
                               arrives_at=clock.to_db(departs + dt.timedelta(hours=8)), duration_minutes=480)
        SeatInventory.insert(flight=flight.id, cabin="economy", capacity=capacity, seats_left=capacity,
                             currency="USD", **priced).execute()
        ids.append(flight.id)
    return ids


def revenue_gap(flight_ids: list[int]) -> int:
    """What the live bookings on these flights pay minus the bucket prices of the seats sold (must be 0)."""
    paid = sum(b.total_amount for b in Booking.select().join(BookingFlight, on=(BookingFlight.booking == Booking.ref))
               .where(BookingFlight.flight.in_(flight_ids) & Booking.status.in_(["HELD", "CONFIRMED"])))
    sold = 0
    for inv in SeatInventory.select().where(SeatInventory.flight.in_(flight_ids)):
        state = pricing.parse_state(inv.buckets)
        sold += pricing.sold_value(state) if state else inv.fare_amount * (inv.capacity - inv.seats_left)
    return paid - sold


def request(flight_id: int, passengers: int) -> BookingRequest:
    people = [PassengerInput(f"Pax{i}", "Bench", dt.date(1990, 1, 1)) for i in range(passengers)]
    return BookingRequest(outbound_flight_id=flight_id, cabin="economy", passengers=people,
                          contact_email="bench@example.com")


def run(flight_ids: list[int], clients: int, attempts: int) -> dict:
    start = threading.Barrier(clients + 1)
    latencies, held, refused = [], [0], [0]
    lock = threading.Lock()

    def client(i: int) -> None:
        rng, mine, ok, no = random.Random(i), [], 0, 0
        start.wait()
        for _ in range(attempts):
            began = time.perf_counter()
            try:
                bookings.hold_seats(UOW, i + 1, request(rng.choice(flight_ids), rng.randint(1, 3)), RULES)
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
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"held": held[0], "refused": refused[0], "elapsed": elapsed, "latencies": latencies,
            "oversold": oversold(flight_ids)}


def oversold(flight_ids: list[int]) -> int:
    """Seats sold beyond capacity, plus any flight whose inventory disagrees with its live passengers."""
    bad = 0
    for inv in SeatInventory.select().where(SeatInventory.flight.in_(flight_ids)):
        passengers = (Passenger.select().join(Booking)
                      .join(BookingFlight, on=(BookingFlight.booking == Booking.ref))
                      .where((BookingFlight.flight == inv.flight_id) & Booking.status.in_(["HELD", "CONFIRMED"]))
                      .count())
        bad += max(0, passengers - inv.capacity) + (inv.capacity - inv.seats_left != passengers)
    return bad


def report(label: str, clients: int, result: dict) -> None:
    lat = result["latencies"]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(f"{label}: {clients} clients, {len(lat)} attempts in {result['elapsed']:.2f}s -> "
          f"{result['held'] / result['elapsed']:.0f} bookings/s held ({len(lat) / result['elapsed']:.0f} attempts/s), "
          f"{result['held']} held, {result['refused']} refused as sold out, "
          f"latency p50 {statistics.median(lat) * 1000:.1f} ms p99 {p99:.1f} ms, oversold {result['oversold']}")


def flat_vs_buckets(args, capacity: int) -> int:
    """The hot flight priced flat and in fare buckets, rounds alternating; non-zero if anything oversold or
    the revenue check failed."""
    runs: dict[str, list] = {"flat": [], "buckets": []}
    for n in range(args.rounds):
        for kind in (("flat", "buckets") if n % 2 == 0 else ("buckets", "flat")):
            flight = add_flights(1, capacity=capacity, tag=f"{kind[:3].upper()}{n}", buckets=kind == "buckets")
            models.database.close()
            result = run(flight, args.clients, args.attempts)
            result["revenue_gap"] = revenue_gap(flight)
            models.database.close()
            runs[kind].append(result)
    rates = {}
    for kind, results in runs.items():
        held, elapsed = sum(r["held"] for r in results), sum(r["elapsed"] for r in results)
        lat = sorted(x for r in results for x in r["latencies"])
        rates[kind] = held / elapsed
        print(f"hot flight, {kind}: {args.rounds} rounds, {held} held in {elapsed:.2f}s -> {rates[kind]:.0f} "
              f"bookings/s, latency p50 {statistics.median(lat) * 1000:.1f} ms "
              f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.1f} ms, "
              f"oversold {sum(r['oversold'] for r in results)}, "
              f"paid - bucket prices of seats sold = {sum(r['revenue_gap'] for r in results)}")
    print(f"fare buckets vs flat: {rates['buckets'] / rates['flat'] * 100:.1f} % of the bookings/s")
    return sum(r["oversold"] + abs(r["revenue_gap"]) for results in runs.values() for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--attempts", type=int, default=150, help="booking attempts per client per scenario")
    parser.add_argument("--flights", type=int, default=200, help="flights in the spread scenario")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of flat vs fare buckets")
    args = parser.parse_args()
    admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin(args.pg, f"CREATE DATABASE {SCRATCH}")
    database = open_database(f"{args.pg.rsplit('/', 1)[0]}/{SCRATCH}")
    try:
        models.database.initialize(database)
        migrate("flights", database)
        total = args.clients * args.attempts
        # The hot flight has seats for about 60% of the passengers asked for, so it sells out mid-run.
        hot = add_flights(1, capacity=int(total * 2 * 0.6), tag="HOT")
        spread = add_flights(args.flights, capacity=max(1, int(total * 2 * 0.6 / args.flights)), tag="SPR")
        models.database.close()
        results = [("one hot flight", run(hot, args.clients, args.attempts)),
                   (f"spread over {args.flights} flights", run(spread, args.clients, args.attempts))]
        for label, result in results:
            report(label, args.clients, result)
        side_by_side = flat_vs_buckets(args, int(total * 2 * 0.6))
        return 1 if any(r["oversold"] for _, r in results) or side_by_side else 0
    finally:
        database.close_all()
        admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
