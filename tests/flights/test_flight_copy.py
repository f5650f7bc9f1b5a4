"""import-flights' direct COPY path (PostgreSQL, dates new to those flight numbers) writes the same flights and
inventory as the SQLite path and the staging path, keeps the flight table's indexes, and its inventory check
still refuses a statement naming a missing flight. Runs on both backends: SQLite is the reference."""
from __future__ import annotations

import datetime as dt

import peewee
import pytest

from flightbook.kernel.db import is_postgres
from flightbook.modules.flights.catalogue import airports, flight_copy, schedule_import, schedules
from flightbook.modules.flights.models import Flight, SeatInventory
from tests.flights.builders import UOW
from tests.flights.test_import import next_dst_change, schedule_row, write_airports, write_schedule


def _rows(database) -> tuple[list, list]:
    """Every flight and inventory row, keyed by flight number and date (not by id)."""
    flights = sorted((f.flight_number, str(f.service_date), str(f.departs_at), str(f.arrives_at), f.airline,
                      f.origin, f.destination, f.duration_minutes) for f in Flight.select())
    inventory = sorted((i.flight.flight_number, str(i.flight.service_date), i.cabin, i.capacity, i.seats_left,
                        i.fare_amount, i.currency, i.buckets, i.next_fares)
                       for i in SeatInventory.select(SeatInventory, Flight).join(Flight))
    return flights, inventory


@pytest.fixture
def flights_db(system, tmp_path):
    airports.import_airports(UOW, write_airports(tmp_path))
    return system.parts["flights"].database


def _schedule(tmp_path, name="schedule.csv"):
    return write_schedule(tmp_path, [
        schedule_row(),
        schedule_row(flight_number="FB101", origin="LHR", destination="JFK", departure_local="02:30",
                     duration_minutes=480, weekdays="135", first_seats=4, first_fare="2500.00", currency="GBP",
                     economy_fare="300.00", business_fare="1200.00", airline="Aérolíneas d'Été"),
        schedule_row(flight_number="FB102", origin="NRT", destination="CDG", departure_local="23:55",
                     duration_minutes=750, weekdays="7"),
    ], name)


def test_flights_and_inventory_match_the_schedule_rules_across_a_dst_change(flights_db, tmp_path):
    start = next_dst_change("America/New_York", dt.date.today() + dt.timedelta(days=1)) - dt.timedelta(days=3)
    path = _schedule(tmp_path)
    result = schedule_import.import_flights(UOW, path, start, 10)
    zones = {"JFK": "America/New_York", "LHR": "Europe/London", "NRT": "Asia/Tokyo"}
    parsed = schedules.read_schedule(path, {**zones, "LAX": "x", "CDG": "x"})
    expected = sorted((f.row.flight_number, str(f.service_date), str(f.departs_at.replace(tzinfo=None)),
                       str(f.arrives_at.replace(tzinfo=None)), f.row.airline, f.row.origin, f.row.destination,
                       f.row.duration_minutes) for f in schedules.expand(parsed, start, 10, zones))
    flights, inventory = _rows(flights_db)
    assert [f[:4] + f[5:] for f in flights] == [e[:4] + e[5:] for e in expected]
    assert [f[4] for f in flights] == [e[4] for e in expected]  # accents and quotes survive COPY
    assert result.added == len(expected) and result.inventory_rows == len(inventory)
    by_number = {r.flight_number: r for r in parsed}
    assert inventory == sorted((number, day, cabin, by_number[number].seats[cabin], by_number[number].seats[cabin],
                                *by_number[number].openings[cabin][:1], by_number[number].currency,
                                *by_number[number].openings[cabin][1:])
                               for number, day, *_ in flights for cabin in ("economy", "business", "first")
                               if by_number[number].seats[cabin])


