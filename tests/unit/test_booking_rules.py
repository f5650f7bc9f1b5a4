"""Pure booking rules: refund by the fare rule, hold length, refs, the state machine, request checks."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import BookingStatus, Direction, PassengerInput
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.flights.booking import checks as booking_checks
from flightbook.modules.flights.booking import refs, states
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.models import Flight

DEPARTS = dt.datetime(2027, 3, 1, 12, 0, tzinfo=clock.UTC)
PAID = Money(123457, "EUR")


@pytest.mark.parametrize("hours_before,percent,expected", [
    (72, 0, 123457),        # well before the cutoff: everything back
    (24, 0, 123457),        # exactly at the cutoff still counts as in time
    (23.99, 0, 0),          # just after the cutoff: the default late rule refunds nothing
    (2, 25, 30864),         # late with 25%: rounded down to the cent
    (2, 100, 123457),
])
def test_refund_follows_the_cutoff_and_late_percent(hours_before, percent, expected):
    rules = BookingRules(refund_cutoff_hours=24, late_refund_percent=percent)
    refund = rules.refund_due(PAID, DEPARTS, DEPARTS - dt.timedelta(hours=hours_before))
    assert refund == Money(expected, "EUR")


def test_rules_refuse_nonsense_settings():
    for bad in ({"late_refund_percent": 101}, {"late_refund_percent": -1}, {"hold_minutes": -5}):
        with pytest.raises(ValueError):
            BookingRules(**bad)


def test_hold_expires_after_the_configured_minutes():
    held_at = dt.datetime(2027, 1, 1, 23, 50, tzinfo=clock.UTC)
    assert BookingRules(hold_minutes=15).hold_expires_at(held_at) == dt.datetime(2027, 1, 2, 0, 5, tzinfo=clock.UTC)


def test_refs_use_no_look_alike_characters_and_vary():
    made = {refs.new_ref() for _ in range(2000)}
    assert len(made) > 1990
    assert all(refs.is_ref(r) for r in made)
    assert not set("01OI") & set("".join(made))
    for bad in ("ABC12Z", "ABCDE", "abcdef", "ABCDEFG", None, 123456, "ABCDO2"):
        assert not refs.is_ref(bad)


def test_state_machine_allows_only_the_documented_moves():
    s = BookingStatus
    allowed = {(a, b) for a, targets in states.TRANSITIONS.items() for b in targets}
    assert allowed == {(s.HELD, s.CONFIRMED), (s.HELD, s.EXPIRED), (s.HELD, s.CANCELLED),
                       (s.CONFIRMED, s.CANCELLED), (s.EXPIRED, s.CONFIRMED)}  # the last: a late payment


TODAY = dt.date(2026, 6, 15)


def _p(**changes):
    fields = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": dt.date(1985, 1, 1), "gender": None}
    fields.update(changes)
    return PassengerInput(**fields)


@pytest.mark.parametrize("passengers,field", [
    ([], "passengers"),
    ([_p()] * 19, "passengers"),  # 9 seats and an infant on each adult's lap at most
    (None, "passengers"),
    ([_p(first_name="")], "passengers[0].first_name"),
    ([_p(), _p(last_name="y" * 101)], "passengers[1].last_name"),
    ([_p(date_of_birth=TODAY + dt.timedelta(days=1))], "passengers[0].date_of_birth"),
    ([_p(date_of_birth=dt.date(1850, 1, 1))], "passengers[0].date_of_birth"),
    ([_p(date_of_birth="1985-01-01")], "passengers[0].date_of_birth"),
    ([_p(gender="x" * 11)], "passengers[0].gender"),
])
def test_bad_passengers_are_refused_naming_the_field(passengers, field):
    with pytest.raises(ValidationError) as caught:
        booking_checks.valid_passengers(passengers, TODAY)
    assert caught.value.field == field


def test_good_passengers_are_trimmed_and_a_newborn_may_fly():
    checked = booking_checks.valid_passengers([_p(first_name="  Ada ", last_name="x" * 100), _p(date_of_birth=TODAY)],
                                        TODAY)
    assert checked[0].first_name == "Ada" and len(checked[0].last_name) == 100
    assert checked[1].date_of_birth == TODAY


def _flight(fid, origin, destination, departs_h, arrives_h):
    base = dt.datetime(2027, 1, 1)
    return Flight(id=fid, origin=origin, destination=destination, departs_at=base + dt.timedelta(hours=departs_h),
                  arrives_at=base + dt.timedelta(hours=arrives_h))


def _legs(field, *flights):
    return [booking_checks.Leg(f, Direction.RETURN if field.startswith("return") else Direction.OUTBOUND, "economy",
                               Money(10000, "USD"), 9, field, i) for i, f in enumerate(flights, 1)]


def test_a_return_must_fly_back_after_the_outbound_lands():
    out = _legs("outbound_flight_id", _flight(1, "LHR", "JFK", 0, 8))
    booking_checks.check_return(out, _legs("return_flight_id", _flight(2, "JFK", "LHR", 9, 16)))
    for back in (_flight(3, "JFK", "CDG", 9, 16), _flight(4, "LHR", "JFK", 9, 16), _flight(5, "JFK", "LHR", 8, 15)):
        with pytest.raises(ValidationError) as caught:
            booking_checks.check_return(out, _legs("return_flight_id", back))
        assert caught.value.field == "return_flight_id"


def test_a_connecting_return_flies_from_where_the_outbound_journey_ends_to_where_it_began():
    out = _legs("outbound_id", _flight(1, "LHR", "JFK", 0, 8), _flight(2, "JFK", "ORD", 10, 13))
    back = _legs("return_id", _flight(3, "ORD", "JFK", 20, 23), _flight(4, "JFK", "LHR", 25, 32))
    booking_checks.check_return(out, back)
    with pytest.raises(ValidationError) as caught:  # back from JFK, where the outbound journey only connected
        booking_checks.check_return(out, _legs("return_id", _flight(5, "JFK", "LHR", 20, 27)))
    assert caught.value.field == "return_id"


def test_a_party_takes_at_most_nine_seats_and_needs_an_adult():
    day = TODAY + dt.timedelta(days=30)
    with pytest.raises(ValidationError) as raised:
        booking_checks.typed_passengers([_p()] * 10, day)
    assert raised.value.details["field"] == "passengers" and "at most 9" in raised.value.message
    nine_and_a_baby = [_p()] * 9 + [_p(date_of_birth=TODAY - dt.timedelta(days=100))]
    assert [p.type for p in booking_checks.typed_passengers(nine_and_a_baby, day)][-1] == "infant"
