"""Moving a dated flight (FlightsAdmin.reschedule_flight and `flightbook reschedule-flight`) on SQLite and
PostgreSQL: departure and arrival move together in the origin's zone, the bookings keep their seats, the
confirmed ones are named in FlightRescheduled, and every move that cannot be is refused with nothing changed."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

import cli
from flightbook import wiring
from flightbook.contracts.flights import FlightDeparted, FlightNotFound
from flightbook.kernel import clock
from flightbook.kernel import outbox as kout
from flightbook.kernel.errors import Conflict, ValidationError
from flightbook.modules.flights.booking import bookings
from flightbook.modules.flights.models import Booking, Flight
from tests.flights.builders import UOW, add_airports, add_flight, booking_request, seats_left
from tests.contract.builders import traveller

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def admin(system):
    return wiring.flights_admin(system)


def rescheduled_events() -> list[dict]:
    t = kout.tables(UOW.database)
    return [json.loads(e.payload) for e in t.OutboxEvent.select().where(t.OutboxEvent.topic == "flight.rescheduled")]


def next_spring_forward() -> dt.date:
    """The next last Sunday of March (London's clocks skip 01:00-02:00), a while from now."""
    for year in (dt.date.today().year, dt.date.today().year + 1):
        last = dt.date(year, 3, 31)
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        if sunday > dt.date.today() + dt.timedelta(days=30):
            return sunday
    raise AssertionError("unreachable")


def test_a_flight_moves_to_a_local_time_of_its_origin_and_its_confirmed_bookings_are_named(system, admin):
    add_airports("LHR", "JFK")
    flight = add_flight("LHR", "JFK", minutes=480)
    ada, bob = traveller(system), traveller(system)
    confirmed = bookings.hold_seats(UOW, ada.user_id, booking_request(flight.id, 2), system.parts["flights"]
                                    .contract.rules)
    bookings.confirm_booking(UOW, confirmed.ref, "pay_1")
    held = bookings.hold_seats(UOW, bob.user_id, booking_request(flight.id, 1), system.parts["flights"].contract.rules)
    day = (clock.now() + dt.timedelta(days=10)).date()
    moved = admin.reschedule_flight(flight.id, dt.datetime.combine(day, dt.time(7, 15)))
    departs = dt.datetime.combine(day, dt.time(7, 15), LONDON).astimezone(clock.UTC)
    row = Flight.get_by_id(flight.id)
    assert (clock.from_db(row.departs_at), clock.from_db(row.arrives_at)) == (departs, departs + dt.timedelta(hours=8))
    assert row.service_date == day and moved.departs_local.startswith(f"{day}T07:15:00")
    assert moved.moved and moved.bookings_told == 1 and seats_left(flight.id) == 47  # seats kept
    (event,) = rescheduled_events()
    assert event["booking_refs"] == [confirmed.ref] and event["departs_at"] == clock.iso(departs)
    assert event["was_departs_at"] == clock.iso(clock.from_db(flight.departs_at))
    assert Booking.get_by_id(held.ref).status == "HELD"
    again = admin.reschedule_flight(flight.id, dt.datetime.combine(day, dt.time(7, 15)))
    assert not again.moved and len(rescheduled_events()) == 1  # already then: nothing to tell


def test_a_hold_never_outlasts_the_departure_it_is_for(system, admin):
    add_airports("LHR", "JFK")
    flight = add_flight("LHR", "JFK", departs_in=dt.timedelta(hours=3))
    held = bookings.hold_seats(UOW, traveller(system).user_id, booking_request(flight.id),
                               system.parts["flights"].contract.rules)
    admin.reschedule_flight(flight.id, delay_minutes=-170)  # now in ten minutes: before the hold's 15 would end
    row = Flight.get_by_id(flight.id)
    assert clock.from_db(Booking.get_by_id(held.ref).hold_expires_at) == clock.from_db(row.departs_at)


def test_moves_that_cannot_be_are_refused_and_change_nothing(system, admin):
    add_airports("LHR", "JFK")
    flight = add_flight("LHR", "JFK", departs_in=dt.timedelta(days=5))
    before = Flight.get_by_id(flight.id).departs_at
    with pytest.raises(FlightNotFound):
        admin.reschedule_flight(987654, delay_minutes=30)
    for bad in ({}, {"departs_local": dt.datetime(2030, 1, 1, 9), "delay_minutes": 5}, {"delay_minutes": 0},
                {"delay_minutes": 8 * 24 * 60}, {"delay_minutes": -6 * 24 * 60},
                {"departs_local": dt.datetime(2020, 1, 1, 9)}):
        with pytest.raises(ValidationError):
            admin.reschedule_flight(flight.id, **bad)
    gap = next_spring_forward()
    with pytest.raises(ValidationError, match="does not exist in Europe/London"):
        admin.reschedule_flight(flight.id, dt.datetime.combine(gap, dt.time(1, 30)))
    departed = add_flight("LHR", "JFK", departs_at=clock.now() - dt.timedelta(hours=1))
    with pytest.raises(FlightDeparted):
        admin.reschedule_flight(departed.id, delay_minutes=30)
    # the same flight number flies the next day: that service date is taken
    next_day = Flight.create(flight_number=flight.flight_number, airline=flight.airline, origin="LHR",
                             destination="JFK", service_date=flight.service_date + dt.timedelta(days=1),
                             departs_at=flight.departs_at + dt.timedelta(days=1),
                             arrives_at=flight.arrives_at + dt.timedelta(days=1), duration_minutes=480)
    with pytest.raises(Conflict) as taken:
        admin.reschedule_flight(flight.id, delay_minutes=24 * 60)
    assert taken.value.code == "flight_date_taken" and next_day.id
    assert Flight.get_by_id(flight.id).departs_at == before and rescheduled_events() == []


def test_a_return_cannot_come_to_leave_before_its_outbound_lands(system, admin):
    add_airports("LHR", "JFK")
    out = add_flight("LHR", "JFK", departs_in=dt.timedelta(days=3), minutes=480)
    back = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=4), minutes=420)
    bookings.hold_seats(UOW, traveller(system).user_id, booking_request(out.id, return_flight_id=back.id),
                        system.parts["flights"].contract.rules)
    with pytest.raises(Conflict) as clash:
        admin.reschedule_flight(back.id, delay_minutes=-20 * 60)  # would leave before the outbound lands
    assert clash.value.code == "bookings_out_of_order"
    with pytest.raises(Conflict):
        admin.reschedule_flight(out.id, delay_minutes=20 * 60)
    assert admin.reschedule_flight(back.id, delay_minutes=-6 * 60).moved  # still after the outbound lands


def test_the_command_moves_a_flight_and_says_so_in_one_line_or_why_not(system, env):
    add_airports("LHR", "JFK")
    flight = add_flight("LHR", "JFK", departs_in=dt.timedelta(days=5))

    def run(*args):
        return CliRunner().invoke(cli.app, ["reschedule-flight", *args], env=env)

    moved = run(str(flight.id), "--delay", "45")
    assert moved.exit_code == 0 and f"{flight.flight_number} ({flight.id}) LHR-JFK moved from" in moved.output
    for args, says in ((["--delay", "45"], "Missing argument"), ([str(flight.id)], "give the new local departure"),
                       ([str(flight.id), "--departs", "tomorrow"], "--departs must be a local date and time"),
                       (["987654", "--delay", "5"], "no flight 987654"),
                       ([str(flight.id), "--departs", "2020-01-01T09:00"], "must be in the future")):
        refused = run(*args)
        assert refused.exit_code != 0 and says in refused.output, (args, refused.output)
