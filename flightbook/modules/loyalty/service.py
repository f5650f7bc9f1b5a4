"""The loyalty module's use cases behind its two faces: LoyaltyContract for the other parts, LoyaltyAdmin
for the CLI. Who may do what is decided here, whoever calls; the rules about points live in ``rules`` and
the use cases in ``accounts``, ``earning``, ``holds``, ``reversals``, ``saga`` and ``expiry``."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from flightbook.contracts.flights import BookingNotFound, FlightsContract
from flightbook.contracts.loyalty import (AccountView, BookingPoints, ExpiryReport, HistoryPage, LoyaltyAdmin,
                                          LoyaltyContract, PointsHold, PointsOffer, PointsRate, PointsReturnQuote,
                                          ReversalResult, Tier, TierStanding)
from flightbook.kernel import clock, money
from flightbook.contracts.loyalty import LotView, WeekPoints
from flightbook.kernel import audit, outbox
from flightbook.kernel.audit import AuditEntry
from flightbook.kernel.auth import (IN_PROCESS, Principal, require_admin, require_self_or_admin, require_service,
                                    require_user)
from flightbook.kernel.outbox import EventRecord, OutboxAdmin, OutboxReport
from flightbook.kernel.errors import Forbidden, ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import accounts, console, earning, expiry, holds, reversals, saga
from flightbook.modules.loyalty import rules as r

MAX_POINTS = 10 ** 12


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


def _percent(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError("refund_percent", "must be between 0 and 100")
    return value


def _traveller(caller: Principal | None) -> int:
    """The signed-in traveller's user id (401/403 for anyone else)."""
    user_id = require_user(caller).user_id
    if user_id is None:
        raise Forbidden("this token names no traveller", code="forbidden")
    return user_id


