"""Expiring points lots in set-based SQL (SQLite 3.33+ and PostgreSQL alike): a handful of statements
for any number of lots, in one transaction.

Hold protection: points under a pending hold never expire. A hold counts against the account's
oldest lots first (the order its commit will spend them in), so of an expired lot only the part
beyond what pending holds cover expires; if the hold is released instead, that part expires on the
next run. This keeps ``balance >= held``, so a commit always finds its points.

No lost update while points are redeemed: on PostgreSQL the affected accounts are locked first
(``FOR UPDATE``, the same account-before-lots order every other writer uses) and only then are the
lots read, in a fresh READ COMMITTED snapshot; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway.

Each account that lost points publishes PointsExpired, and TierChanged when its tier, worked out again by
``rules.tier_for`` from the qualifying points left, moves.
"""
from __future__ import annotations

import datetime as dt

from collections import defaultdict

import peewee as pw

from flightbook.contracts.loyalty import ExpiryReport, PointsExpired, TierChanged, TransactionKind
from flightbook.kernel import clock
from flightbook.kernel.events import Event
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.models import LotSource, LoyaltyAccount

_TEMP = ("expired_account", "expiring_lot", "expiring_account")
_WORK_MEM = "64MB"  # per sort or hash of this one transaction, reset when it ends

_ACCOUNTS_WITH_EXPIRED_LOTS = """
CREATE TEMP TABLE expiring_account AS
SELECT DISTINCT user_id FROM points_lot WHERE remaining > 0 AND expires_at <= {p}"""

_LOCK_ACCOUNTS = """
SELECT count(*) FROM (SELECT user_id FROM loyalty_account
                      WHERE user_id IN (SELECT user_id FROM expiring_account)
                      ORDER BY user_id FOR UPDATE) AS locked"""

# Due lots and how many of their points expire. Without a pending hold (most accounts) that is all of a
# due lot's remaining points. With one, ``before`` is the points in the account's older due lots; held
# points cover those first. (Two branches so only accounts with holds pay for the running sum's sort.)
_DUE_LOTS = """
SELECT l.id AS lot_id, l.user_id, l.remaining AS points
FROM points_lot l JOIN loyalty_account a ON a.user_id = l.user_id
WHERE a.held = 0 AND l.remaining > 0 AND l.expires_at <= {p}
  AND l.user_id IN (SELECT user_id FROM expiring_account)
UNION ALL
SELECT lot_id, user_id,
       CASE WHEN held <= before THEN remaining ELSE before + remaining - held END AS points
FROM (SELECT l.id AS lot_id, l.user_id, l.remaining, a.held,
             SUM(l.remaining) OVER (PARTITION BY l.user_id ORDER BY l.expires_at, l.id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - l.remaining AS before
      FROM points_lot l JOIN loyalty_account a ON a.user_id = l.user_id
      WHERE a.held > 0 AND l.remaining > 0 AND l.expires_at <= {p}
        AND l.user_id IN (SELECT user_id FROM expiring_account)) AS ranked
WHERE held < before + remaining"""

_EXPIRING_LOTS = "CREATE TEMP TABLE expiring_lot AS" + _DUE_LOTS + """
ORDER BY lot_id"""  # so the UPDATE visits lots in table order

_SPEND_LOTS = """
UPDATE points_lot SET remaining = remaining - e.points
FROM expiring_lot e WHERE points_lot.id = e.lot_id"""

_EXPIRED_ACCOUNTS = """
CREATE TEMP TABLE expired_account AS
SELECT x.user_id, x.points,
       (SELECT COALESCE(SUM(l.points), 0) FROM points_lot l
        WHERE l.user_id = x.user_id AND l.source = '{earned}' AND l.reversed_at IS NULL
          AND l.earned_at > {p}) AS qualifying
FROM (SELECT user_id, SUM(points) AS points FROM expiring_lot GROUP BY user_id) AS x"""

