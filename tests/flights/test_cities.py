"""Metropolitan areas and local names: importing them, finding them among places, searching from and to them."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import CalendarQuery, FlightQuery
from flightbook.kernel.errors import ValidationError
from flightbook.modules.flights.catalogue import (airports, calendar, cities, places, pricing, schedule_import,
                                                 search)
from flightbook.modules.flights.booking import bookings
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.catalogue.airports import BadImportFile
from flightbook.modules.flights.models import Flight
from tests.flights.builders import UOW
from tests.flights.test_import import schedule_row, write_airports, write_schedule

SOON = dt.date.today() + dt.timedelta(days=20)
CODES = ("LHR", "LGW", "STN", "LTN", "LCY", "SEN", "JFK", "LGA", "EWR", "CDG", "ORY", "MUC", "ZRH", "FCO", "CIA",
         "LAX")


def _metro(tmp_path, fare_rules):
    """The real cities and aliases files over some of the real airports, and a few flights between the areas
    priced by ``fare_rules``."""
    airports.import_airports(UOW, write_airports(tmp_path, CODES))
    result = cities.import_cities(UOW)
    rows = [schedule_row(flight_number="FB100", origin="JFK", destination="LHR", departure_local="19:00",
                         duration_minutes=420, economy_fare="500.00"),
            schedule_row(flight_number="FB200", origin="EWR", destination="LGW", departure_local="20:00",
                         duration_minutes=425, economy_fare="450.00"),
            schedule_row(flight_number="FB300", origin="LGA", destination="LCY", departure_local="21:00",
                         duration_minutes=430, economy_fare="550.00"),
            schedule_row(flight_number="FB400", origin="LHR", destination="JFK", departure_local="09:00",
                         duration_minutes=480, economy_fare="520.00"),
            schedule_row(flight_number="FB500", origin="JFK", destination="LAX", departure_local="08:00"),
            schedule_row(flight_number="FB600", origin="LGW", destination="EWR", departure_local="10:00",
                         duration_minutes=480, economy_fare="480.00"),
            schedule_row(flight_number="FB700", origin="CDG", destination="JFK", departure_local="10:00",
                         duration_minutes=480, economy_fare="480.00")]
    schedule_import.import_flights(UOW, write_schedule(tmp_path, rows), SOON - dt.timedelta(days=1), 5,
                                   fare_rules=fare_rules)
    return result


@pytest.fixture
def metro(system, tmp_path):
    """The areas' flights priced flat (one fare a seat): these tests are about places, not prices."""
    return _metro(tmp_path, pricing.FLAT_RULES)


@pytest.fixture
def metro_in_buckets(system, tmp_path):
    """The same flights priced as an airline's (data/fare_rules.toml: buckets, time of day)."""
    return _metro(tmp_path, None)


def test_the_import_keeps_cities_with_at_least_two_known_airports(metro):
    # London, New York, Paris and Rome have two known airports or more here; the other cities are skipped
    # München, Zürich, Roma, Londres, Londra, Nueva York (Köln is left out: CGN is not known here)
    assert (metro.cities, metro.aliases) == (4, 6)
    assert metro.skipped > 10
    again = cities.import_cities(UOW)
    assert again == metro


def test_a_city_comes_first_with_its_airports(metro):
    found = places.search_places("london", 10)
    assert found[0].iata == "LON" and found[0].kind == "city" and found[0].city == "London"
    assert found[0].airports == ["LHR", "LGW", "STN", "LTN", "LCY", "SEN"]
    assert found[0].tz == "Europe/London"
    assert {p.iata for p in found[1:]} >= {"LHR", "LGW", "STN", "LTN", "LCY"}  # Southend is not in London
    assert all(p.kind == "airport" for p in found[1:])
    assert places.search_places("NYC", 10)[0].airports == ["JFK", "LGA", "EWR"]


def test_a_place_is_found_by_its_local_name(metro):
    assert places.search_places("München", 5)[0].iata == "MUC"
    assert places.search_places("zurich", 5)[0].iata == "ZRH"
    assert places.search_places("roma", 5)[0].iata == "ROM"
    assert places.search_places("londres", 5)[0].iata == "LON"


def test_http_place_search_returns_the_city_first(api, metro):
    resp = api.get("/api/places/search", params={"q": "london"})
    assert resp.status_code == 200
    first = resp.json["places"][0]
    assert (first["iata"], first["kind"], first["airports"][0]) == ("LON", "city", "LHR")


