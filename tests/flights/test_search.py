"""Flight search on both backends: results, local times, seats, sorting and validation."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import FlightQuery
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.modules.flights.booking import bookings
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.catalogue import airports, pricing, schedule_import, schedules, search
from flightbook.modules.flights.models import Flight, SeatInventory
from tests.flights.builders import UOW, add_airports, add_flight, booking_request, price_in_buckets
from tests.flights.test_import import next_dst_change, schedule_row, write_airports, write_schedule

SOON = dt.date.today() + dt.timedelta(days=20)


@pytest.fixture
def catalogue(system, tmp_path):
    """JFK<->LAX flights for two weeks from SOON: a cheap slow morning one, a dear fast evening one, a late one."""
    airports.import_airports(UOW, write_airports(tmp_path))
    rows = [schedule_row(flight_number="FB100", departure_local="08:00", duration_minutes=390, economy_fare="199.00"),
            schedule_row(flight_number="FB200", departure_local="18:00", duration_minutes=330, economy_fare="349.50",
                         economy_seats=2),
            schedule_row(flight_number="FB300", departure_local="23:30", duration_minutes=360, economy_fare="259.00",
                         business_seats=0),
            schedule_row(flight_number="FB101", origin="LAX", destination="JFK", departure_local="07:15",
                         duration_minutes=320, economy_fare="189.00")]
    schedule_import.import_flights(UOW, write_schedule(tmp_path, rows), SOON - dt.timedelta(days=1), 14,
                                   fare_rules=pricing.FLAT_RULES)  # the pricing rules have tests of their own


def query(**overrides) -> FlightQuery:
    fields = {"origin": "JFK", "destination": "LAX", "date": SOON}
    fields.update(overrides)
    return FlightQuery(**fields)


def numbers(options) -> list[str]:
    return [o.flight_number for o in options]


def test_options_on_the_origins_local_date_sorted_by_price(catalogue):
    result = search.search_flights(UOW, query())
    # 23:30 in New York is already the next day in UTC, and still belongs to this date
    assert numbers(result.outbound) == ["FB100", "FB300", "FB200"]
    assert result.inbound == []
    late = result.outbound[1]
    assert late.departs_local.startswith(f"{SOON.isoformat()}T23:30:00-0")
    assert late.departs_at.date() == SOON + dt.timedelta(days=1)
    assert late.arrives_at - late.departs_at == dt.timedelta(minutes=360)
    assert late.arrives_local.endswith(("-08:00", "-07:00"))


def test_sorting_by_departure_and_duration(catalogue):
    assert numbers(search.search_flights(UOW, query(sort="departure")).outbound) == ["FB100", "FB200", "FB300"]
    assert numbers(search.search_flights(UOW, query(sort="duration")).outbound) == ["FB200", "FB300", "FB100"]


def test_fare_is_per_passenger_and_total_for_all_and_only_flights_with_enough_seats(catalogue):
    options = search.search_flights(UOW, query(passengers=3)).outbound
    assert numbers(options) == ["FB100", "FB300"]  # FB200 has 2 economy seats left
    assert (options[0].fare.amount, options[0].total.amount, options[0].total.currency) == (19900, 59700, "USD")
    assert options[0].seats_left == 150


def test_a_cabin_without_seats_is_not_offered(catalogue):
    options = search.search_flights(UOW, query(cabin="business")).outbound
    assert numbers(options) == ["FB100", "FB200"]
    assert options[0].fare.amount == 89950 and options[0].cabin == "business"


def test_sold_out_flights_disappear(catalogue):
    flight = Flight.get(Flight.flight_number == "FB100", Flight.service_date == SOON)
    SeatInventory.update(seats_left=0).where(SeatInventory.flight == flight.id,
                                             SeatInventory.cabin == "economy").execute()
    assert numbers(search.search_flights(UOW, query()).outbound) == ["FB300", "FB200"]


def test_return_flights_are_searched_on_the_return_date(catalogue):
    result = search.search_flights(UOW, query(return_date=SOON + dt.timedelta(days=3)))
    assert numbers(result.inbound) == ["FB101"]
    assert result.inbound[0].origin == "LAX"
    assert result.inbound[0].departs_local == f"{(SOON + dt.timedelta(days=3)).isoformat()}T07:15:00" + \
        schedules.local_iso(result.inbound[0].departs_at, "America/Los_Angeles")[-6:]


def test_local_times_carry_the_offset_of_the_day_across_a_dst_change(system, tmp_path):
    airports.import_airports(UOW, write_airports(tmp_path))
    change = next_dst_change("America/New_York", dt.date.today() + dt.timedelta(days=1))
    schedule_import.import_flights(UOW, write_schedule(tmp_path, [schedule_row(departure_local="09:00")]),
                             change - dt.timedelta(days=1), 3)
    before = search.search_flights(UOW, query(date=change - dt.timedelta(days=1))).outbound[0]
    after = search.search_flights(UOW, query(date=change + dt.timedelta(days=1))).outbound[0]
    assert before.departs_local[11:19] == after.departs_local[11:19] == "09:00:00"
    assert before.departs_local[-6:] != after.departs_local[-6:]
    assert (after.departs_at - before.departs_at) != dt.timedelta(days=2)


@pytest.mark.parametrize("overrides, field", [
    ({"origin": "XXX"}, "origin"), ({"destination": "QQQ"}, "destination"), ({"destination": "JFK"}, "destination"),
    ({"date": dt.date.today() - dt.timedelta(days=2)}, "date"),
    ({"return_date": SOON - dt.timedelta(days=1)}, "return_date"),
    ({"passengers": 0}, "passengers"), ({"passengers": 10}, "passengers"), ({"cabin": "premium"}, "cabin"),
])
def test_bad_queries_name_the_field(catalogue, overrides, field):
    with pytest.raises(ValidationError) as raised:
        search.search_flights(UOW, query(**overrides))
    assert raised.value.field == field


def test_http_search_answers_options_and_400s(api, catalogue):
    resp = api.get("/api/flights/search", params={"origin": "jfk", "destination": "LAX", "date": SOON.isoformat(),
                                                   "return_date": (SOON + dt.timedelta(days=1)).isoformat(),
                                                   "passengers": "2", "sort": "departure"})
    assert resp.status_code == 200, resp.text
    first = resp.json["outbound"][0]
    flight_fields = {"id", "flight_number", "airline", "origin", "destination", "departs_at", "arrives_at",
                     "departs_local", "arrives_local", "duration_minutes", "cabin", "fare", "total", "seats_left"}
    assert set(first) == flight_fields | {"stops", "legs", "layovers"}
    assert (first["stops"], first["layovers"], len(first["legs"])) == (0, [], 1)  # a direct flight: one leg
    assert set(first["legs"][0]) == flight_fields
    assert first["id"] == str(first["legs"][0]["id"])
    assert {k: first[k] for k in flight_fields - {"id"}} == {k: first["legs"][0][k] for k in flight_fields - {"id"}}
    assert first["fare"] == {"amount": 19900, "currency": "USD"} and first["total"] == {"amount": 39800, "currency": "USD"}
    assert first["departs_at"].endswith("Z") and first["departs_local"].startswith(f"{SOON.isoformat()}T08:00:00")
    assert [o["flight_number"] for o in resp.json["return"]] == ["FB101"]
    base = {"origin": "JFK", "destination": "LAX", "date": SOON.isoformat()}
    for bad, field in ((dict(date="2026-13-45"), "date"), (dict(date="tomorrow"), "date"), (dict(origin="XX"), "origin"),
                       (dict(origin="ZZZ"), "origin"), (dict(passengers="10"), "passengers"),
                       (dict(passengers="two"), "passengers"), (dict(sort="cheapest"), "sort"),
                       (dict(date=(dt.date.today() - dt.timedelta(days=3)).isoformat()), "date"),
                       (dict(max_stops="3"), "max_stops"), (dict(max_stops="-1"), "max_stops"),
                       (dict(sort="fastest"), "sort"),
                       (dict(return_date=(SOON - dt.timedelta(days=2)).isoformat()), "return_date"),
                       (dict(destination="JFK"), "destination")):
        resp = api.get("/api/flights/search", params={**base, **bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json["error"]["field"] == field and resp.json["error"]["message"].startswith(field)


def _bucketed_flight(days: int):
    add_airports()
    flight = add_flight("LHR", "JFK", departs_in=dt.timedelta(days=days, hours=6))
    price_in_buckets(flight, [(10000, 2), (15000, 3), (30000, 5)])
    return flight


def _lhr_jfk(flight, **overrides) -> FlightQuery:
    day = dt.date.fromisoformat(clock_date(flight))
    return FlightQuery(**{"origin": "LHR", "destination": "JFK", "date": day, **overrides})


def test_search_shows_what_the_next_booking_pays_seat_by_seat_and_then_books_it(system):
    flight = _bucketed_flight(15)
    option = search.search_flights(UOW, _lhr_jfk(flight, passengers=3)).outbound[0]
    assert (option.fare.amount, option.total.amount) == (10000, 35000)  # two seats at 100.00, one at 150.00
    assert (option.legs[0].fare.amount, option.legs[0].total.amount) == (10000, 35000)
    booked = bookings.hold_seats(UOW, 1, booking_request(flight.id, 3, expected_total=option.total), BookingRules())
    assert booked.total == option.total
    after = search.search_flights(UOW, _lhr_jfk(flight, passengers=1)).outbound[0]
    assert after.fare.amount == after.total.amount == 15000  # the cheap bucket is gone


def test_search_prices_children_and_infants_and_the_advance_purchase_rule(system):
    flight = _bucketed_flight(1)
    option = search.search_flights(UOW, _lhr_jfk(flight, passengers=2, children=1, infants=1)).outbound[0]
    # a day ahead: 130 %; adults 130.00 each, the child 75 % of 195.00, the infant 10 % of 130.00
    assert option.fare.amount == 13000
    assert option.total.amount == 13000 + 13000 + 14625 + 1300


def test_search_asks_for_seats_for_adults_and_children_only(system):
    flight = _bucketed_flight(15)
    with pytest.raises(ValidationError) as raised:
        search.search_flights(UOW, _lhr_jfk(flight, passengers=5, children=5))
    assert raised.value.details["field"] == "children"
    with pytest.raises(ValidationError) as raised:
        search.search_flights(UOW, _lhr_jfk(flight, passengers=1, infants=2))
    assert raised.value.details["field"] == "infants"
    assert len(search.search_flights(UOW, _lhr_jfk(flight, passengers=5, children=4, infants=5)).outbound) == 1


def test_the_api_takes_adults_children_and_infants(system, api):
    flight = _bucketed_flight(15)
    day = clock_date(flight)
    resp = api.get("/api/flights/search", params={"origin": "LHR", "destination": "JFK", "date": day,
                                                  "adults": 2, "children": 1, "infants": 1})
    assert resp.status_code == 200, resp.text
    assert resp.json["outbound"][0]["total"] == {"amount": 10000 + 10000 + 11250 + 1000, "currency": "USD"}
    same = api.get("/api/flights/search", params={"origin": "LHR", "destination": "JFK", "date": day,
                                                  "passengers": 2, "children": 1, "infants": 1})
    assert same.json == resp.json
    bad = api.get("/api/flights/search", params={"origin": "LHR", "destination": "JFK", "date": day,
                                                 "adults": 1, "infants": 2})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "infants"


def clock_date(flight) -> str:
    return clock.from_db(flight.departs_at).date().isoformat()


def test_the_fare_calendar_prices_a_day_as_search_does_for_adults(system):
    from flightbook.contracts.flights import CalendarQuery
    from flightbook.modules.flights.catalogue import calendar
    flight = _bucketed_flight(1)
    day = dt.date.fromisoformat(clock_date(flight))
    days = calendar.flight_calendar(UOW, CalendarQuery("LHR", "JFK", day - dt.timedelta(days=1), day,
                                                       passengers=2)).days
    option = search.search_flights(UOW, _lhr_jfk(flight, passengers=1)).outbound[0]
    assert days[-1].total.amount == 2 * option.fare.amount == 2 * 13000  # 130 % a day ahead
    assert days[0].total is None
