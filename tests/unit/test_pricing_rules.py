"""Pure pricing rules: fare buckets, time of day, advance purchase, passenger types and their ages."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.catalogue.pricing import (DEFAULT_BUCKETS, Bucket, FareRules, Party,
                                                          PassengerType)

A, C, I = PassengerType.ADULT, PassengerType.CHILD, PassengerType.INFANT


def test_percent_rounds_half_up_in_minor_units():
    assert pricing.percent_of(1001, 75) == 751  # 750.75
    assert pricing.percent_of(1002, 25) == 251  # 250.5 -> up
    assert pricing.percent_of(0, 130) == 0


@pytest.mark.parametrize("capacity,expected", [
    (264, [53, 66, 66, 53, 26]),
    (8, [2, 2, 2, 1, 1]),
    (12, [3, 3, 3, 2, 1]),  # a tie of remainders: the cheaper bucket first
    (1, [0, 1, 0, 0, 0]),
    (0, [0, 0, 0, 0, 0]),
])
def test_bucket_sizes_add_up_to_the_cabin(capacity, expected):
    sizes = pricing.bucket_sizes(capacity, DEFAULT_BUCKETS)
    assert sizes == expected
    assert sum(sizes) == capacity


def test_buckets_must_cover_the_cabin_cheapest_first():
    with pytest.raises(ValueError, match="add up to 100"):
        pricing.check_buckets([Bucket(60, 50), Bucket(100, 40)])
    with pytest.raises(ValueError, match="cheapest first"):
        pricing.check_buckets([Bucket(100, 50), Bucket(60, 50)])
    with pytest.raises(ValueError, match="PERCENT:SHARE"):
        pricing.parse_buckets("60-50 100:50")
    assert pricing.parse_buckets("50:40 100:60") == (Bucket(50, 40), Bucket(100, 60))


@pytest.mark.parametrize("hour,percent", [(0, 85), (5, 85), (6, 115), (8, 115), (9, 100), (15, 100), (16, 110),
                                          (20, 95), (22, 85), (23, 85)])
def test_time_of_day_factor(hour, percent):
    assert pricing.time_of_day_percent(dt.time(hour, 30)) == percent


def test_bucket_prices_scale_the_base_fare_by_time_of_day_then_bucket():
    # 12:00 is 100 %: the buckets' own shares of 500.00
    assert pricing.bucket_prices(50000, dt.time(12), DEFAULT_BUCKETS) == [30000, 40000, 50000, 70000, 100000]
    # 07:00 is 115 %: 575.00 then the shares
    assert pricing.bucket_prices(50000, dt.time(7), DEFAULT_BUCKETS) == [34500, 46000, 57500, 80500, 115000]


@pytest.mark.parametrize("days,percent", [(0, 130), (2, 130), (3, 115), (6, 115), (7, 105), (14, 100),
                                          (21, 95), (44, 95), (45, 90), (300, 90), (-1, 130)])
def test_advance_purchase_rule(days, percent):
    assert pricing.advance_purchase_percent(days) == percent


def test_the_next_seats_come_from_the_cheapest_open_bucket_and_span_buckets():
    open_buckets = [(100, 0), (200, 2), (300, 5)]
    assert pricing.next_seat_prices(open_buckets, 1) == [200]
    assert pricing.next_seat_prices(open_buckets, 4) == [200, 200, 300, 300]
    assert pricing.next_seat_prices(open_buckets, 9) == [200, 200, 300, 300, 300, 300, 300]  # only 7 left
    assert pricing.ladder_text(open_buckets) == "200 200 300 300 300 300 300"
    assert pricing.parse_ladder("200 300") == [200, 300]
    assert pricing.parse_ladder("") == []


def test_children_and_infants_pay_their_share_of_their_adults_fare():
    rules = FareRules(child_percent=75, infant_percent=10)
    # two legs; the party's 3 seats (2 adults, 1 child) on each, in selling order; 14 days ahead: 100 %
    fares = rules.party_fares([C, A, I, A], [[1000, 1000, 2000], [500, 700, 700]], days_before=14)
    assert fares == [[1500, 525], [1000, 500], [100, 50], [1000, 700]]
    assert rules.party_total(Party(2, 1, 1), [[1000, 1000, 2000], [500, 700, 700]], 14) == 1000 + 500 + 1000 + 700 \
        + 1500 + 525 + 100 + 50


def test_advance_purchase_applies_to_every_passenger():
    rules = FareRules()
    assert rules.party_fares([A, C, I], [[1000, 1000]], days_before=0) == [[1300], [975], [130]]
    assert rules.adult_fare([1000, 2001], days_before=[0, 0]) == 1300 + 2601
    # a leg priced flat (no buckets) keeps its fare whenever it is bought
    assert rules.party_fares([A, C], [[1000, 1000], [500, 500]], days_before=[0, None]) == [[1300, 500], [975, 375]]
    assert rules.adult_fare([1000, 2001], days_before=[None, 0]) == 1000 + 2601


@pytest.mark.parametrize("party,problem", [
    (Party(1, 0, 0), None),
    (Party(9, 0, 9), None),
    (Party(0, 1, 0), "adults"),
    (Party(5, 5, 0), "children"),
    (Party(2, 0, 3), "infants"),
    (Party(1, -1, 0), "children"),
])
def test_a_party_needs_an_adult_and_a_lap_per_infant(party, problem):
    found = party.problem()
    assert (found[0] if found else None) == problem


@pytest.mark.parametrize("born,kind", [
    (dt.date(2025, 6, 2), I),   # 1 on the day
    (dt.date(2025, 6, 1), C),   # 2 that very day
    (dt.date(2015, 6, 2), C),   # 11
    (dt.date(2015, 6, 1), A),   # 12 that day
    (dt.date(1980, 1, 1), A),
])
def test_a_passengers_type_is_their_age_on_the_day(born, kind):
    assert pricing.passenger_type(born, dt.date(2027, 6, 1)) == kind
