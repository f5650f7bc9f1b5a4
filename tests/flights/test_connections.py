"""Connecting journeys in search, on both backends: how they are shown, and every connection rule (minimum
connection time by country and per airport, maximum layover, detour cap, no airport twice, one cabin, one
currency), with layovers across midnight, time zones and a DST change."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import FlightQuery
from flightbook.modules.flights.catalogue import connection_times, search
from flightbook.modules.flights.catalogue.airports import BadImportFile
from flightbook.modules.flights.catalogue.connections import ConnectionRules
from flightbook.kernel import clock
from flightbook.modules.flights.models import ConnectionTime, SeatInventory
from tests.flights.builders import UOW, add_airports, add_leg, itinerary, local
from tests.flights.test_import import next_dst_change

DAY = dt.date.today() + dt.timedelta(days=20)


@pytest.fixture
def us(system):
    add_airports("JFK", "ORD", "LAX", "DEN", "BOS", "SEA", "LHR", "FRA")


def journeys(origin="JFK", destination="LAX", day=DAY, rules=ConnectionRules(), **query):
    return search.search_flights(UOW, FlightQuery(origin, destination, day, **query), rules).outbound


def ids(options) -> list[str]:
    return [o.id for o in options]


def test_a_connection_is_one_option_with_its_legs_layover_and_whole_journey_fields(us):
    first = add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165, fare=15000, seats=7)  # lands 09:45 in Chicago
    second = add_leg("ORD", "LAX", local("ORD", DAY, "11:10"), 255, fare=21000, seats=3)  # 85 min later
    [option] = journeys(passengers=2)
    assert option.id == itinerary(first, second) and option.stops == 1
    assert [(leg.id, leg.origin, leg.destination) for leg in option.legs] == [
        (first.id, "JFK", "ORD"), (second.id, "ORD", "LAX")]
    assert [(lay.airport, lay.minutes) for lay in option.layovers] == [("ORD", 85)]
    assert (option.origin, option.destination) == ("JFK", "LAX")
    assert (option.departs_at, option.arrives_at) == (option.legs[0].departs_at, option.legs[1].arrives_at)
    assert option.departs_local.startswith(f"{DAY}T08:00:00-0")
    assert option.arrives_local[11:19] == "13:25:00" and option.arrives_local.endswith(("-08:00", "-07:00"))
    assert option.duration_minutes == 165 + 85 + 255
    assert (option.fare.amount, option.total.amount, option.seats_left) == (36000, 72000, 3)
    assert [leg.fare.amount for leg in option.legs] == [15000, 21000]
    assert option.flight_number == f"{first.flight_number} / {second.flight_number}"
    assert option.airline == "Flightbook Air"


def test_the_minimum_connection_time_is_the_same_country_default_at_home(us):
    add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165)  # lands 09:45
    too_tight = add_leg("ORD", "LAX", local("ORD", DAY, "10:29"), 255)  # 44 min
    just_enough = add_leg("ORD", "LAX", local("ORD", DAY, "10:30"), 255)  # 45 min
    assert [o.legs[1].id for o in journeys()] == [just_enough.id]
    # allowed, the tighter one lands a minute earlier for the same fare: the other is left out
    assert [o.legs[1].id for o in journeys(rules=ConnectionRules(same_country_minutes=30))] == [too_tight.id]


def test_a_connection_that_crosses_a_border_needs_the_international_time(us):
    arrives = add_leg("LHR", "JFK", local("LHR", DAY, "09:00"), 480)  # lands 12:00 in New York (winter)
    lands = arrives.arrives_at
    short = add_leg("JFK", "ORD", _utc(lands) + dt.timedelta(minutes=60), 165)
    enough = add_leg("JFK", "ORD", _utc(lands) + dt.timedelta(minutes=90), 165)
    found = journeys("LHR", "ORD")
    assert [o.legs[1].id for o in found] == [enough.id]
    assert [o.legs[1].id for o in journeys("LHR", "ORD", rules=ConnectionRules(international_minutes=60))] == [short.id]


def test_an_airports_own_connection_times_come_from_the_imported_file(us, tmp_path):
    add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165)  # lands 09:45
    fifty = add_leg("ORD", "LAX", local("ORD", DAY, "10:35"), 255)
    assert [o.legs[1].id for o in journeys()] == [fifty.id]
    path = tmp_path / "times.csv"
    path.write_text("iata,same_country_minutes,international_minutes\nORD,60,\nJFK,,120\n")
    result = connection_times.import_connection_times(UOW, path)
    assert (result.read, result.added, result.removed) == (2, 2, 0)
    assert journeys() == []
    path.write_text("iata,same_country_minutes,international_minutes\nJFK,,120\n")  # ORD back to the default
    again = connection_times.import_connection_times(UOW, path)
    assert (again.read, again.added, again.updated, again.unchanged, again.removed) == (1, 0, 0, 1, 1)
    assert [o.legs[1].id for o in journeys()] == [fifty.id]


@pytest.mark.parametrize("text, message", [
    ("iata,same_country_minutes\nORD,60\n", "line 1: missing column(s) international_minutes"),
    ("iata,same_country_minutes,international_minutes\nZZZ,60,90\n", "line 2: 'ZZZ' is not a known airport"),
    ("iata,same_country_minutes,international_minutes\nORD,sixty,90\n", "line 2: same_country_minutes must be"),
    ("iata,same_country_minutes,international_minutes\nORD,0,90\n", "line 2: same_country_minutes must be"),
    ("iata,same_country_minutes,international_minutes\nORD,60,90\nord,50,80\n", "line 3: duplicate iata ORD"),
])
def test_a_bad_connection_times_file_names_its_line_and_changes_nothing(us, tmp_path, text, message):
    path = tmp_path / "times.csv"
    path.write_text("iata,same_country_minutes,international_minutes\nJFK,50,100\n")
    connection_times.import_connection_times(UOW, path)
    path.write_text(text)
    with pytest.raises(BadImportFile) as bad:
        connection_times.import_connection_times(UOW, path)
    assert str(bad.value).startswith(message)
    assert [(c.airport, c.same_country_minutes) for c in ConnectionTime.select()] == [("JFK", 50)]


def test_layovers_end_at_the_maximum(us):
    add_leg("JFK", "ORD", local("JFK", DAY, "06:00"), 165)  # lands 07:45
    twelve_hours = add_leg("ORD", "LAX", local("ORD", DAY, "19:45"), 255)
    add_leg("ORD", "LAX", local("ORD", DAY, "19:46"), 255)
    assert [o.layovers[0].minutes for o in journeys()] == [720]
    assert [o.legs[1].id for o in journeys(rules=ConnectionRules(max_layover_minutes=360))] == []
    assert twelve_hours.id in {o.legs[1].id for o in journeys(rules=ConnectionRules(max_layover_minutes=721))}


def test_a_layover_overnight_across_a_dst_change_counts_real_minutes(system):
    add_airports("LHR", "JFK", "ORD")
    change = next_dst_change("America/New_York", DAY)
    evening = change - dt.timedelta(days=1)
    first = add_leg("LHR", "JFK", local("LHR", evening, "16:00"), 480)
    second = add_leg("JFK", "ORD", local("JFK", change, "07:00"), 165)  # the next morning, clocks changed overnight
    [option] = journeys("LHR", "ORD", evening)
    landed = first.arrives_at
    wall_clock = dt.datetime.combine(change, dt.time(7)) - dt.datetime.fromisoformat(option.legs[0].arrives_local)\
        .replace(tzinfo=None)
    assert option.layovers[0].minutes == int((second.departs_at - landed).total_seconds() // 60)
    assert option.layovers[0].minutes != wall_clock.total_seconds() // 60  # an hour more or less than the clocks say
    assert option.legs[0].arrives_local[-6:] != option.legs[1].departs_local[-6:]
    assert option.departs_local.startswith(f"{evening}T16:00") and option.legs[1].departs_local.startswith(
        f"{change}T07:00")


def test_a_journey_leaving_late_in_the_day_belongs_to_its_local_date_and_lands_the_next(us):
    first = add_leg("JFK", "DEN", local("JFK", DAY, "23:30"), 270)  # leaves late: already tomorrow in UTC
    add_leg("DEN", "LAX", local("DEN", DAY + dt.timedelta(days=1), "03:00"), 150)
    [option] = journeys()
    assert option.legs[0].id == first.id and option.departs_at.date() == DAY + dt.timedelta(days=1)
    assert option.arrives_local.startswith(str(DAY + dt.timedelta(days=1)))
    assert journeys(day=DAY + dt.timedelta(days=1)) == []


def test_absurd_detours_and_airports_visited_twice_are_not_journeys(us):
    add_leg("JFK", "LAX", local("JFK", DAY, "08:00"), 360, fare=5000)
    add_leg("LAX", "BOS", local("LAX", DAY, "14:00"), 330, fare=5000)  # New York to Boston by way of California
    add_leg("JFK", "ORD", local("JFK", DAY, "07:00"), 165)
    add_leg("ORD", "JFK", local("ORD", DAY, "10:00"), 140)
    add_leg("JFK", "BOS", local("JFK", DAY, "15:00"), 75)
    found = journeys("JFK", "BOS", max_stops=2)
    assert [o.stops for o in found] == [0]  # only the direct flight: JFK-LAX-BOS detours, JFK-ORD-JFK-BOS loops
    lax = journeys("JFK", "BOS", max_stops=1, rules=ConnectionRules(max_detour_percent=1000,
                                                                     detour_allowance_km=20000))
    assert sorted(o.stops for o in lax) == [0, 1]


def test_every_leg_is_searched_in_the_cabin_and_with_the_seats_asked_for(us):
    first = add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165, cabins={"economy": (9, 15000),
                                                                           "business": (2, 60000)})
    add_leg("ORD", "LAX", local("ORD", DAY, "11:00"), 255, cabins={"economy": (9, 20000)})
    assert journeys(cabin="business") == []
    assert len(journeys(passengers=9)) == 1
    SeatInventory.update(seats_left=1).where(SeatInventory.flight == first.id).execute()
    assert journeys(passengers=2) == []


def test_legs_priced_in_two_currencies_are_not_one_journey(us):
    add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165, currency="USD")
    add_leg("ORD", "LAX", local("ORD", DAY, "11:00"), 255, currency="EUR")
    assert journeys() == []


def test_connections_beaten_by_another_journey_are_left_out_and_direct_flights_all_stay(us):
    direct = add_leg("JFK", "LAX", local("JFK", DAY, "09:00"), 360, fare=30000)  # lands 12:00 local
    dear_direct = add_leg("JFK", "LAX", local("JFK", DAY, "07:00"), 480, fare=50000)  # beaten, but direct
    early = add_leg("JFK", "ORD", local("JFK", DAY, "06:00"), 165, fare=10000)
    late = add_leg("ORD", "LAX", local("ORD", DAY, "09:00"), 255, fare=25000)  # total 35000, lands 11:15: kept
    slow = add_leg("ORD", "LAX", local("ORD", DAY, "10:00"), 255, fare=25000)  # lands 12:15, dearer than direct
    cheap = add_leg("ORD", "LAX", local("ORD", DAY, "13:00"), 255, fare=5000)  # total 15000: the cheapest
    found = ids(journeys(sort="price"))
    assert found == [itinerary(early, cheap), str(direct.id), itinerary(early, late), str(dear_direct.id)]
    assert itinerary(early, slow) not in found
    assert ids(journeys(max_stops=0, sort="price")) == [str(direct.id), str(dear_direct.id)]


def test_best_blends_price_and_duration(us):
    quick = add_leg("JFK", "LAX", local("JFK", DAY, "12:00"), 360, fare=40000)
    add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165, fare=9000)
    add_leg("ORD", "LAX", local("ORD", DAY, "10:45"), 255, fare=9000)  # 2 h longer for under half the price
    slow = add_leg("JFK", "DEN", local("JFK", DAY, "13:00"), 270, fare=20000)
    add_leg("DEN", "LAX", local("DEN", DAY, "17:00"), 150, fare=19000)  # almost as dear as direct, 2 h 30 longer
    found = journeys(sort="best")
    assert [o.stops for o in found] == [1, 0, 1]
    assert found[1].id == str(quick.id) and found[2].legs[0].id == slow.id
    assert [o.fare.amount for o in journeys(sort="price")] == [18000, 39000, 40000]
    assert [o.duration_minutes for o in journeys(sort="duration")] == sorted(o.duration_minutes for o in found)


def test_two_stops_only_when_asked(us):
    add_leg("BOS", "JFK", local("BOS", DAY, "06:00"), 75)
    add_leg("JFK", "ORD", local("JFK", DAY, "08:30"), 165)
    add_leg("ORD", "SEA", local("ORD", DAY, "11:00"), 270)
    assert journeys("BOS", "SEA") == []
    [option] = journeys("BOS", "SEA", max_stops=2)
    assert option.stops == 2 and [lay.airport for lay in option.layovers] == ["JFK", "ORD"]
    assert len(option.id.split("-")) == 3


def test_a_return_search_finds_connections_both_ways(us):
    add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165)
    add_leg("ORD", "LAX", local("ORD", DAY, "11:00"), 255)
    back_day = DAY + dt.timedelta(days=4)
    add_leg("LAX", "DEN", local("LAX", back_day, "07:00"), 150)
    add_leg("DEN", "JFK", local("DEN", back_day, "11:30"), 240)
    result = search.search_flights(UOW, FlightQuery("JFK", "LAX", DAY, return_date=back_day))
    assert [o.stops for o in result.outbound] == [1] and [o.layovers[0].airport for o in result.inbound] == ["DEN"]


def test_http_search_shows_stops_legs_and_layovers_and_filters_by_stops(api, us):
    add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165)
    add_leg("ORD", "LAX", local("ORD", DAY, "11:00"), 255)
    base = {"origin": "JFK", "destination": "LAX", "date": DAY.isoformat()}
    resp = api.get("/api/flights/search", params=base)
    assert resp.status_code == 200, resp.text
    [option] = resp.json["outbound"]
    assert option["stops"] == 1 and [leg["origin"] for leg in option["legs"]] == ["JFK", "ORD"]
    assert option["layovers"] == [{"airport": "ORD", "minutes": 75}]  # lands 09:45 in Chicago, leaves 11:00
    assert api.get("/api/flights/search", params={**base, "max_stops": "0"}).json["outbound"] == []
    assert api.get("/api/flights/search", params={**base, "sort": "best"}).status_code == 200


def _utc(value) -> dt.datetime:
    return clock.from_db(value)
