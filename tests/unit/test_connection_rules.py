"""Pure rules of connecting journeys: connection times, detours, itinerary ids, the journey fare, which
journeys are shown and the ``best`` order."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import pytest

from flightbook.contracts.flights import InvalidItinerary
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.catalogue import fares, ranking
from flightbook.modules.flights.catalogue.connections import AirportFacts, ConnectionRules, TimedLeg
from flightbook.modules.flights.catalogue.itinerary_ids import flight_ids, itinerary_id

JFK = AirportFacts("JFK", "America/New_York", "US", 40.64, -73.78)
ORD = AirportFacts("ORD", "America/Chicago", "US", 41.98, -87.90)
LAX = AirportFacts("LAX", "America/Los_Angeles", "US", 33.94, -118.41)
BOS = AirportFacts("BOS", "America/New_York", "US", 42.36, -71.01)
LHR = AirportFacts("LHR", "Europe/London", "GB", 51.47, -0.46, same_country_minutes=60, international_minutes=75)
FACTS = {a.iata: a for a in (JFK, ORD, LAX, BOS, LHR)}
RULES = ConnectionRules()
T0 = dt.datetime(2027, 3, 1, 12, 0, tzinfo=clock.UTC)


def test_connection_time_by_country_and_by_airport():
    assert RULES.min_connection_minutes(JFK, ORD, LAX) == 45
    assert RULES.min_connection_minutes(LHR, JFK, ORD) == 90  # arriving from abroad
    assert RULES.min_connection_minutes(JFK, LHR, ORD) == 75  # LHR's own international time
    home = LHR._replace(iata="LGW")
    assert RULES.min_connection_minutes(home, LHR, home) == 60  # LHR's own same-country time
    assert ConnectionRules(same_country_minutes=30).min_connection_minutes(JFK, ORD, LAX) == 30


def test_the_detour_cap_is_a_share_of_the_great_circle_plus_an_allowance():
    assert RULES.is_direct_enough([JFK, ORD, LAX])
    assert not RULES.is_direct_enough([JFK, LAX, BOS])
    assert not RULES.is_direct_enough([JFK, ORD, JFK, BOS])  # an airport twice
    assert RULES.max_flown_km(JFK, BOS) == pytest.approx(2 * 301 + 1000, abs=5)
    assert ConnectionRules(max_detour_percent=1000, detour_allowance_km=20000).is_direct_enough([JFK, LAX, BOS])


def _leg(origin, destination, departs_min, arrives_min, number="FB1"):
    return TimedLeg(origin, destination, T0 + dt.timedelta(minutes=departs_min), T0 + dt.timedelta(minutes=arrives_min),
                    number)


def test_a_connection_problem_says_what_is_wrong():
    good = [_leg("JFK", "ORD", 0, 150), _leg("ORD", "LAX", 195, 450)]
    assert RULES.connection_problem(good, FACTS) is None
    problems = {
        "leaves from LAX, not ORD": [_leg("JFK", "ORD", 0, 150), _leg("LAX", "BOS", 200, 500, "FB2")],
        "at least 45 min": [_leg("JFK", "ORD", 0, 150), _leg("ORD", "LAX", 194, 450)],
        "longer than 12 h": [_leg("JFK", "ORD", 0, 150), _leg("ORD", "LAX", 150 + 721, 1200)],
        "visits an airport twice": [_leg("JFK", "ORD", 0, 150), _leg("ORD", "JFK", 200, 350)],
        "too far out of the way": [_leg("JFK", "LAX", 0, 360), _leg("LAX", "BOS", 420, 750)],
        "not known": [_leg("JFK", "XXX", 0, 150), _leg("XXX", "LAX", 200, 450)],
    }
    for words, legs in problems.items():
        assert words in (RULES.connection_problem(legs, FACTS) or ""), words


@pytest.mark.parametrize("changes", [dict(same_country_minutes=-1), dict(max_layover_minutes=30),
                                     dict(max_detour_percent=99), dict(detour_allowance_km=-5),
                                     dict(international_minutes=3000)])
def test_rules_out_of_range_are_refused(changes):
    with pytest.raises(ValueError):
        ConnectionRules(**changes)


def test_itinerary_ids_round_trip_and_refuse_anything_else():
    assert itinerary_id([812]) == "812" and itinerary_id([812, 4471, 9]) == "812-4471-9"
    assert flight_ids("812-4471", "outbound_id") == [812, 4471] and flight_ids(" 7 ", "x") == [7]
    for bad in ("", "abc", "0", "-1", "1-", "1--2", "1-2-3-4", "1-1", "01", "1 2", "1_2", "9" * 20, None, 5, "1.5"):
        with pytest.raises(InvalidItinerary) as refused:
            flight_ids(bad, "outbound_id")
        assert refused.value.field == "outbound_id" and refused.value.status == 400


def test_a_journey_costs_the_sum_of_its_legs_in_one_currency():
    assert fares.journey_fare([Money(15000, "USD"), Money(21000, "USD")]) == Money(36000, "USD")
    assert fares.journey_total(Money(36000, "USD"), 3) == Money(108000, "USD")
    with pytest.raises(fares.MixedCurrencies):
        fares.journey_fare([Money(15000, "USD"), Money(21000, "EUR")])
    assert fares.cheapest_fare_sql(["i1.fare_amount", "i2.fare_amount"], ["i1.flat", "i2.flat"], "{p}") == (
        "MIN(((i1.fare_amount * (CASE WHEN i1.flat THEN 100 ELSE {p} END) + 50) / 100)"
        " + ((i2.fare_amount * (CASE WHEN i2.flat THEN 100 ELSE {p} END) + 50) / 100))")


class J(NamedTuple):
    id: str
    departs_at: dt.datetime
    arrives_at: dt.datetime
    fare: Money
    stops: int

    @property
    def duration_minutes(self) -> int:
        return int((self.arrives_at - self.departs_at).total_seconds() // 60)


def j(name, departs_h, arrives_h, fare, stops=1) -> J:
    return J(name, T0 + dt.timedelta(hours=departs_h), T0 + dt.timedelta(hours=arrives_h), Money(fare, "USD"), stops)


def test_connections_another_journey_beats_are_dropped_and_direct_flights_stay():
    journeys = [
        j("direct", 9, 15, 300, 0),
        j("beaten direct", 8, 16, 400, 0),  # stays: a direct flight
        j("early cheap", 6, 14, 200),
        j("slower dearer", 6, 15.5, 350),  # direct leaves later, lands earlier, costs less
        j("same as early cheap but later", 6, 14.5, 200),  # early cheap beats it
        j("two stops, cheapest", 5, 20, 100, 2),
        j("two stops, beaten by one stop", 5, 14.5, 250, 2),
        j("twin", 6, 14, 200),  # equals early cheap on everything: one of the two is enough
    ]
    kept = [x.id for x in ranking.drop_dominated(journeys)]
    assert kept == ["direct", "beaten direct", "early cheap", "two stops, cheapest"]


def test_best_scores_fare_and_duration_against_the_cheapest_and_the_quickest():
    journeys = [j("quick dear", 10, 16, 400, 0), j("cheap slow", 6, 16, 200), j("middle", 8, 15, 280)]
    assert ranking.best_scores(journeys) == [2.0 + 1.0, 1.0 + 10 / 6, 1.4 + 7 / 6]
    assert [x.id for x in ranking.ordered(journeys, "best")] == ["middle", "cheap slow", "quick dear"]
    assert [x.id for x in ranking.ordered(journeys, "price")] == ["cheap slow", "middle", "quick dear"]
    assert [x.id for x in ranking.ordered(journeys, "departure")] == ["cheap slow", "middle", "quick dear"]
    assert [x.id for x in ranking.ordered(journeys, "duration")] == ["quick dear", "middle", "cheap slow"]
    assert ranking.ordered([], "best") == []
