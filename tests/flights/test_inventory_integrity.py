"""Seat inventory always names an existing flight, on both backends (PostgreSQL checks it once per statement)."""
from __future__ import annotations

import datetime as dt

import peewee
import pytest

from flightbook.modules.flights.catalogue import airports, schedule_import
from flightbook.modules.flights.models import Flight, SeatInventory
from tests.flights.builders import UOW
from tests.flights.test_import import schedule_row, write_airports, write_schedule


@pytest.fixture
def imported(system, tmp_path):
    airports.import_airports(UOW, write_airports(tmp_path))
    schedule_import.import_flights(UOW, write_schedule(tmp_path, [schedule_row()]),
                                   dt.date.today() + dt.timedelta(days=5), 3)
    return system.parts["flights"].database


def _inventory(flight_id: int, cabin: str = "economy") -> dict:
    return {"flight": flight_id, "cabin": cabin, "capacity": 10, "seats_left": 10, "fare_amount": 100, "currency": "USD"}


def test_inventory_for_a_missing_flight_is_refused_and_nothing_of_the_statement_stays(imported):
    highest = Flight.select(peewee.fn.MAX(Flight.id)).scalar()
    before = SeatInventory.select().count()
    with pytest.raises(peewee.IntegrityError):
        with imported.atomic():
            SeatInventory.insert_many([_inventory(highest, "first"), _inventory(highest + 1000)]).execute()
    assert SeatInventory.select().count() == before


def test_moving_inventory_to_a_missing_flight_is_refused(imported):
    row = SeatInventory.select().first()
    with pytest.raises(peewee.IntegrityError):
        with imported.atomic():
            SeatInventory.update(flight=row.flight_id + 1000).where(
                (SeatInventory.flight == row.flight_id) & (SeatInventory.cabin == row.cabin)).execute()
    assert SeatInventory.select().where(SeatInventory.flight == row.flight_id).count() == 2


def test_deleting_a_flight_deletes_its_inventory(imported):
    first, *others = [f.id for f in Flight.select().order_by(Flight.id)]
    Flight.delete().where(Flight.id == first).execute()
    assert not SeatInventory.select().where(SeatInventory.flight == first).exists()
    assert SeatInventory.select().count() == 2 * len(others)
