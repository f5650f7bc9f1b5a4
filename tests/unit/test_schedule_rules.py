"""Pure rules of the catalogue: distances, durations, local departures to UTC across DST, normalising text."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.modules.flights.catalogue.places import normalize
from flightbook.modules.flights.catalogue.schedules import (block_minutes, clock_runs, count_dated, departure_utc,
                                                            expand, great_circle_km, local_iso, parse_schedule_row)
from flightbook.modules.flights.catalogue.search import local_day_window

UTC = dt.timezone.utc


def test_great_circle_distances_match_known_routes():
    assert great_circle_km(40.6399, -73.7787, 51.4706, -0.4619) == pytest.approx(5540, rel=0.01)  # JFK-LHR
    assert great_circle_km(33.9425, -118.4081, 35.7720, 140.3929) == pytest.approx(8750, rel=0.01)  # LAX-NRT
    assert great_circle_km(10, 20, 10, 20) == 0


def test_block_time_grows_with_distance_and_rounds_to_five_minutes():
    assert block_minutes(0) == 30
    assert block_minutes(830) == 90
    assert block_minutes(5540) % 5 == 0 and 420 < block_minutes(5540) < 450


def test_departure_in_winter_and_summer_uses_each_offset():
    assert departure_utc(dt.date(2026, 1, 15), dt.time(8), "America/New_York") == dt.datetime(2026, 1, 15, 13, tzinfo=UTC)
    assert departure_utc(dt.date(2026, 7, 15), dt.time(8), "America/New_York") == dt.datetime(2026, 7, 15, 12, tzinfo=UTC)


def test_a_local_time_skipped_by_the_spring_change_leaves_an_hour_later_by_the_new_clock():
    moment = departure_utc(dt.date(2026, 3, 8), dt.time(2, 30), "America/New_York")
    assert moment == dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert local_iso(moment, "America/New_York") == "2026-03-08T03:30:00-04:00"


def test_a_local_time_repeated_by_the_autumn_change_is_its_first_occurrence():
    moment = departure_utc(dt.date(2026, 11, 1), dt.time(1, 30), "America/New_York")
    assert moment == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert local_iso(moment, "America/New_York") == "2026-11-01T01:30:00-04:00"


def test_a_local_day_is_23_or_25_hours_on_change_days():
    start, end = local_day_window(dt.date(2026, 3, 29), "Europe/London")
    assert (start, end - start) == (dt.datetime(2026, 3, 29, 0, tzinfo=UTC), dt.timedelta(hours=23))
    start, end = local_day_window(dt.date(2026, 10, 25), "Europe/London")
    assert (start, end - start) == (dt.datetime(2026, 10, 24, 23, tzinfo=UTC), dt.timedelta(hours=25))


def _row(**overrides):
    record = {"flight_number": "FB1", "airline": "Flightbook Air", "origin": "JFK", "destination": "LHR",
              "departure_local": "21:30", "duration_minutes": "420", "weekdays": "15", "economy_seats": "150",
              "business_seats": "0", "first_seats": "0", "economy_fare": "450.00", "business_fare": "",
              "first_fare": "", "currency": "USD"}
    record.update(overrides)
    return parse_schedule_row(record, 2, {"JFK": "America/New_York", "LHR": "Europe/London"})


def test_expansion_runs_on_the_listed_weekdays_and_arrives_after_the_duration():
    row = _row()
    flights = list(expand([row], dt.date(2026, 6, 1), 7, {"JFK": "America/New_York", "LHR": "Europe/London"}))
    assert [f.service_date.isoweekday() for f in flights] == [1, 5]
    assert count_dated([row], dt.date(2026, 6, 1), 7) == 2
    assert flights[0].departs_at == dt.datetime(2026, 6, 2, 1, 30, tzinfo=UTC)  # 21:30 EDT, next day in UTC
    assert flights[0].arrives_at - flights[0].departs_at == dt.timedelta(minutes=420)
    assert row.fares["economy"].amount == 45000 and "business" not in row.fares


@pytest.mark.parametrize("overrides, reason", [
    ({"economy_fare": "1.001"}, "economy_fare"), ({"weekdays": "0"}, "weekdays"), ({"weekdays": "11"}, "weekdays"),
    ({"currency": "usd"}, "currency"), ({"duration_minutes": "-5"}, "duration_minutes"),
    ({"business_seats": "10", "business_fare": ""}, "business_fare"), ({"airline": "Tab\tAir"}, "airline"),
])
def test_bad_schedule_values_say_which_column(overrides, reason):
    with pytest.raises(ValueError, match=reason):
        _row(**overrides)


def test_normalize_strips_accents_case_and_extra_blanks():
    assert normalize("  São   PAULO ") == "sao paulo"
    assert normalize("Ålesund") == "alesund"
    assert normalize("Zürich") == "zurich"


@pytest.mark.parametrize("day, tz", [(dt.date(2026, 3, 8), "America/New_York"), (dt.date(2026, 11, 1), "America/New_York"),
                                     (dt.date(2026, 10, 4), "Australia/Lord_Howe"), (dt.date(2026, 7, 1), "Asia/Kolkata")])
def test_clock_runs_give_the_offset_departure_utc_applies_at_every_local_minute(day, tz):
    runs = clock_runs(day, tz)
    assert runs[0][0] == 0 and runs[-1][1] == 24 * 60 and all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
    for low, high, offset in runs:
        for minute in range(low, high):
            local = dt.time(minute // 60, minute % 60)
            expected = dt.datetime.combine(day, local) - dt.timedelta(seconds=offset)
            assert departure_utc(day, local, tz) == expected.replace(tzinfo=UTC)
    assert (len(runs) == 1) == (tz == "Asia/Kolkata")
