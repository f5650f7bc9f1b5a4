"""The points maths, pure: earning, the value of points, tiers, lot expiry. Integers only, never floats."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money, exponent


@dataclass(frozen=True)
class LoyaltyRules:
    points_per_unit: int = 10  # base points per whole unit of currency paid in cash
    lot_months: int = 24  # a lot expires this long after it was earned
    qualifying_months: int = 12  # window of earned points that sets the tier
    expiring_soon_days: int = 90

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.loyalty_points_per_unit, settings.loyalty_lot_months,
                   settings.loyalty_qualifying_months, settings.loyalty_expiring_soon_days)


@dataclass(frozen=True)
class TierRule:
    name: str
    threshold: int
    multiplier_permille: int


def base_points(amount: Money, points_per_unit: int = 10) -> int:
    """``points_per_unit`` per whole unit of currency: $123.99 -> 1230 points."""
    if amount.amount < 0:
        raise ValidationError("amount", "must not be negative")
    return points_per_unit * (amount.amount // 10 ** exponent(amount.currency))


def points_earned(amount: Money, multiplier_permille: int, points_per_unit: int = 10) -> int:
    """Base points times the tier multiplier, rounded down."""
    return base_points(amount, points_per_unit) * multiplier_permille // 1000


def points_value(points: int, currency: str) -> Money:
    """1 point is worth 0.01 of the currency: 1 cent, 0.01 yen (so JPY takes points in hundreds)."""
    if points <= 0:
        raise ValidationError("points", "must be a positive whole number")
    scaled = points * 10 ** exponent(currency)
    if scaled % 100:
        raise ValidationError("points", f"must be a multiple of {100 // 10 ** exponent(currency)} in {currency}")
    return Money(scaled // 100, currency)


def tier_for(qualifying_points: int, tiers: list[TierRule]) -> TierRule:
    """The highest tier whose threshold is reached (tiers in ascending order; the first is 0)."""
    reached = [t for t in tiers if qualifying_points >= t.threshold]
    return reached[-1] if reached else tiers[0]


def next_tier(current: TierRule, tiers: list[TierRule]) -> TierRule | None:
    higher = [t for t in tiers if t.threshold > current.threshold]
    return higher[0] if higher else None


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Same day and time ``months`` later (or earlier), clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def expiry_of_lot(earned_at: dt.datetime, rules: LoyaltyRules) -> dt.datetime:
    return add_months(earned_at, rules.lot_months)


def qualifying_since(now: dt.datetime, rules: LoyaltyRules) -> dt.datetime:
    return add_months(now, -rules.qualifying_months)


def protected_by_holds(lot_remaining: list[int], held: int) -> list[int]:
    """How much of each lot (oldest first) pending holds protect from expiry: holds count against the
    oldest lots first, as their commit will. The SQL of ``expire_lots`` computes the same thing."""
    protected, before = [], 0
    for remaining in lot_remaining:
        protected.append(max(0, min(remaining, held - before)))
        before += remaining
    return protected
