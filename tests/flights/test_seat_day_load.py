"""The seats of each service date and cabin, counted by the inventory's triggers (seat_day_load, the admin
overview's load factor), on both backends: always what the seat inventory of that day's flights adds up to,
through an import, single flights added, holds, cancellations and expiries, and a flight moved to another day."""
from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import peewee as pw

from flightbook.kernel import clock
from flightbook.modules.flights.catalogue import airports, pricing, reschedule, schedule_import
from flightbook.modules.flights.console.flights import fold_seat_days, load_by_day
from flightbook.modules.flights.models import Booking, Flight, SeatDayChange, SeatInventory
from tests.conftest import register_and_login
from tests.e2e.test_saga import book, lapse
from tests.flights.builders import UOW, add_airports, add_flight
from tests.flights.test_booking_concurrency import run_together
from tests.flights.test_import import schedule_row, write_airports, write_schedule

SOON = dt.date.today() + dt.timedelta(days=3)
FAR = (SOON - dt.timedelta(days=5), SOON + dt.timedelta(days=30))


def inventory_says(first: dt.date, last: dt.date) -> list[tuple]:
    """(service date, cabin, capacity, sold) added up from every inventory row of the days' flights."""
    rows: Any = (SeatInventory.select(Flight.service_date, SeatInventory.cabin, pw.fn.SUM(SeatInventory.capacity),
                                      pw.fn.SUM(SeatInventory.capacity - SeatInventory.seats_left))
                 .join(Flight).where((Flight.service_date >= first) & (Flight.service_date <= last))
                 .group_by(Flight.service_date, SeatInventory.cabin).tuples())
    return sorted((dt.date.fromisoformat(str(day)[:10]), cabin, int(capacity), int(sold))
                  for day, cabin, capacity, sold in rows)


def counted(first: dt.date, last: dt.date) -> list[tuple]:
    return sorted((day, cabin, capacity, sold) for day, cabin, capacity, sold in load_by_day(first, last)
                  if capacity)  # a day whose flights all moved away keeps its counter rows at zero


def test_the_counters_follow_imports_holds_cancellations_expiries_and_moved_flights(system, api, tmp_path):
    airports.import_airports(UOW, write_airports(tmp_path, ("LHR", "JFK", "CDG")))
    rows = [schedule_row(flight_number="ZZ100", origin="JFK", destination="LHR", departure_local="19:00",
                         duration_minutes=420),
            schedule_row(flight_number="ZZ200", origin="LHR", destination="CDG", departure_local="08:00",
                         duration_minutes=70)]
    schedule_import.import_flights(UOW, write_schedule(tmp_path, rows), SOON - dt.timedelta(days=1), 6,
                                   fare_rules=pricing.FLAT_RULES)
    add_airports("LHR", "JFK")
    single = add_flight(departs_at=clock.now() + dt.timedelta(days=4), cabins={"economy": (40, 20000),
                                                                              "business": (8, 90000)})
    assert counted(*FAR) == inventory_says(*FAR) and len(inventory_says(*FAR)) >= 6
    fold_seat_days(UOW)
    assert SeatDayChange.select().count() == 0 and counted(*FAR) == inventory_says(*FAR)

    traveller = register_and_login(api)
    refs = [book(traveller, single) for _ in range(3)]
    assert traveller.post(f"/api/tickets/{refs[0]}/cancel").status_code == 200
    lapse(refs[1])
    system.parts["flights"].contract.expire_holds()
    assert Booking.get_by_id(refs[1]).status == "EXPIRED"
    on_the_day = [(d, c, cap, sold) for d, c, cap, sold in counted(*FAR) if c == "economy"
                  and d == dt.date.fromisoformat(str(single.service_date))]
    assert on_the_day and on_the_day[0][3] >= 1  # the third booking's seat is sold
    assert counted(*FAR) == inventory_says(*FAR)
    fold_seat_days(UOW)
    assert counted(*FAR) == inventory_says(*FAR)

    moved = reschedule.reschedule_flight(UOW, single.id, delay_minutes=24 * 60)
    assert moved.moved and Flight.get_by_id(single.id).service_date != single.service_date
    assert counted(*FAR) == inventory_says(*FAR)
    assert load_by_day(SOON, SOON + dt.timedelta(days=1)) and counted(SOON, SOON) == inventory_says(SOON, SOON)


def test_holds_taking_seats_of_one_days_flights_at_once_neither_queue_on_a_counter_nor_deadlock(system):
    """Writers of one day's seats only append: transactions each taking seats on two of that day's flights
    in flight-id order (as a multi-leg hold does), with folds running between them, all commit, and the
    totals are the inventory's. (Counter rows updated in place, a few per day, made such pairs take them in
    crossing orders and deadlock on PostgreSQL.)"""
    add_airports("LHR", "JFK")
    day = clock.now() + dt.timedelta(days=6)
    flights = [add_flight(departs_at=day + dt.timedelta(minutes=i), cabins={"economy": (500, 10000)}).id
               for i in range(40)]
    database = SeatInventory._meta.database
    taken: list[int] = []

    def take(i: int) -> None:
        pick = random.Random(i)
        for _ in range(30):
            with UOW.transaction():
                for flight_id in sorted(pick.sample(flights, 2)):
                    SeatInventory.update(seats_left=SeatInventory.seats_left - 1).where(
                        (SeatInventory.flight == flight_id) & (SeatInventory.seats_left > 0)).execute()
                    time.sleep(0.002)  # the hold's other statements between its legs
            taken.append(2)
            if i == 0:
                fold_seat_days(UOW)
        database.close()

    run_together(6, take)
    fold_seat_days(UOW)
    assert sum(taken) == 360 and counted(*FAR) == inventory_says(*FAR)
    assert sum(500 - s.seats_left for s in SeatInventory.select().where(SeatInventory.flight.in_(flights))) == 360
