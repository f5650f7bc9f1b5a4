"""The points maths, pure: earning, the value of points, tiers, lot expiry. Integers only, never floats."""
from __future__ import annotations

import calendar
import datetime as dt
import math
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


#: a block of points worth a whole number of minor units in every currency (exponents 0 to 3)
_RATE_PROBE = 10 ** 6


def points_rate(currency: str) -> tuple[int, Money]:
    """The smallest whole block of points and what it pays in ``currency``: ``points_value`` of a large
    block, reduced by their common divisor (the value is linear in the points)."""
    value = points_value(_RATE_PROBE, currency)
    common = math.gcd(_RATE_PROBE, value.amount)
    return _RATE_PROBE // common, Money(value.amount // common, currency)


def worth(points: int, currency: str) -> Money:
    """What ``points`` pay: their whole blocks (the rest of a block pays nothing, as a hold takes blocks)."""
    block, value = points_rate(currency)
    return Money(max(points, 0) // block * value.amount, currency)


def usable_points(available: int, amount: Money) -> int:
    """Of ``available`` points, the whole blocks that can go towards ``amount``: no more than pay it all."""
    block, value = points_rate(amount.currency)
    needed = -(-amount.amount // value.amount) * block
    return max(0, min(available - available % block, needed))


def points_returned(redeemed: int, refund_percent: int) -> int:
    """The points of a cancelled booking that come back: the fare rule's share of those redeemed, rounded down."""
    return redeemed * refund_percent // 100


def tier_for(qualifying_points: int, tiers: list[TierRule]) -> TierRule:
    """The highest tier whose threshold is reached (tiers in ascending order; the first is 0)."""
    reached = [t for t in tiers if qualifying_points >= t.threshold]
    return reached[-1] if reached else tiers[0]


def next_tier(current: TierRule, tiers: list[TierRule]) -> TierRule | None:
    higher = [t for t in tiers if t.threshold > current.threshold]
    return higher[0] if higher else None


def tier_progress(qualifying_points: int, current: TierRule, following: TierRule | None) -> int:
    """How far, 0-100, the qualifying points have come from the current tier's threshold to the next one's."""
    if following is None or following.threshold <= current.threshold:
        return 100
    share = (qualifying_points - current.threshold) * 100 // (following.threshold - current.threshold)
    return max(0, min(100, share))


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
