"""The fare calendar on both backends: each day's cheapest journey, direct or connecting, with enough seats on
every leg, and its limits."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import CalendarQuery, FlightQuery
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.flights.catalogue import calendar, search
from flightbook.modules.flights.models import SeatInventory
from tests.flights.builders import UOW, add_airports, add_leg, local

DAY = dt.date.today() + dt.timedelta(days=20)


@pytest.fixture
def week(system):
    """Day 0: a direct flight only. Day 1: a direct flight dearer than a connection. Day 2: nothing. Day 3: a
    connection only (leaving at 22:00 in New York: the next day in UTC), and a cheaper one with one seat."""
    add_airports("JFK", "ORD", "LAX")
    flights = {
        "direct0": add_leg("JFK", "LAX", local("JFK", DAY, "09:00"), 360, fare=30000),
        "direct1": add_leg("JFK", "LAX", local("JFK", DAY + dt.timedelta(days=1), "09:00"), 360, fare=45000),
        "first1": add_leg("JFK", "ORD", local("JFK", DAY + dt.timedelta(days=1), "07:00"), 165, fare=10000),
        "second1": add_leg("ORD", "LAX", local("ORD", DAY + dt.timedelta(days=1), "10:00"), 255, fare=20000),
        "first3": add_leg("JFK", "ORD", local("JFK", DAY + dt.timedelta(days=3), "22:00"), 165, fare=12000),
        "second3": add_leg("ORD", "LAX", local("ORD", DAY + dt.timedelta(days=4), "07:00"), 255, fare=20000),
        "full3": add_leg("ORD", "LAX", local("ORD", DAY + dt.timedelta(days=4), "06:00"), 255, fare=1000, seats=1),
    }
    return flights


def days(first=DAY, last=DAY + dt.timedelta(days=3), **query):
    found = calendar.flight_calendar(UOW, CalendarQuery("JFK", "LAX", first, last, **query))
    return [(d.date, d.total, d.stops) for d in found.days]


def test_each_day_has_its_cheapest_journey_direct_or_connecting(week):
    usd = lambda amount: Money(amount, "USD")  # noqa: E731
    assert days(passengers=2) == [
        (DAY, usd(60000), 0),
        (DAY + dt.timedelta(days=1), usd(60000), 1),  # 2 x (10000 + 20000), below 2 x 45000
        (DAY + dt.timedelta(days=2), None, None),
        (DAY + dt.timedelta(days=3), usd(64000), 1),  # the 1000 leg has one seat: not for two
    ]
    assert days(passengers=1)[3] == (DAY + dt.timedelta(days=3), usd(13000), 1)


def test_direct_only_and_the_seats_of_every_leg_count(week):
    assert [total and total.amount for _, total, _ in days(max_stops=0)] == [30000, 45000, None, None]
    SeatInventory.update(seats_left=0).where(SeatInventory.flight == week["second1"].id).execute()
    assert days()[1][1:] == (Money(45000, "USD"), 0)


def test_a_calendar_agrees_with_search_day_by_day(week):
    for date, total, stops in days():
        options = search.search_flights(UOW, FlightQuery("JFK", "LAX", date, sort="price")).outbound
        assert (total, stops) == ((options[0].total, options[0].stops) if options else (None, None))


@pytest.mark.parametrize("changes, field", [
    ({"last": DAY - dt.timedelta(days=1)}, "to"),
    ({"last": DAY + dt.timedelta(days=62)}, "to"),
    ({"first": dt.date.today() - dt.timedelta(days=2)}, "from"),
    ({"passengers": 10}, "passengers"),
    ({"max_stops": 3}, "max_stops"),
    ({"cabin": "premium"}, "cabin"),
])
def test_bad_calendars_name_the_field(week, changes, field):
    query = {"first": DAY, "last": DAY + dt.timedelta(days=3), **changes}
    with pytest.raises(ValidationError) as bad:
        calendar.flight_calendar(UOW, CalendarQuery("JFK", "LAX", **query))
    assert bad.value.field == field


def test_62_days_is_the_longest_range(week):
    assert len(days(last=DAY + dt.timedelta(days=61))) == 62


def test_http_calendar_answers_days_and_400s(api, week):
    base = {"origin": "JFK", "destination": "LAX", "from": DAY.isoformat(),
            "to": (DAY + dt.timedelta(days=2)).isoformat()}
    resp = api.get("/api/flights/calendar", params={**base, "passengers": "2"})
    assert resp.status_code == 200, resp.text
    assert resp.json == {"days": [
        {"date": DAY.isoformat(), "total": {"amount": 60000, "currency": "USD"}, "stops": 0},
        {"date": (DAY + dt.timedelta(days=1)).isoformat(), "total": {"amount": 60000, "currency": "USD"}, "stops": 1},
        {"date": (DAY + dt.timedelta(days=2)).isoformat(), "total": None, "stops": None}]}
    for bad, field in ((dict(to="soon"), "to"), ({"from": ""}, "from"), (dict(origin="ZZZ"), "origin"),
                       (dict(to=(DAY + dt.timedelta(days=90)).isoformat()), "to"), (dict(max_stops="x"), "max_stops")):
        resp = api.get("/api/flights/calendar", params={**base, **bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json["error"]["field"] == field