def test_a_search_between_cities_covers_every_airport_pair(metro):
    found = search.search_flights(UOW, FlightQuery(origin="NYC", destination="LON", date=SOON, sort="price",
                                                   max_stops=0))
    assert [(o.origin, o.destination, o.flight_number) for o in found.outbound] == [
        ("EWR", "LGW", "FB200"), ("JFK", "LHR", "FB100"), ("LGA", "LCY", "FB300")]
    one_airport = search.search_flights(UOW, FlightQuery(origin="NYC", destination="LHR", date=SOON,
                                                         return_date=SOON + dt.timedelta(days=1)))
    assert [o.flight_number for o in one_airport.outbound] == ["FB100"]
    assert [o.flight_number for o in one_airport.inbound] == ["FB400"]


def test_a_city_search_prices_every_option_for_the_party_as_its_airport_pair_and_booking_would(metro_in_buckets):
    party = dict(passengers=2, children=1, infants=1, max_stops=0)
    found = search.search_flights(UOW, FlightQuery(origin="NYC", destination="LON", date=SOON, **party)).outbound
    assert {o.flight_number for o in found} == {"FB100", "FB200", "FB300"}
    for option in found:
        alone = search.search_flights(UOW, FlightQuery(origin=option.origin, destination=option.destination,
                                                       date=SOON, **party)).outbound
        assert [(o.id, o.fare, o.total) for o in alone] == [(option.id, option.fare, option.total)]
        # the cheapest bucket prices it (60 % of the schedule's base fare, by time of day), not the base fare
        assert option.fare.amount < {"FB100": 50000, "FB200": 45000, "FB300": 55000}[option.flight_number]
        quote = bookings.quote_trip(UOW, "economy", 2, option.id, None, BookingRules(), children=1, infants=1)
        assert quote.total == option.total
    # the fare rules reach every airport pair's search: children at half the adult fare here
    half = search.search_flights(UOW, FlightQuery(origin="NYC", destination="LON", date=SOON, **party),
                                 fare_rules=pricing.FareRules(child_percent=50)).outbound
    assert all(a.total.amount < b.total.amount for a, b in zip(sorted(half, key=lambda o: o.id),
                                                              sorted(found, key=lambda o: o.id)))


def _flight(number: str, day: int = 0) -> str:
    """The id of flight ``number`` on the ``day``-th day it flies."""
    return str(Flight.select().where(Flight.flight_number == number).order_by(Flight.departs_at)
               .offset(day).first().id)


def test_a_return_may_come_back_through_another_airport_of_each_city(metro):
    there, back, paris = _flight("FB100"), _flight("FB600", 2), _flight("FB700", 2)  # JFK-LHR, LGW-EWR, CDG-JFK
    quote = bookings.quote_trip(UOW, "economy", 2, there, back, BookingRules())
    assert (quote.total.amount, [m.amount for m in quote.directions]) == (196000, [100000, 96000])
    with pytest.raises(ValidationError) as elsewhere:
        bookings.quote_trip(UOW, "economy", 2, there, paris, BookingRules())
    assert elsewhere.value.field == "return_id"


def test_a_fare_calendar_between_cities_takes_the_cheapest_airport_pair(metro):
    days = calendar.flight_calendar(UOW, CalendarQuery(origin="NYC", destination="LON", first=SOON,
                                                       last=SOON + dt.timedelta(days=1), max_stops=0)).days
    assert [d.total.amount if d.total else None for d in days] == [45000, 45000]


@pytest.mark.parametrize("origin, destination, field", [("LON", "LHR", "destination"), ("QQQ", "LON", "origin"),
                                                        ("NYC", "XYZ", "destination")])
def test_a_city_search_names_what_is_wrong(metro, origin, destination, field):
    with pytest.raises(ValidationError) as raised:
        search.search_flights(UOW, FlightQuery(origin=origin, destination=destination, date=SOON))
    assert raised.value.field == field


@pytest.mark.parametrize("text, message", [
    ("code,name,country,airports\nLHR,London,GB,LGW STN\n", "is an airport's code"),
    ("code,name,country,airports\nLO,London,GB,LHR LGW\n", "code must be 3 letters"),
    ("code,name,country,airports\nLON,London,GBR,LHR LGW\n", "country must be"),
    ("code,name,country,airports\nLON,London,GB,LHR LGW\nLON,London,GB,LHR LGW\n", "duplicate code LON"),
    ("code,name,airports\nLON,London,LHR LGW\n", "missing column(s) country"),
])
def test_a_bad_cities_file_names_its_line_and_changes_nothing(metro, tmp_path, text, message):
    path = tmp_path / "cities.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadImportFile) as raised:
        cities.import_cities(UOW, path)
    assert message in raised.value.message
    assert places.search_places("london", 1)[0].iata == "LON"
