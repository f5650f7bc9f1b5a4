"""Earning: points for the part of a booking paid in cash, at the account's tier, once per booking."""
from __future__ import annotations

import datetime as dt

import peewee as pw

from flightbook.contracts.loyalty import PointsEarned, TransactionKind
from flightbook.kernel.db import is_postgres
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Statement
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.accounts import moved_balance, open_account, recompute_tier, record, tier_of, tier_rules
from flightbook.modules.loyalty.lots import add_lot
from flightbook.modules.loyalty.models import LotSource
from flightbook.modules.loyalty.models import PointsTransaction as TransactionRow


def earn(uow: UnitOfWork, user_id: int, booking_ref: str, amount: Money, now: dt.datetime,
         rules: r.LoyaltyRules) -> int:
    try:
        with uow.transaction():
            return earn_in_transaction(uow, user_id, booking_ref, amount, now, rules)
    except pw.IntegrityError:  # a concurrent earn for the same booking got there first
        return earned_for(booking_ref) or 0


def earned_for(booking_ref: str) -> int | None:
    row = TransactionRow.get_or_none((TransactionRow.kind == TransactionKind.EARN)
                                     & (TransactionRow.booking_ref == booking_ref))
    return row.points if row else None


def reversal_of(booking_ref: str) -> TransactionRow | None:
    return TransactionRow.get_or_none((TransactionRow.kind == TransactionKind.REVERSAL)
                                      & (TransactionRow.booking_ref == booking_ref))


# the first key says "a booking's", the second is the ref's hash: two refs sharing a hash only wait for each other
_LOCK_BOOKING = Statement("loyalty_lock_booking", lambda d: "SELECT pg_advisory_xact_lock(1, hashtext({booking_ref}))")


def lock_booking(booking_ref: str) -> None:
    """Take the booking's lock until the transaction ends, before asking whether it earned or was reversed: the
    settlement (saga.py), ``earn`` and the reversal (reversals.py) each check, then write what the check allows,
    and under READ COMMITTED two of them at once would each miss the other's writes (a cancelled trip keeping
    its points). With it they take turns, and the later one's checks see what the earlier one committed.
    A lock of its own (advisory, on PostgreSQL) rather than a row's: a booking paid by card has no row in
    loyalty to lock, and taken first it stays out of the hold -> account -> lots order (accounts.py). SQLite
    runs one writer at a time (``BEGIN IMMEDIATE``) and needs none."""
    database = TransactionRow._meta.database
    if is_postgres(database):
        _LOCK_BOOKING.run(database, booking_ref=booking_ref)


_EARNED_OR_REVERSED = Statement("loyalty_earned_or_reversed", lambda d: """SELECT kind, points FROM points_transaction
    WHERE booking_ref = {booking_ref} AND kind IN ({earn}, {reversal})""")


def earned_or_reversed(booking_ref: str) -> tuple[int | None, bool]:
    """``earned_for`` and whether the booking was reversed, in one statement (both are asked of every
    confirmed booking)."""
    rows = _EARNED_OR_REVERSED.rows(TransactionRow._meta.database, booking_ref=booking_ref,
                                    earn=TransactionKind.EARN, reversal=TransactionKind.REVERSAL)
    earned = next((int(points) for kind, points in rows if kind == TransactionKind.EARN), None)
    return earned, any(kind == TransactionKind.REVERSAL for kind, _ in rows)


def earn_in_transaction(uow: UnitOfWork, user_id: int, booking_ref: str, amount: Money, now: dt.datetime,
                        rules: r.LoyaltyRules) -> int:
    lock_booking(booking_ref)
    earned, reversed_ = earned_or_reversed(booking_ref)
    if earned is not None:
        return earned
    if reversed_:
        return 0  # the booking was cancelled before its points arrived
    return award(uow, user_id, booking_ref, amount, now, rules)


def award(uow: UnitOfWork, user_id: int, booking_ref: str, amount: Money, now: dt.datetime,
          rules: r.LoyaltyRules) -> int:
    """``earn_in_transaction`` once the booking is known to have neither earned nor been reversed."""
    tiers = tier_rules()
    tier = tier_of(open_account(user_id, now, tiers), tiers)
    points = r.points_earned(amount, tier.multiplier_permille, rules.points_per_unit)
    if points:
        add_lot(user_id, LotSource.EARN, points, now, r.expiry_of_lot(now, rules), booking_ref)
    balance, current_tier = moved_balance(user_id, points, now)
    record(user_id, TransactionKind.EARN, points, balance, now, booking_ref,
           f"{amount.format()} paid, {tier.name} x{tier.multiplier_permille / 1000:g}")
    uow.publish(PointsEarned(user_id=user_id, booking_ref=booking_ref, points=points))
    recompute_tier(uow, user_id, now, rules, tiers, current_tier)
    return points
