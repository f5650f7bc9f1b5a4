"""The loyalty module's use cases behind its contract: the in-process adapter other parts are handed.
Who may do what is decided here; the rules about points live in ``ledger``, ``expiry`` and ``rules``."""
from __future__ import annotations

import datetime as dt
import math

from flightbook.contracts.loyalty import (AccountView, ExpiryReport, HistoryPage, PointsHold, PointsRate,
                                          ReversalResult, Tier)
from flightbook.kernel import clock, money
from flightbook.kernel.auth import Principal, require_self_or_admin, require_user
from flightbook.kernel.errors import Forbidden, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.loyalty import expiry, ledger
from flightbook.modules.loyalty.rules import LoyaltyRules, points_value, qualifying_since

MAX_POINTS = 10 ** 12
#: a block of points worth a whole number of minor units in every currency (exponents 0 to 3)
_RATE_PROBE = 10 ** 6


def _booking_ref(booking_ref) -> str:
    if not isinstance(booking_ref, str) or not booking_ref.strip() or len(booking_ref.strip()) > 40:
        raise ValidationError("booking_ref", "must be 1-40 characters")
    return booking_ref.strip().upper()


def _user_id(user_id) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 < user_id < 2 ** 63:
        raise ValidationError("user_id", "must be a positive whole number")
    return user_id


def _points(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_POINTS:
        raise ValidationError("points", "must be a positive whole number")
    return value


def _currency(code) -> str:
    if not money.is_currency(code):
        raise ValidationError("currency", "must be an ISO 4217 code such as USD")
    return code


class LoyaltyService:
    """Implements LoyaltyContract in process."""

    def __init__(self, rules: LoyaltyRules, clock_now=clock.now):
        self.rules = rules
        self.now = clock_now

    def tiers(self) -> list[Tier]:
        return ledger.list_tiers()

    def get_account(self, caller: Principal, user_id: int) -> AccountView:
        require_self_or_admin(caller, _user_id(user_id), allow_service=True)
        return ledger.account_view(user_id, self.now(), self.rules)

    def points_rate(self, currency: str) -> PointsRate:
        """The rules' own value of a large block, reduced to its smallest whole part (points_value is linear)."""
        value = points_value(_RATE_PROBE, _currency(currency))
        common = math.gcd(_RATE_PROBE, value.amount)
        return PointsRate(currency=currency, points=_RATE_PROBE // common,
                          value=Money(value.amount // common, currency))

    def earn(self, user_id: int, booking_ref: str, amount: Money) -> int:
        return ledger.earn(_user_id(user_id), _booking_ref(booking_ref), amount, self.now(), self.rules)

    def hold_points(self, caller: Principal, user_id: int, points: int, booking_ref: str,
                    currency: str = "USD") -> PointsHold:
        caller = require_user(caller)
        if caller.user_id != _user_id(user_id):
            raise Forbidden("you may only redeem your own points", code="forbidden")
        return ledger.hold_points(user_id, _points(points), _booking_ref(booking_ref), _currency(currency),
                                  self.now())

    def commit_hold(self, hold_id: str) -> PointsHold:
        return ledger.commit_hold(hold_id, self.now())

    def release_hold(self, hold_id: str) -> PointsHold:
        return ledger.release_hold(hold_id, self.now())

    def active_hold_for_booking(self, booking_ref: str) -> PointsHold | None:
        return ledger.active_hold_for_booking(_booking_ref(booking_ref))

    def reverse_booking(self, booking_ref: str) -> ReversalResult:
        return ledger.reverse_booking(_booking_ref(booking_ref), self.now(), self.rules)

    # the booking saga (handlers.py): not part of the contract, run inside loyalty's inbox transaction
    def booking_confirmed(self, booking_ref: str, user_id: int, total: Money, paid: Money | None = None) -> int:
        return ledger.settle_confirmed_booking(_booking_ref(booking_ref), _user_id(user_id), total, self.now(),
                                               self.rules, paid=paid)

    def booking_cancelled(self, booking_ref: str, user_id: int, refund_percent: int) -> ReversalResult:
        if not 0 <= refund_percent <= 100:
            raise ValidationError("refund_percent", "must be between 0 and 100")
        return ledger.reverse_booking(_booking_ref(booking_ref), self.now(), self.rules, refund_percent,
                                      user_id=_user_id(user_id))

    def booking_abandoned(self, booking_ref: str) -> int:
        """Expired, cancelled while held, or its payment rejected: the points held for it go back."""
        return ledger.release_pending_holds(_booking_ref(booking_ref), self.now())

    def history(self, caller: Principal, user_id: int, page: int = 1, per_page: int = 20) -> HistoryPage:
        require_self_or_admin(caller, _user_id(user_id), allow_service=True)
        return ledger.history(user_id, page, per_page)

    def expire_points(self, as_of: dt.datetime | None = None, dry_run: bool = False) -> ExpiryReport:
        """Expire every lot due at ``as_of`` (default: now). Not part of the contract: the CLI's."""
        now = self.now()
        as_of = as_of or now
        return expiry.expire_lots(as_of, now, qualifying_since(as_of, self.rules), dry_run=dry_run)
