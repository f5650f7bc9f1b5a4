"""The loyalty contract: tiers, accounts, earning, points holds against bookings, reversals, history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Conflict, NotFound
from flightbook.kernel.events import Event
from flightbook.kernel.money import Money


class HoldStatus:
    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    REVERSED = "REVERSED"  # committed, then given back because the booking was cancelled


class TransactionKind:
    EARN = "EARN"
    REDEEM = "REDEEM"
    EXPIRE = "EXPIRE"
    REVERSAL = "REVERSAL"
    ADJUST = "ADJUST"


# --- errors -------------------------------------------------------------------------------

class InsufficientPoints(Conflict):
    code = "insufficient_points"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class HoldConflict(Conflict):
    """The hold is settled the other way (commit of a released hold) or the booking already has one."""
    code = "hold_conflict"


# --- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tier:
    name: str
    threshold: int  # qualifying points earned in the last 12 months
    multiplier_permille: int  # 1250 = x1.25; the maths uses this
    multiplier: float  # for display only


@dataclass(frozen=True)
class AccountView:
    user_id: int
    balance: int
    available: int  # balance minus points under pending holds
    tier: str
    qualifying_points: int
    next_tier: str | None
    points_to_next_tier: int
    expiring_soon: int  # points expiring in the next 90 days


@dataclass(frozen=True)
class PointsRate:
    """What points are worth in a currency: ``points`` points pay ``value``, and points are held in
    whole multiples of ``points`` (1 point = 1 cent in USD; 100 points = 1 yen in JPY)."""
    currency: str
    points: int
    value: Money


@dataclass(frozen=True)
class PointsHold:
    hold_id: str
    user_id: int
    booking_ref: str
    points: int
    value: Money
    status: str
    created_at: dt.datetime


@dataclass(frozen=True)
class ReversalResult:
    booking_ref: str
    user_id: int | None
    points_taken_back: int  # earned for the booking
    points_returned: int  # redeemed on the booking


@dataclass(frozen=True)
class PointsTransaction:
    id: int
    kind: str  # TransactionKind
    points: int  # signed: + credits, - debits
    balance_after: int
    booking_ref: str | None
    created_at: dt.datetime
    note: str = ""


@dataclass(frozen=True)
class HistoryPage:
    user_id: int
    transactions: list[PointsTransaction]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class ExpiryReport:
    as_of: dt.datetime
    accounts: int
    points: int
    dry_run: bool = False


# --- events -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PointsEarned(Event):
    topic = "loyalty.points_earned"
    user_id: int
    booking_ref: str
    points: int


@dataclass(frozen=True)
class PointsHeld(Event):
    topic = "loyalty.points_held"
    hold_id: str
    user_id: int
    booking_ref: str
    points: int
    value: Money


@dataclass(frozen=True)
class PointsRedeemed(Event):
    topic = "loyalty.points_redeemed"
    hold_id: str
    user_id: int
    booking_ref: str
    points: int


@dataclass(frozen=True)
class PointsHoldReleased(Event):
    topic = "loyalty.points_hold_released"
    hold_id: str
    user_id: int
    booking_ref: str
    points: int


@dataclass(frozen=True)
class BookingPointsReversed(Event):
    topic = "loyalty.booking_reversed"
    booking_ref: str
    user_id: int
    points_taken_back: int
    points_returned: int


@dataclass(frozen=True)
class PointsExpired(Event):
    topic = "loyalty.points_expired"
    user_id: int
    points: int


@dataclass(frozen=True)
class TierChanged(Event):
    topic = "loyalty.tier_changed"
    user_id: int
    old_tier: str
    new_tier: str


class LoyaltyContract(Protocol):
    def tiers(self) -> list[Tier]: ...
    def get_account(self, caller: Principal, user_id: int) -> AccountView:
        """That user, an admin or a service; opens the account on first call."""
    def points_rate(self, currency: str) -> PointsRate:
        """What points are worth in ``currency``: the smallest whole block of points and its value."""
    def earn(self, user_id: int, booking_ref: str, amount: Money) -> int:
        """The points earned for ``amount`` paid in cash (service only); idempotent per booking_ref:
        a repeat returns the points of the first call."""
    def hold_points(self, caller: Principal, user_id: int, points: int, booking_ref: str,
                    currency: str = "USD") -> PointsHold:
        """That user holds points against a booking; InsufficientPoints (409) beyond what is available."""
    def commit_hold(self, hold_id: str) -> PointsHold:
        """PENDING -> COMMITTED, taking points from the oldest lots (service only); idempotent."""
    def release_hold(self, hold_id: str) -> PointsHold:
        """PENDING -> RELEASED (service only); idempotent."""
    def active_hold_for_booking(self, booking_ref: str) -> PointsHold | None:
        """The PENDING or COMMITTED hold on a booking, if any (payments subtracts its value)."""
    def reverse_booking(self, booking_ref: str) -> ReversalResult:
        """A cancelled booking: earned points taken back, redeemed points returned; idempotent."""
    def history(self, caller: Principal, user_id: int, page: int = 1, per_page: int = 20) -> HistoryPage: ...