class LoyaltyService(OutboxAdmin, LoyaltyContract, LoyaltyAdmin):
    """``flights`` answers whose a booking is (the wiring always hands it; None only in loyalty's own
    module tests, which hold points against made-up refs)."""

    def __init__(self, uow: UnitOfWork, rules: r.LoyaltyRules, clock_now: Callable[[], dt.datetime] = clock.now,
                 flights: FlightsContract | None = None):
        self.uow = uow
        self.rules = rules
        self.now = clock_now
        self.flights = flights

    def tiers(self) -> list[Tier]:
        return accounts.list_tiers()

    def get_account(self, caller: Principal, user_id: int) -> AccountView:
        require_self_or_admin(caller, _user_id(user_id), allow_service=True)
        return accounts.account_view(self.uow, user_id, self.now(), self.rules)

    def tier_standing(self, caller: Principal, user_id: int) -> TierStanding:
        require_self_or_admin(caller, _user_id(user_id), allow_service=True)
        return accounts.tier_standing(self.uow, user_id, self.now(), self.rules)

    def points_rate(self, currency: str) -> PointsRate:
        points, value = r.points_rate(_currency(currency))
        return PointsRate(currency=currency, points=points, value=value)

    def points_value(self, points: int, currency: str) -> Money:
        return r.worth(points if points == 0 else _points(points), _currency(currency))

    def points_offer(self, caller: Principal, user_id: int, amount: Money) -> PointsOffer:
        require_self_or_admin(caller, _user_id(user_id))
        available = accounts.available_points(self.uow, user_id, self.now())
        usable = r.usable_points(available, amount)
        return PointsOffer(user_id=user_id, amount=amount, available=available,
                           available_value=r.worth(available, amount.currency), usable=usable,
                           covers_amount=usable > 0 and r.worth(usable, amount.currency).amount >= amount.amount,
                           rate=self.points_rate(amount.currency))

    def earn(self, user_id: int, booking_ref: str, amount: Money, *, caller: Principal | None = IN_PROCESS) -> int:
        require_service(caller)
        return earning.earn(self.uow, _user_id(user_id), _booking_ref(booking_ref), amount, self.now(), self.rules)

    def hold_points(self, caller: Principal, user_id: int, points: int, booking_ref: str,
                    currency: str = "USD") -> PointsHold:
        if _traveller(caller) != _user_id(user_id):
            raise Forbidden("you may only redeem your own points", code="forbidden")
        ref, points, currency = _booking_ref(booking_ref), _points(points), _currency(currency)
        self._check_booking_is_theirs(caller, user_id, ref)
        return holds.hold_points(self.uow, user_id, points, ref, currency, self.now())

    def _check_booking_is_theirs(self, caller: Principal, user_id: int, ref: str) -> None:
        """Points are held only against the traveller's own booking; someone else's reads as unknown, exactly
        as flights answers for it."""
        if self.flights is None:
            return
        booking = self.flights.get_booking(caller, ref)
        if booking.user_id != user_id:  # an admin sees every booking, but redeems only against their own
            raise BookingNotFound(f"no booking {ref}")

    def commit_hold(self, hold_id: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold:
        require_service(caller)
        return holds.commit_hold(self.uow, hold_id, self.now())

    def release_hold(self, hold_id: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold:
        require_service(caller)
        return holds.release_hold(self.uow, hold_id, self.now())

    def active_hold_for_booking(self, booking_ref: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold | None:
        require_service(caller)
        return holds.active_hold_for_booking(_booking_ref(booking_ref))

    def reverse_booking(self, booking_ref: str, *, caller: Principal | None = IN_PROCESS) -> ReversalResult:
        require_service(caller)
        return reversals.reverse_booking(self.uow, _booking_ref(booking_ref), self.now(), self.rules)

    def history(self, caller: Principal, user_id: int, page: int = 1, per_page: int = 20) -> HistoryPage:
        require_self_or_admin(caller, _user_id(user_id), allow_service=True)
        return accounts.history(user_id, page, per_page)

    def booking_points(self, caller: Principal, booking_ref: str) -> BookingPoints:
        return reversals.booking_points(_traveller(caller), _booking_ref(booking_ref))

    def quote_points_return(self, caller: Principal, booking_ref: str, refund_percent: int) -> PointsReturnQuote:
        return reversals.quote_points_return(_traveller(caller), _booking_ref(booking_ref), _percent(refund_percent))


    # the admin console's: an admin's token, every change recorded in admin_audit
    def admin_lots(self, caller: Principal, user_id: int) -> list[LotView]:
        require_admin(caller)
        with self.uow.connection():
            return console.lots(_user_id(user_id))

    def admin_adjust(self, caller: Principal, user_id: int, points: int, reason: str) -> AccountView:
        admin = require_admin(caller)
        if isinstance(points, bool) or not isinstance(points, int) or points == 0 or abs(points) > MAX_POINTS:
            raise ValidationError("points", "must be a whole number other than 0 (negative takes points away)")
        return console.adjust(self.uow, _user_id(user_id), points, admin, audit.reason(reason), self.now(),
                              self.rules)

    def admin_set_tier(self, caller: Principal, name: str, threshold: int, multiplier_permille: int,
                       reason: str) -> list[Tier]:
        admin = require_admin(caller)
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name", "is required")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= MAX_POINTS:
            raise ValidationError("threshold", "must be a whole number of points, 0 or more")
        if (isinstance(multiplier_permille, bool) or not isinstance(multiplier_permille, int)
                or not 1000 <= multiplier_permille <= 10000):
            raise ValidationError("multiplier_permille", "must be from 1000 (x1) to 10000 (x10)")
        return console.set_tier(self.uow, name.strip(), threshold, multiplier_permille, admin, audit.reason(reason),
                                self.now())

    def admin_points_by_week(self, caller: Principal, today: dt.date, weeks: int = 12) -> list[WeekPoints]:
        require_admin(caller)
        if not isinstance(today, dt.date) or isinstance(weeks, bool) or not isinstance(weeks, int) \
                or not 1 <= weeks <= 104:
            raise ValidationError("weeks", "today and 1 to 104 weeks")
        with self.uow.connection():
            return console.points_by_week(today, weeks)

    def admin_audit(self, caller: Principal, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        require_admin(caller)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ValidationError("limit", "must be a whole number from 1 to 100")
        with self.uow.connection():
            return console.entries(limit, target)

    def admin_booking_events(self, caller: Principal, ref: str) -> list[EventRecord]:
        require_admin(caller)
        return outbox.events_about(self.uow.database, _booking_ref(ref))

    # LoyaltyAdmin: the CLI's
    def expire_points(self, as_of: dt.datetime | None = None, dry_run: bool = False) -> ExpiryReport:
        now = self.now()
        as_of = as_of or now
        return expiry.expire_lots(self.uow, as_of, now, r.qualifying_since(as_of, self.rules), accounts.tier_rules(),
                                  dry_run=dry_run)

    # the booking saga (handlers.py): not reachable from other parts, run inside loyalty's inbox transaction
    def booking_confirmed(self, booking_ref: str, user_id: int, total: Money, paid: Money | None = None) -> int:
        return saga.settle_confirmed_booking(self.uow, _booking_ref(booking_ref), _user_id(user_id), total,
                                             self.now(), self.rules, paid=paid)

    def booking_cancelled(self, booking_ref: str, user_id: int, refund_percent: int) -> ReversalResult:
        return reversals.reverse_booking(self.uow, _booking_ref(booking_ref), self.now(), self.rules,
                                         _percent(refund_percent), user_id=_user_id(user_id))

    def booking_abandoned(self, booking_ref: str) -> int:
        """Expired, cancelled while held, or its payment rejected: the points held for it go back."""
        return holds.release_pending_holds(self.uow, _booking_ref(booking_ref), self.now())