_DEBIT_ACCOUNTS = """
UPDATE loyalty_account SET balance = balance - x.points, updated_at = {p}
FROM expired_account x WHERE loyalty_account.user_id = x.user_id"""

_EXPIRED = """
SELECT x.user_id, x.points, x.qualifying, a.tier
FROM expired_account x JOIN loyalty_account a ON a.user_id = x.user_id ORDER BY x.user_id"""

_RECORD = """
INSERT INTO points_transaction (user_id, kind, points, balance_after, booking_ref, note, created_at)
SELECT a.user_id, '{kind}', -x.points, a.balance, NULL, {p}, {p}
FROM loyalty_account a JOIN expired_account x ON a.user_id = x.user_id"""


def expire_lots(uow: UnitOfWork, as_of: dt.datetime, now: dt.datetime, qualifying_since: dt.datetime,
                tiers: list[r.TierRule], dry_run: bool = False) -> ExpiryReport:
    """Expire every lot whose ``expires_at`` is at or before ``as_of``: one EXPIRE transaction per account."""
    database = uow.database
    p = database.param
    cutoff = clock.to_db(as_of)
    with uow.transaction() as txn:
        if uow.is_postgres:  # ~1M-row sorts and hashes fit in memory; JIT compiling costs more than it saves here
            database.execute_sql(f"SET LOCAL work_mem = '{_WORK_MEM}'")
            database.execute_sql("SET LOCAL jit = off")
        _drop_temp_tables(database)
        database.execute_sql(_ACCOUNTS_WITH_EXPIRED_LOTS.format(p=p), (cutoff,))
        if uow.is_postgres:
            database.execute_sql("ANALYZE expiring_account")  # else the planner guesses 200 accounts
            database.execute_sql(_LOCK_ACCOUNTS)
        database.execute_sql(_EXPIRING_LOTS.format(p=p), (cutoff, cutoff))
        if uow.is_postgres:
            database.execute_sql("ANALYZE expiring_lot")
        accounts, points = database.execute_sql(
            "SELECT count(DISTINCT user_id), COALESCE(SUM(points), 0) FROM expiring_lot").fetchone()
        if dry_run:
            txn.rollback()
            return ExpiryReport(as_of=as_of, accounts=int(accounts), points=int(points), dry_run=True)
        database.execute_sql(_SPEND_LOTS)
        database.execute_sql(_EXPIRED_ACCOUNTS.format(p=p, earned=LotSource.EARN), (clock.to_db(qualifying_since),))
        database.execute_sql(_DEBIT_ACCOUNTS.format(p=p), (clock.to_db(now),))
        database.execute_sql(_RECORD.format(p=p, kind=TransactionKind.EXPIRE),
                             (f"lots expired as of {clock.iso(as_of)}", clock.to_db(now)))
        uow.publish_many(_expired_and_new_tiers(database, tiers))
        _drop_temp_tables(database)
    return ExpiryReport(as_of=as_of, accounts=int(accounts), points=int(points))


def _expired_and_new_tiers(database, tiers: list[r.TierRule]) -> list[Event]:
    """PointsExpired for every account that lost points; for those whose tier the rule now puts elsewhere,
    the new tier (written here) and TierChanged."""
    events: list[Event] = []
    moved: dict[str, list[int]] = defaultdict(list)
    for user_id, points, qualifying, tier in database.execute_sql(_EXPIRED).fetchall():
        events.append(PointsExpired(user_id=user_id, points=int(points)))
        new = r.tier_for(int(qualifying), tiers).name
        if new != tier:
            moved[new].append(user_id)
            events.append(TierChanged(user_id=user_id, old_tier=tier, new_tier=new))
    for new, users in moved.items():
        for batch in pw.chunked(users, 500):
            LoyaltyAccount.update(tier=new).where(LoyaltyAccount.user_id.in_(batch)).execute()
    return events


def _drop_temp_tables(database) -> None:
    for name in _TEMP:
        database.execute_sql(f"DROP TABLE IF EXISTS {name}")
