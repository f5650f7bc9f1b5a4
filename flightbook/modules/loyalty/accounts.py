"""Accounts: opened on first use, their balance and held counters, tiers, and the transaction history.

Concurrency: the account row is the lock. Every change takes it first with a conditional UPDATE
(``held = held + n WHERE balance - held >= n``), then touches lots; holds are taken before the
account. That one order (hold -> account -> lots) is shared with ``expiry``, so nothing deadlocks
and no two writers can both spend the same points. A booking's settlement, earn and reversal first take the
booking's own lock (``earning.lock_booking``), before any of these, so they take turns on one booking.

The statements of a booking's settlement (earning.py: every confirmed booking runs them) are written once
as SQL (kernel.sql, prepared on PostgreSQL): peewee's query building was most of their CPU.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from flightbook.contracts.loyalty import (AccountView, HistoryPage, InsufficientPoints, PointsTransaction, Tier,
                                          TierChanged, TierStanding, TransactionKind)
from flightbook.kernel import clock
from flightbook.kernel.sql import Lookup, Statement, insert
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.models import LotSource, LoyaltyAccount, LoyaltyTier, PointsLot
from flightbook.modules.loyalty.models import PointsTransaction as TransactionRow


_TIERS = Statement("loyalty_tiers", lambda d: """SELECT name, threshold, multiplier_permille FROM loyalty_tier
    ORDER BY threshold""")
_ACCOUNT = Lookup(LoyaltyAccount, "user_id = {user_id}")
_QUALIFYING = Statement("loyalty_qualifying", lambda d: """SELECT COALESCE(SUM(points), 0) FROM points_lot
    WHERE user_id = {user_id} AND source = {earn} AND reversed_at IS NULL AND earned_at > {since}""")
# conditional: never below what is held; the new balance, and the tier as it stands under the row's lock
_MOVE_BALANCE = Statement("loyalty_move_balance", lambda d: """UPDATE loyalty_account
    SET balance = balance + {points}, updated_at = {now}
    WHERE user_id = {user_id} AND balance - held + {points} >= 0 RETURNING balance, tier""")
_RECORD = insert("loyalty_record", TransactionRow,
                 ("user_id", "kind", "points", "balance_after", "booking_ref", "note", "created_at"))


def tier_rules() -> list[r.TierRule]:
    """The tiers, lowest first (read each time: an admin may change them)."""
    return [r.TierRule(name, threshold, permille)
            for name, threshold, permille in _TIERS.rows(LoyaltyTier._meta.database)]


def _tier(rule: r.TierRule) -> Tier:
    return Tier(rule.name, rule.threshold, rule.multiplier_permille, rule.multiplier_permille / 1000)


def list_tiers() -> list[Tier]:
    return [_tier(t) for t in tier_rules()]


def tier_of(account: LoyaltyAccount, tiers: list[r.TierRule]) -> r.TierRule:
    return next((t for t in tiers if t.name == account.tier), tiers[0])


def qualifying_points(user_id: int, now: dt.datetime, rules: r.LoyaltyRules) -> int:
    since = clock.to_db(r.qualifying_since(now, rules))
    total = _QUALIFYING.rows(PointsLot._meta.database, user_id=user_id, earn=LotSource.EARN, since=since)[0][0]
    return int(total or 0)


def points_expiring_by(user_id: int, moment: dt.datetime) -> int:
    total = (PointsLot.select(pw.fn.COALESCE(pw.fn.SUM(PointsLot.remaining), 0))
             .where((PointsLot.account == user_id) & (PointsLot.remaining > 0)
                    & (PointsLot.expires_at <= clock.to_db(moment))).scalar())
    return int(total or 0)


def open_account(user_id: int, now: dt.datetime, tiers: list[r.TierRule] | None = None) -> LoyaltyAccount:
    """An account exists from a user's first call: create it if missing (a no-op otherwise). Inside the
    caller's write transaction. ``tiers``: the tier rules, when the caller has read them."""
    account = _ACCOUNT.first(user_id=user_id)
    if account is not None:
        return account
    stamp = clock.to_db(now)
    (LoyaltyAccount.insert(user_id=user_id, balance=0, held=0, tier=(tiers or tier_rules())[0].name,
                           created_at=stamp, updated_at=stamp)
     .on_conflict_ignore().execute())
    return LoyaltyAccount.get_by_id(user_id)


