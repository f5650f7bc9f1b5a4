"""The points maths: earning, point value, tiers, lot expiry, hold protection. Pure, no database."""
import datetime as dt

import pytest

from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.loyalty.rules import (TierRule, add_months, base_points, next_tier, points_earned,
                                              points_value, tier_for)
from tests.loyalty.oracle import protected_by_holds

TIERS = [TierRule("Blue", 0, 1000), TierRule("Silver", 25000, 1250), TierRule("Gold", 50000, 1500),
         TierRule("Platinum", 100000, 2000)]


@pytest.mark.parametrize("amount, points", [
    (Money(12399, "USD"), 1230), (Money(99, "USD"), 0), (Money(0, "EUR"), 0),
    (Money(1999, "JPY"), 19990), (Money(12345, "BHD"), 120),
])
def test_ten_base_points_per_whole_unit_of_currency(amount, points):
    assert base_points(amount) == points


@pytest.mark.parametrize("permille, points", [(1000, 1010), (1250, 1262), (1500, 1515), (2000, 2020)])
def test_the_multiplier_applies_in_integers_rounding_down(permille, points):
    assert points_earned(Money(10100, "USD"), permille) == points


def test_negative_amounts_earn_nothing_but_an_error():
    with pytest.raises(ValidationError):
        base_points(Money(-100, "USD"))


@pytest.mark.parametrize("points, currency, value", [
    (1, "USD", Money(1, "USD")), (2500, "EUR", Money(2500, "EUR")), (300, "JPY", Money(3, "JPY")),
    (7, "BHD", Money(70, "BHD")),
])
def test_a_point_is_worth_a_hundredth_of_the_currency(points, currency, value):
    assert points_value(points, currency) == value


@pytest.mark.parametrize("points", [0, -5, 150])
def test_points_that_are_not_worth_whole_minor_units_are_refused(points):
    with pytest.raises(ValidationError):
        points_value(points, "JPY")


@pytest.mark.parametrize("qualifying, tier", [(0, "Blue"), (24999, "Blue"), (25000, "Silver"),
                                              (50000, "Gold"), (99999, "Gold"), (250000, "Platinum")])
def test_tier_thresholds(qualifying, tier):
    assert tier_for(qualifying, TIERS).name == tier


def test_next_tier_and_the_top():
    assert next_tier(TIERS[1], TIERS).name == "Gold"
    assert next_tier(TIERS[3], TIERS) is None


@pytest.mark.parametrize("start, months, end", [
    (dt.datetime(2025, 1, 31, 10), 1, dt.datetime(2025, 2, 28, 10)),
    (dt.datetime(2024, 2, 29), 24, dt.datetime(2026, 2, 28)),
    (dt.datetime(2025, 3, 15), -12, dt.datetime(2024, 3, 15)),
    (dt.datetime(2025, 11, 30), 2, dt.datetime(2026, 1, 30)),
])
def test_add_months_clamps_to_the_end_of_the_month(start, months, end):
    assert add_months(start, months) == end


@pytest.mark.parametrize("lots, held, protected", [
    ([100, 200, 300], 0, [0, 0, 0]),
    ([100, 200, 300], 150, [100, 50, 0]),
    ([100, 200, 300], 600, [100, 200, 300]),
    ([100, 200], 1000, [100, 200]),
])
def test_holds_protect_the_oldest_lots_first(lots, held, protected):
    assert protected_by_holds(lots, held) == protected
