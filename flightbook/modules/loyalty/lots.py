"""Points lots: points earned (or returned) together expire together, and are spent oldest first."""
from __future__ import annotations

import datetime as dt

from flightbook.kernel import clock
from flightbook.kernel.sql import insert
from flightbook.modules.loyalty.models import LotSource, PointsLot

_ADD_LOT = insert("loyalty_add_lot", PointsLot,
                  ("user_id", "source", "booking_ref", "points", "remaining", "earned_at", "expires_at"))


def add_lot(user_id: int, source: LotSource, points: int, now: dt.datetime, expires_at: dt.datetime,
            booking_ref: str | None) -> None:
    _ADD_LOT.run(PointsLot._meta.database, user_id=user_id, source=source, booking_ref=booking_ref, points=points,
                 remaining=points, earned_at=clock.to_db(now), expires_at=clock.to_db(expires_at))


def take_from_lots(user_id: int, points: int, first_lot: int | None = None) -> dt.datetime | None:
    """Take ``points`` from the account's lots, oldest expiry first (``first_lot`` before all others);
    the caller has already moved the account's balance. Returns the expiry of the oldest lot touched."""
    lots = list(PointsLot.select().where((PointsLot.account == user_id) & (PointsLot.remaining > 0))
                .order_by((PointsLot.id != first_lot) if first_lot else PointsLot.expires_at,
                          PointsLot.expires_at, PointsLot.id))
    left, oldest = points, None
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        (PointsLot.update(remaining=PointsLot.remaining - take)
         .where((PointsLot.id == lot.id) & (PointsLot.remaining >= take)).execute())
        oldest = oldest or clock.from_db(lot.expires_at)
        left -= take
    if left:  # balance and lots disagree: refuse rather than write a half-truth
        raise RuntimeError(f"loyalty account {user_id}: lots hold {points - left} of {points} points")
    return oldest