def _standing(uow: UnitOfWork, user_id: int, now: dt.datetime, rules: r.LoyaltyRules):
    """The account (opened if need be), its tier, the next tier and its qualifying points."""
    with uow.transaction():
        account = open_account(user_id, now)
    tiers = tier_rules()
    current = tier_of(account, tiers)
    return account, current, r.next_tier(current, tiers), qualifying_points(user_id, now, rules)


def account_view(uow: UnitOfWork, user_id: int, now: dt.datetime, rules: r.LoyaltyRules) -> AccountView:
    account, current, higher, qualifying = _standing(uow, user_id, now, rules)
    return AccountView(
        user_id=user_id, balance=account.balance, available=account.balance - account.held, tier=current.name,
        qualifying_points=qualifying, next_tier=higher.name if higher else None,
        points_to_next_tier=max(0, higher.threshold - qualifying) if higher else 0,
        expiring_soon=points_expiring_by(user_id, now + dt.timedelta(days=rules.expiring_soon_days)))


def tier_standing(uow: UnitOfWork, user_id: int, now: dt.datetime, rules: r.LoyaltyRules) -> TierStanding:
    _, current, higher, qualifying = _standing(uow, user_id, now, rules)
    return TierStanding(user_id=user_id, tier=_tier(current), next_tier=_tier(higher) if higher else None,
                        qualifying_points=qualifying,
                        points_to_next_tier=max(0, higher.threshold - qualifying) if higher else 0,
                        progress_percent=r.tier_progress(qualifying, current, higher))


def available_points(uow: UnitOfWork, user_id: int, now: dt.datetime) -> int:
    with uow.transaction():
        account = open_account(user_id, now)
    return account.balance - account.held


def history(user_id: int, page: int, per_page: int) -> HistoryPage:
    query = TransactionRow.select().where(TransactionRow.account == user_id)
    rows = query.order_by(TransactionRow.id.desc()).paginate(page, per_page)
    return HistoryPage(user_id=user_id, transactions=[_transaction_view(t) for t in rows],
                       page=page, per_page=per_page, total=query.count())


def _transaction_view(row: TransactionRow) -> PointsTransaction:
    return PointsTransaction(id=row.id, kind=TransactionKind(row.kind), points=row.points,
                             balance_after=row.balance_after, booking_ref=row.booking_ref,
                             created_at=clock.from_db(row.created_at), note=row.note)


def move_balance(user_id: int, points: int, now: dt.datetime) -> int:
    """balance += points (points may be negative, never below what is held); the new balance."""
    return moved_balance(user_id, points, now)[0]


def moved_balance(user_id: int, points: int, now: dt.datetime) -> tuple[int, str]:
    """``move_balance`` in one statement: (the new balance, the account's tier)."""
    rows = _MOVE_BALANCE.rows(LoyaltyAccount._meta.database, points=points, now=clock.to_db(now), user_id=user_id)
    if not rows:
        raise InsufficientPoints("not enough points", **balances(user_id))
    return int(rows[0][0]), rows[0][1]


def balances(user_id: int) -> dict:
    account = LoyaltyAccount.get_or_none(LoyaltyAccount.user_id == user_id)
    if account is None:
        return {"balance": 0, "available": 0}
    return {"balance": account.balance, "available": account.balance - account.held}


def record(user_id: int, kind: TransactionKind, points: int, balance_after: int, now: dt.datetime,
           booking_ref: str | None = None, note: str = "") -> None:
    _RECORD.run(TransactionRow._meta.database, user_id=user_id, kind=kind, points=points, balance_after=balance_after,
                booking_ref=booking_ref, note=note[:200], created_at=clock.to_db(now))


def recompute_tier(uow: UnitOfWork, user_id: int, now: dt.datetime, rules: r.LoyaltyRules,
                   tiers: list[r.TierRule] | None = None, current: str | None = None) -> str:
    """The account's tier by the tier rule, publishing TierChanged when it moves. ``tiers`` and ``current``
    (the account's tier, read under its row's lock): when the caller has them."""
    if current is None:
        current = LoyaltyAccount.get_by_id(user_id).tier
    new = r.tier_for(qualifying_points(user_id, now, rules), tiers or tier_rules()).name
    if new != current:
        LoyaltyAccount.update(tier=new).where(LoyaltyAccount.user_id == user_id).execute()
        uow.publish(TierChanged(user_id=user_id, old_tier=current, new_tier=new))
    return new
