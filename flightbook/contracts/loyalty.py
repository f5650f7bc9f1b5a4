"""The loyalty contract: tiers, accounts, earning, points holds against bookings, reversals, history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from flightbook.kernel.audit import AuditEntry
from flightbook.kernel.auth import IN_PROCESS, Principal
from flightbook.kernel.errors import Conflict, NotFound
from flightbook.kernel.events import Event
from flightbook.kernel.money import Money
from flightbook.kernel.outbox import EventRecord, OutboxReport


class HoldStatus(StrEnum):
    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    REVERSED = "REVERSED"  # committed, then given back because the booking was cancelled


class TransactionKind(StrEnum):
    EARN = "EARN"
    REDEEM = "REDEEM"
    EXPIRE = "EXPIRE"
    REVERSAL = "REVERSAL"
    ADJUST = "ADJUST"


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class HoldConflict(Conflict):
    """The hold is settled the other way (commit of a released hold) or the booking already has one."""
    code = "hold_conflict"


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
class TierStanding:
    """Where a traveller stands among the tiers: the tier, the next one and how far along the way to it."""
    user_id: int
    tier: Tier
    next_tier: Tier | None
    qualifying_points: int
    points_to_next_tier: int
    progress_percent: int  # from the tier's threshold to the next one's, 0-100 (100 at the top tier)


@dataclass(frozen=True)
class PointsRate:
    """What points are worth in a currency: ``points`` points pay ``value``, and points are held in
    whole multiples of ``points`` (1 point = 1 cent in USD; 100 points = 1 yen in JPY)."""
    currency: str
    points: int
    value: Money


@dataclass(frozen=True)
class PointsOffer:
    """What a traveller's points can pay of ``amount``: up to ``usable`` points (whole blocks of
    ``rate.points``, no more than the amount needs) of the ``available`` ones."""
    user_id: int
    amount: Money
    available: int
    available_value: Money  # what all the available points are worth
    usable: int
    covers_amount: bool  # the usable points pay the whole amount
    rate: PointsRate


@dataclass(frozen=True)
class BookingPoints:
    """The points a booking brought: earned on its cash part, and redeemed to pay for it; once it is cancelled,
    the earned ones taken back and the redeemed ones returned."""
    booking_ref: str
    earned: int
    redeemed: int
    taken_back: int = 0
    returned: int = 0


@dataclass(frozen=True)
class PointsReturnQuote:
    """What cancelling a booking gives back in points: ``refund_percent`` of those redeemed on it."""
    booking_ref: str
    refund_percent: int
    redeemed: int
    returned: int


@dataclass(frozen=True)
class PointsHold:
    hold_id: str
    user_id: int
    booking_ref: str
    points: int
    value: Money
    status: HoldStatus
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
    kind: TransactionKind
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
class BookingPointsSettled(Event):
    """Loyalty is done with a confirmed booking: the points redeemed on it (and what they paid) and the points
    earned on its cash part, once per booking (0 and 0 when a cancellation got there first)."""
    topic = "loyalty.booking_settled"
    booking_ref: str
    user_id: int
    earned: int
    redeemed: int
    redeemed_value: Money | None = None


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


@dataclass(frozen=True)
class LoyaltyAdminAction(Event):
    """An admin changed something loyalty owns (see ``admin_audit``)."""
    topic = "loyalty.admin_action"
    audit_id: int
    admin_id: int
    action: str
    target: str
    reason: str


@dataclass(frozen=True)
class LotView:
    id: int
    source: str
    booking_ref: str | None
    points: int
    remaining: int
    earned_at: dt.datetime
    expires_at: dt.datetime
    reversed_at: dt.datetime | None = None


@dataclass(frozen=True)
class WeekPoints:
    week: dt.date  # the Monday the week starts on (UTC)
    earned: int
    redeemed: int
    expired: int



class LoyaltyContract(Protocol):
    def tiers(self) -> list[Tier]: ...
    def get_account(self, caller: Principal, user_id: int) -> AccountView:
        """That user, an admin or a service; opens the account on first call."""
    def tier_standing(self, caller: Principal, user_id: int) -> TierStanding:
        """That user, an admin or a service: their tier and the way to the next one."""
    def points_rate(self, currency: str) -> PointsRate:
        """What points are worth in ``currency``: the smallest whole block of points and its value."""
    def points_value(self, points: int, currency: str) -> Money:
        """What ``points`` pay in ``currency``: their whole blocks of the rate (the rest of a block pays nothing)."""
    def points_offer(self, caller: Principal, user_id: int, amount: Money) -> PointsOffer:
        """That user (or an admin): what their points can pay of ``amount``."""
    def earn(self, user_id: int, booking_ref: str, amount: Money, *, caller: Principal | None = IN_PROCESS) -> int:
        """The points earned for ``amount`` paid in cash (services only); idempotent per booking_ref:
        a repeat returns the points of the first call."""
    def hold_points(self, caller: Principal, user_id: int, points: int, booking_ref: str,
                    currency: str = "USD") -> PointsHold:
        """That user holds points against a booking; InsufficientPoints (409) beyond what is available."""
    def commit_hold(self, hold_id: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold:
        """PENDING -> COMMITTED, taking points from the oldest lots (services only); idempotent."""
    def release_hold(self, hold_id: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold:
        """PENDING -> RELEASED (services only); idempotent."""
    def active_hold_for_booking(self, booking_ref: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold | None:
        """The PENDING or COMMITTED hold on a booking, if any (services only: payments subtracts its value)."""
    def reverse_booking(self, booking_ref: str, *, caller: Principal | None = IN_PROCESS) -> ReversalResult:
        """A cancelled booking: earned points taken back, redeemed points returned (services only); idempotent."""
    def history(self, caller: Principal, user_id: int, page: int = 1, per_page: int = 20) -> HistoryPage: ...
    def booking_points(self, caller: Principal, booking_ref: str) -> BookingPoints:
        """The caller's points earned on and redeemed for a booking (0 and 0 for a booking they have no points on)."""
    def quote_points_return(self, caller: Principal, booking_ref: str, refund_percent: int) -> PointsReturnQuote:
        """What cancelling the caller's booking at the fare rule's ``refund_percent`` returns of the points
        redeemed on it (by the rule the cancellation applies); changes nothing."""

    # the admin console's (an admin's token, else 403; every change recorded in admin_audit)
    def admin_lots(self, caller: Principal, user_id: int) -> list[LotView]:
        """The account's lots, newest first."""
    def admin_adjust(self, caller: Principal, user_id: int, points: int, reason: str) -> AccountView:
        """An ADJUST transaction of ``points`` (positive: a new lot; negative: taken from the lots, oldest
        expiry first, never below what is held), with its reason and the admin's id."""
    def admin_set_tier(self, caller: Principal, name: str, threshold: int, multiplier_permille: int,
                       reason: str) -> list[Tier]:
        """Change an existing tier's threshold and multiplier (the audit keeps the history)."""
    def admin_points_by_week(self, caller: Principal, today: dt.date, weeks: int = 12) -> list[WeekPoints]:
        """Points earned, redeemed and expired per week, the ``weeks`` weeks up to ``today``, oldest first."""
    def admin_audit(self, caller: Principal, limit: int = 100, target: str | None = None) -> list[AuditEntry]: ...
    def admin_events(self, caller: Principal) -> OutboxReport: ...
    def admin_retry_events(self, caller: Principal, event_id: str | None = None) -> int: ...
    def admin_booking_events(self, caller: Principal, ref: str) -> list[EventRecord]: ...


class LoyaltyAdmin(Protocol):
    """What the CLI and admins do with loyalty; not for other parts (they hold a LoyaltyContract)."""

    def expire_points(self, as_of: dt.datetime | None = None, dry_run: bool = False) -> ExpiryReport:
        """Expire every lot due at ``as_of`` (default: now), one PointsExpired per account."""
