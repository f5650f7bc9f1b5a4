"""A flight an admin cancelled is offered nowhere, on both backends: not by search, direct or as a leg of a
connection, not by the fare calendar, not by a search between cities."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import CalendarQuery, FlightQuery
from flightbook.kernel.auth import Principal
from flightbook.kernel.money import Money
from flightbook.modules.flights.catalogue import calendar, search
from flightbook.modules.flights.console import flights as console_flights
from flightbook.modules.flights.models import Flight
from tests.flights.builders import UOW, add_airports, add_leg, local
from tests.flights.test_cities import SOON, metro  # noqa: F401 - the fixture

DAY = dt.date.today() + dt.timedelta(days=20)
ADMIN = Principal(kind="user", user_id=1, username="boss", is_admin=True)


def cancel(flight_id: int) -> None:
    console_flights.cancel_flight(UOW, flight_id, ADMIN, "aircraft grounded")


@pytest.fixture
def day(system):
    """A direct JFK-LAX, and a cheaper connection through ORD, on DAY."""
    add_airports("JFK", "ORD", "LAX")
    return {"direct": add_leg("JFK", "LAX", local("JFK", DAY, "09:00"), 360, fare=30000),
            "first": add_leg("JFK", "ORD", local("JFK", DAY, "07:00"), 165, fare=10000),
            "second": add_leg("ORD", "LAX", local("ORD", DAY, "10:00"), 255, fare=12000)}


def found(**query) -> set[str]:
    return {o.id for o in search.search_flights(UOW, FlightQuery("JFK", "LAX", DAY, **query)).outbound}


def cheapest(**query):
    (only,) = calendar.flight_calendar(UOW, CalendarQuery("JFK", "LAX", DAY, DAY, **query)).days
    return only.total, only.stops


def test_a_cancelled_flight_is_no_longer_offered_direct(day):
    assert str(day["direct"].id) in found(max_stops=0)
    assert cheapest(max_stops=0) == (Money(30000, "USD"), 0)
    cancel(day["direct"].id)
    assert found(max_stops=0) == set()
    assert cheapest(max_stops=0) == (None, None)


def test_a_cancelled_flight_is_no_leg_of_a_connection(day):
    connection = f"{day['first'].id}-{day['second'].id}"
    assert connection in found(max_stops=1)
    assert cheapest() == (Money(22000, "USD"), 1)
    cancel(day["second"].id)
    assert found(max_stops=1) == {str(day["direct"].id)}
    assert cheapest() == (Money(30000, "USD"), 0)


def test_a_cancelled_flight_is_not_offered_between_cities(metro):  # noqa: F811
    def numbers() -> set[str]:
        return {o.flight_number for o in search.search_flights(
            UOW, FlightQuery(origin="NYC", destination="LON", date=SOON, max_stops=0)).outbound}

    assert numbers() == {"FB100", "FB200", "FB300"}
    cheapest_pair = Flight.get((Flight.flight_number == "FB200") & (Flight.service_date == SOON))
    cancel(cheapest_pair.id)
    assert numbers() == {"FB100", "FB300"}
    days = calendar.flight_calendar(UOW, CalendarQuery(origin="NYC", destination="LON", first=SOON, last=SOON,
                                                       max_stops=0)).days
    assert [d.total.amount if d.total else None for d in days] == [50000]
