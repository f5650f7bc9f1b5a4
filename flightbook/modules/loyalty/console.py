"""The admin console's use cases in loyalty: an account's lots, a manual adjustment (ADJUST), a tier's
threshold and multiplier, points per week for the overview, and the audit of it all."""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any

import peewee as pw

from flightbook.contracts.loyalty import (AccountView, LotView, LoyaltyAdminAction, Tier, TransactionKind,
                                          WeekPoints)
from flightbook.kernel import audit, clock
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import NotFound, ValidationError
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import accounts
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.lots import add_lot, take_from_lots
from flightbook.modules.loyalty.models import AdminAudit, LotSource, LoyaltyTier, PointsLot
from flightbook.modules.loyalty.models import PointsTransaction as TransactionRow

MAX_LOTS = 200


def record(uow: UnitOfWork, admin: Principal, action: str, target: str, reason: str, now: dt.datetime,
           **details) -> int:
    audit_id = audit.record(AdminAudit, admin, action, target, reason, now, **details)
    uow.publish(LoyaltyAdminAction(audit_id=audit_id, admin_id=admin.user_id or 0, action=action, target=target,
                                   reason=reason))
    return audit_id


def lots(user_id: int) -> list[LotView]:
    rows = (PointsLot.select().where(PointsLot.account == user_id).order_by(PointsLot.id.desc()).limit(MAX_LOTS))
    return [LotView(id=lot.id, source=lot.source, booking_ref=lot.booking_ref, points=lot.points,
                    remaining=lot.remaining, earned_at=clock.from_db(lot.earned_at),
                    expires_at=clock.from_db(lot.expires_at),
                    reversed_at=clock.from_db(lot.reversed_at) if lot.reversed_at else None) for lot in rows]


def adjust(uow: UnitOfWork, user_id: int, points: int, admin: Principal, reason: str, now: dt.datetime,
           rules: r.LoyaltyRules) -> AccountView:
    """Credit (a new ADJUST lot, expiring as earned points do) or debit (oldest expiry first) ``points``;
    a debit beyond the points not under a hold is InsufficientPoints (409): the balance never goes below zero."""
    with uow.transaction():
        accounts.open_account(user_id, now)
        balance = accounts.move_balance(user_id, points, now)
        if points > 0:
            add_lot(user_id, LotSource.ADJUST, points, now, r.expiry_of_lot(now, rules), None)
        else:
            take_from_lots(user_id, -points)
        accounts.record(user_id, TransactionKind.ADJUST, points, balance, now, note=reason)
        record(uow, admin, "points.adjust", f"user {user_id}", reason, now, points=points, balance_after=balance)
    return accounts.account_view(uow, user_id, now, rules)


def set_tier(uow: UnitOfWork, name: str, threshold: int, multiplier_permille: int, admin: Principal, reason: str,
             now: dt.datetime) -> list[Tier]:
    tier = LoyaltyTier.get_or_none(LoyaltyTier.name == name)
    if tier is None:
        raise NotFound(f"no tier {name!r}", code="tier_not_found")
    if tier.threshold == 0 and threshold != 0:
        raise ValidationError("threshold", "the lowest tier starts at 0")
    others = [t for t in LoyaltyTier.select() if t.name != name]
    if any(t.threshold == threshold for t in others):
        raise ValidationError("threshold", "another tier starts there")
    with uow.transaction():
        LoyaltyTier.update(threshold=threshold, multiplier_permille=multiplier_permille).where(
            LoyaltyTier.name == name).execute()
        record(uow, admin, "tier.change", f"tier {name}", reason, now,
               was_threshold=tier.threshold, was_multiplier_permille=tier.multiplier_permille,
               threshold=threshold, multiplier_permille=multiplier_permille)
    return accounts.list_tiers()


KEPT_SECONDS = 60.0
_kept: dict = {}  # (first, today) -> (rows of the days before today, until when they are kept)


def _points_by_day(since: dt.date, until: dt.date | None) -> list[tuple]:
    """(day, kind, points) of the EARN, REDEEM and EXPIRE transactions from ``since`` to before ``until``."""
    day = pw.fn.date(TransactionRow.created_at)
    window = TransactionRow.created_at >= clock.to_db(dt.datetime.combine(since, dt.time(), clock.UTC))
    if until is not None:
        window &= TransactionRow.created_at < clock.to_db(dt.datetime.combine(until, dt.time(), clock.UTC))
    rows: Any = (TransactionRow.select(day, TransactionRow.kind, pw.fn.SUM(TransactionRow.points))
                 .where(window & TransactionRow.kind.in_([TransactionKind.EARN, TransactionKind.REDEEM,
                                                          TransactionKind.EXPIRE]))
                 .group_by(day, TransactionRow.kind).tuples())
    return list(rows)


def points_by_week(today: dt.date, weeks: int) -> list[WeekPoints]:
    """Monday-started weeks (UTC), oldest first, the last one holding ``today``. The days before today are kept
    in memory for KEPT_SECONDS (12 weeks of transactions is many rows); today's are read each time."""
    last_monday = today - dt.timedelta(days=today.weekday())
    first = last_monday - dt.timedelta(weeks=weeks - 1)
    held = _kept.get((first, today))
    if held is None or held[1] <= time.monotonic():
        if len(_kept) > 16:
            _kept.clear()
        held = _kept[(first, today)] = (_points_by_day(first, today), time.monotonic() + KEPT_SECONDS)
    rows = held[0] + _points_by_day(today, None)
    totals: dict = defaultdict(lambda: defaultdict(int))
    for when, kind, points in rows:
        d = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when)[:10])
        if isinstance(d, dt.datetime):
            d = d.date()
        totals[d - dt.timedelta(days=d.weekday())][kind] += abs(int(points or 0))
    return [WeekPoints(week=w, earned=totals[w][TransactionKind.EARN], redeemed=totals[w][TransactionKind.REDEEM],
                       expired=totals[w][TransactionKind.EXPIRE])
            for w in (first + dt.timedelta(weeks=i) for i in range(weeks))]


def entries(limit: int, target: str | None) -> list[audit.AuditEntry]:
    return audit.entries(AdminAudit, "loyalty", limit, target)
