"""Where the booking path's Python time goes: cProfile of hold, create-intent and pay (mock bank), in process
on PostgreSQL, after a warm-up, timed by the calling thread's CPU clock (waiting on the database is not counted);
prints each operation's CPU per operation unprofiled, then its top frames by own time and the statements it sends.
The hold is profiled twice: on a cabin priced flat and on one priced in fare buckets (issue 21).

    python bench/profile_booking.py [--operations 300] [--top 15] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Scratch databases (fbbench_profile_<module>) are created and dropped again.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flightbook.contracts.flights import BookingRequest, PassengerInput  # noqa: E402
from flightbook.contracts.payments import CardInput  # noqa: E402
from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.auth import Principal  # noqa: E402
from bench.common import drop_scratch_system, scratch_system  # noqa: E402

CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=dt.date.today().year + 2, cvc="123")


def a_flight(seats: int, tag: str = "PF1", buckets: bool = False) -> int:
    """A flight 15 days ahead (the advance-purchase rule's 100 %), priced flat at 199.00 or in the default fare
    buckets of that base fare."""
    from flightbook.modules.flights.catalogue import pricing
    from flightbook.modules.flights.models import Airport, Flight, SeatInventory
    for code in ("LHR", "JFK"):
        Airport.insert(iata=code, name=code, city=code, country="GB", lat=0, lon=0, tz="Europe/London",
                       search_text=code.lower()).on_conflict_ignore().execute()
    departs = clock.now().replace(microsecond=0) + dt.timedelta(days=15, hours=6)
    priced: dict = {"fare_amount": 19900}
    if buckets:
        state = pricing.opening_state(19900, seats, dt.time(12), pricing.DEFAULT_BUCKETS)
        priced = dict(buckets=pricing.state_text(state), fare_amount=pricing.next_price(state),
                      next_fares=pricing.ladder_text([(s.price, s.left) for s in state]))
    flight = Flight.create(flight_number=tag, airline="Bench Air", origin="LHR", destination="JFK",
                           service_date=departs.date(), departs_at=clock.to_db(departs),
                           arrives_at=clock.to_db(departs + dt.timedelta(hours=8)), duration_minutes=480)
    SeatInventory.insert(flight=flight.id, cabin="economy", capacity=seats, seats_left=seats, currency="USD",
                         **priced).execute()
    return flight.id


class StatementCounter:
    """Counts the statements peewee sends (every execute_sql of every module's database)."""

    def __init__(self, databases):
        self.count = 0
        self.databases = [getattr(d, "obj", d) for d in databases]

    def __enter__(self):
        for database in self.databases:
            original = database.execute_sql

            def counted(sql, params=None, *args, _original=original, **kwargs):
                self.count += 1
                return _original(sql, params, *args, **kwargs)
            database.execute_sql = counted
        return self

    def __exit__(self, *exc):
        for database in self.databases:
            del database.execute_sql


def profiled(label: str, work, args, databases) -> None:
    """The first half of ``work`` unprofiled (its CPU per operation: the real figure), the second half under
    cProfile (which slows Python down several times: its figures are for the frames' shares)."""
    half = len(work) // 2
    cpu = time.thread_time()
    for item in work[:half]:
        item()
    plain = (time.thread_time() - cpu) / half * 1000
    profile = cProfile.Profile(time.thread_time)  # CPU of this thread: waiting on the database is not counted
    with StatementCounter(databases) as counter:
        profile.enable()
        for item in work[half:]:
            item()
        profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    total = stats.total_tt / (len(work) - half) * 1000
    print(f"== {label}: {plain:.2f} ms CPU of the calling thread per operation ({half} operations), "
          f"{total:.2f} ms under cProfile; {counter.count / (len(work) - half):.1f} statements per operation "
          "(BEGIN/COMMIT not counted)")
    stats.sort_stats("tottime").print_stats(args.top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join(lines[start:start + args.top + 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=300)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    system = scratch_system(args.pg, "fbbench_profile")
    try:
        flights, payments = system.contracts["flights"], system.contracts["payments"]
        databases = list(system.databases.values())
        flight_id = a_flight(seats=(args.operations + 50) * 2)
        bucketed_id = a_flight(seats=(args.operations + 50) * 2, tag="PF2", buckets=True)
        caller = Principal(kind="user", user_id=1001)
        request = BookingRequest(outbound_flight_id=flight_id, cabin="economy", contact_email="bench@example.com",
                                 passengers=[PassengerInput("Pax", "Bench", dt.date(1990, 1, 1))])
        bucketed = BookingRequest(outbound_flight_id=bucketed_id, cabin="economy", contact_email="bench@example.com",
                                  passengers=[PassengerInput("Pax", "Bench", dt.date(1990, 1, 1))])
        for _ in range(20):  # warm-up: connections, prepared statements, memos
            booking = flights.book(caller, request)
            flights.book(caller, bucketed)
            intent = payments.create_intent(caller, booking.ref)
            payments.process_payment(caller, intent.id, CARD, f"warm-{intent.id}")
        refs: list[str] = []
        hold = [lambda: refs.append(flights.book(caller, request).ref)] * args.operations
        profiled("hold (FlightsContract.book), flat fare", hold, args, databases)
        profiled("hold (FlightsContract.book), fare buckets",
                 [lambda: flights.book(caller, bucketed)] * args.operations, args, databases)
        intents: list[str] = []
        profiled("create-intent", [lambda ref=ref: intents.append(payments.create_intent(caller, ref).id)
                                   for ref in refs],
                 args, databases)
        profiled("pay (mock bank)", [lambda i=i: payments.process_payment(caller, i, CARD, f"key-{i}") for i in intents],
                 args, databases)
    finally:
        drop_scratch_system(args.pg, "fbbench_profile", system)


if __name__ == "__main__":
    main()
