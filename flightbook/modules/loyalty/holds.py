"""Points held against a booking: taken from what is available, then committed (spent) when the booking
is confirmed or released when it will not be paid."""
from __future__ import annotations

import datetime as dt
import uuid

import peewee as pw

from flightbook.contracts.loyalty import (HoldConflict, HoldNotFound, HoldStatus, InsufficientPoints, PointsHeld,
                                          PointsHold, PointsHoldReleased, PointsRedeemed, TransactionKind)
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Lookup
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.accounts import balances, open_account, record
from flightbook.modules.loyalty.lots import take_from_lots
from flightbook.modules.loyalty.models import LoyaltyAccount
from flightbook.modules.loyalty.models import PointsHold as HoldRow

LIVE = (HoldStatus.PENDING, HoldStatus.COMMITTED)
LIVE_HOLDS = Lookup(HoldRow, "booking_ref = {booking_ref} AND status IN ({pending}, {committed})")


def hold_view(row: HoldRow) -> PointsHold:
    return PointsHold(hold_id=row.id, user_id=row.user_id, booking_ref=row.booking_ref, points=row.points,
                      value=Money(row.value_amount, row.currency), status=HoldStatus(row.status),
                      created_at=clock.from_db(row.created_at))


def active_hold_for_booking(booking_ref: str) -> PointsHold | None:
    row = LIVE_HOLDS.first(booking_ref=booking_ref, pending=HoldStatus.PENDING.value,
                           committed=HoldStatus.COMMITTED.value)
    return hold_view(row) if row else None


def hold_points(uow: UnitOfWork, user_id: int, points: int, booking_ref: str, currency: str,
                now: dt.datetime) -> PointsHold:
    value = r.points_value(points, currency)
    try:
        with uow.transaction():
            return _hold_points(uow, user_id, points, booking_ref, value, now)
    except pw.IntegrityError:  # a concurrent hold on the same booking won
        raise HoldConflict(f"booking {booking_ref} already has a points hold") from None


def _hold_points(uow: UnitOfWork, user_id: int, points: int, booking_ref: str, value: Money,
                 now: dt.datetime) -> PointsHold:
    existing = HoldRow.get_or_none((HoldRow.booking_ref == booking_ref) & HoldRow.status.in_(LIVE))
    if existing is not None:
        if (existing.user_id, existing.points, existing.currency) == (user_id, points, value.currency):
            return hold_view(existing)  # the same request again
        raise HoldConflict(f"booking {booking_ref} already has a points hold ({existing.id})")
    open_account(user_id, now)
    # conditional UPDATE: two redeems cannot both take the last points
    reserved = (LoyaltyAccount.update(held=LoyaltyAccount.held + points, updated_at=clock.to_db(now))
                .where((LoyaltyAccount.user_id == user_id)
                       & (LoyaltyAccount.balance - LoyaltyAccount.held >= points)).execute())
    if reserved != 1:
        available = balances(user_id)
        raise InsufficientPoints(f"{points} points requested, {available['available']} available",
                                 requested=points, **available)
    row = HoldRow.create(id=f"ph_{uuid.uuid4().hex}", account=user_id, booking_ref=booking_ref, points=points,
                         value_amount=value.amount, currency=value.currency, status=HoldStatus.PENDING,
                         created_at=clock.to_db(now))
    uow.publish(PointsHeld(hold_id=row.id, user_id=user_id, booking_ref=booking_ref, points=points, value=value))
    return hold_view(row)


def settle(hold_id: str, to_status: HoldStatus, now: dt.datetime) -> tuple[HoldRow | None, bool]:
    """Move a PENDING hold to ``to_status``: (the hold re-read, whether this call moved it)."""
    moved = (HoldRow.update(status=to_status, settled_at=clock.to_db(now))
             .where((HoldRow.id == hold_id) & (HoldRow.status == HoldStatus.PENDING)).execute())
    return HoldRow.get_or_none(HoldRow.id == hold_id), moved == 1


def commit_hold(uow: UnitOfWork, hold_id: str, now: dt.datetime) -> PointsHold:
    with uow.transaction():
        row, moved = settle(hold_id, HoldStatus.COMMITTED, now)
        if row is None:
            raise HoldNotFound(f"no points hold {hold_id}")
        if not moved:
            if row.status == HoldStatus.RELEASED:
                raise HoldConflict(f"hold {hold_id} was released; it cannot be committed")
            return hold_view(row)  # committed before: nothing more to do
        spent = (LoyaltyAccount.update(balance=LoyaltyAccount.balance - row.points,
                                       held=LoyaltyAccount.held - row.points, updated_at=clock.to_db(now))
                 .where((LoyaltyAccount.user_id == row.user_id) & (LoyaltyAccount.held >= row.points))
                 .execute())
        if spent != 1:
            raise RuntimeError(f"loyalty account {row.user_id}: hold {hold_id} is not covered by held points")
        oldest = take_from_lots(row.user_id, row.points)
        if oldest is not None:
            HoldRow.update(oldest_expires_at=clock.to_db(oldest)).where(HoldRow.id == hold_id).execute()
        balance = LoyaltyAccount.get_by_id(row.user_id).balance
        record(row.user_id, TransactionKind.REDEEM, -row.points, balance, now, row.booking_ref,
               f"{Money(row.value_amount, row.currency).format()} off booking {row.booking_ref}")
        uow.publish(PointsRedeemed(hold_id=hold_id, user_id=row.user_id, booking_ref=row.booking_ref,
                                   points=row.points))
        return hold_view(row)


def release_hold(uow: UnitOfWork, hold_id: str, now: dt.datetime) -> PointsHold:
    with uow.transaction():
        row, moved = settle(hold_id, HoldStatus.RELEASED, now)
        if row is None:
            raise HoldNotFound(f"no points hold {hold_id}")
        if not moved:
            if row.status != HoldStatus.RELEASED:
                raise HoldConflict(f"hold {hold_id} is {row.status}; only a pending hold can be released")
            return hold_view(row)
        unhold(uow, row, now)
        return hold_view(row)


def unhold(uow: UnitOfWork, row: HoldRow, now: dt.datetime) -> None:
    """The account no longer holds a released hold's points."""
    (LoyaltyAccount.update(held=LoyaltyAccount.held - row.points, updated_at=clock.to_db(now))
     .where((LoyaltyAccount.user_id == row.user_id) & (LoyaltyAccount.held >= row.points)).execute())
    uow.publish(PointsHoldReleased(hold_id=row.id, user_id=row.user_id, booking_ref=row.booking_ref,
                                   points=row.points))


def release_pending_holds(uow: UnitOfWork, booking_ref: str, now: dt.datetime) -> int:
    """The booking will not be paid (expired, cancelled while held, payment rejected): let its points go."""
    released = 0
    with uow.transaction():
        for pending in HoldRow.select().where((HoldRow.booking_ref == booking_ref)
                                              & (HoldRow.status == HoldStatus.PENDING)):
            if settle(pending.id, HoldStatus.RELEASED, now)[1]:
                unhold(uow, pending, now)
                released += pending.points
    return released