def test_a_later_range_goes_in_beside_sold_seats_and_an_overlapping_one_adds_only_new_dates(flights_db, tmp_path):
    start = dt.date.today() + dt.timedelta(days=3)
    path = _schedule(tmp_path)
    first = schedule_import.import_flights(UOW, path, start, 21)
    sold = SeatInventory.select().order_by(SeatInventory.flight).first()
    SeatInventory.update(seats_left=1).where(SeatInventory.flight == sold.flight_id,
                                              SeatInventory.cabin == sold.cabin).execute()
    later = schedule_import.import_flights(UOW, path, start + dt.timedelta(days=21), 7)  # new dates, smaller than table
    both = schedule_import.import_flights(UOW, path, start + dt.timedelta(days=14), 21)  # overlaps: staging path
    zones = dict(flights_db.execute_sql("SELECT iata, tz FROM airport").fetchall())
    parsed = schedules.read_schedule(path, zones)
    assert (later.added, later.existing) == (schedules.count_dated(parsed, start + dt.timedelta(days=21), 7), 0)
    assert (both.added, both.existing) == (schedules.count_dated(parsed, start + dt.timedelta(days=28), 7),
                                           schedules.count_dated(parsed, start + dt.timedelta(days=14), 14))
    assert Flight.select().count() == first.added + later.added + both.added
    assert SeatInventory.get(flight=sold.flight_id, cabin=sold.cabin).seats_left == 1
    numbers_and_dates = [(f.flight_number, f.service_date) for f in Flight.select()]
    assert len(numbers_and_dates) == len(set(numbers_and_dates))
    ids = [f.id for f in Flight.select(Flight.id)]
    assert len(ids) == len(set(ids))
    assert not SeatInventory.select().join(Flight, peewee.JOIN.LEFT_OUTER).where(Flight.id.is_null()).exists()


_INDEXES = "SELECT indexdef FROM pg_indexes WHERE tablename IN ('flight', 'seat_inventory')"


def test_the_import_keeps_the_flight_and_inventory_indexes(flights_db, tmp_path):
    if not is_postgres(flights_db):
        pytest.skip("indexes are set aside only on PostgreSQL")
    before = sorted(flights_db.execute_sql(_INDEXES).fetchall())
    schedule_import.import_flights(UOW, _schedule(tmp_path), dt.date.today() + dt.timedelta(days=3), 14)  # first load
    schedule_import.import_flights(UOW, _schedule(tmp_path), dt.date.today() + dt.timedelta(days=17), 2)  # small one
    after = sorted(flights_db.execute_sql(_INDEXES).fetchall())
    assert after == before and len(before) == 5  # flight: 4 with service_date (the admin overview); inventory: 1


def test_an_inventory_statement_with_a_gap_in_its_flight_ids_is_refused(flights_db, tmp_path):
    if not is_postgres(flights_db):
        pytest.skip("SQLite checks each row with its foreign key")
    schedule_import.import_flights(UOW, _schedule(tmp_path), dt.date.today() + dt.timedelta(days=3), 7)
    highest = Flight.select(peewee.fn.MAX(Flight.id)).scalar()
    rows = [{"flight": flight_id, "cabin": "promo", "capacity": 1, "seats_left": 1, "fare_amount": 1,
             "currency": "USD"} for flight_id in (highest - 1, highest, highest + 2)]
    with pytest.raises(peewee.IntegrityError), flights_db.atomic():
        SeatInventory.insert_many(rows).execute()
    assert SeatInventory.select().where(SeatInventory.cabin == "promo").count() == 0


def test_overlap_is_seen_for_any_flight_number_of_the_schedule(flights_db, tmp_path):
    if not is_postgres(flights_db):
        pytest.skip("the direct path is PostgreSQL's")
    path = _schedule(tmp_path)
    start = dt.date.today() + dt.timedelta(days=3)
    schedule_import.import_flights(UOW, write_schedule(tmp_path, [schedule_row(flight_number="FB102", origin="NRT",
                                                                          destination="CDG")], "one.csv"), start, 1)
    zones = dict(flights_db.execute_sql("SELECT iata, tz FROM airport").fetchall())
    parsed = schedules.read_schedule(path, zones)
    with flights_db.atomic():
        cursor = flights_db.cursor()
        assert flight_copy.overlaps(cursor, parsed, start, 1)
        assert not flight_copy.overlaps(cursor, parsed, start + dt.timedelta(days=1), 5)
