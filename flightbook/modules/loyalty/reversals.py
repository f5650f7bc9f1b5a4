"""A cancelled booking: the points earned on it leave the account, and the fare rule's share of the points
redeemed on it comes back. Also what a cancellation would return, and what a booking brought."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.loyalty import (BookingPoints, BookingPointsReversed, HoldStatus, PointsReturnQuote,
                                          ReversalResult, TransactionKind)
from flightbook.kernel import clock
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.accounts import move_balance, open_account, recompute_tier, record
from flightbook.modules.loyalty.earning import lock_booking, reversal_of
from flightbook.modules.loyalty.holds import release_pending_holds
from flightbook.modules.loyalty.lots import add_lot, take_from_lots
from flightbook.modules.loyalty.models import LotSource, LoyaltyAccount, PointsLot
from flightbook.modules.loyalty.models import PointsHold as HoldRow
from flightbook.modules.loyalty.models import PointsTransaction as TransactionRow


def reverse_booking(uow: UnitOfWork, booking_ref: str, now: dt.datetime, rules: r.LoyaltyRules,
                    refund_percent: int = 100, user_id: int | None = None) -> ReversalResult:
    """Every point earned on the booking is taken back (the trip will not be flown) and ``refund_percent``
    of the points redeemed on it are returned (the fare rule's share, like the cash). ``user_id`` (the
    booking's owner, when known) records the reversal even before anything was earned, so a
    booking.confirmed arriving after the cancellation earns nothing."""
    with uow.transaction():
        lock_booking(booking_ref)  # a settlement or earn applied meanwhile waits, or is seen: see lock_booking
        done = reversal_of(booking_ref)
        if done is not None:
            returned = _returned_for(booking_ref)
            return ReversalResult(booking_ref, done.user_id, returned - done.points, returned)
        user_id = _owner_of(booking_ref) or user_id
        if user_id is None:
            return ReversalResult(booking_ref, None, 0, 0)
        open_account(user_id, now)
        release_pending_holds(uow, booking_ref, now)
        returned = _return_redeemed(booking_ref, now, rules, refund_percent)
        taken_back = _take_back_earned(booking_ref, user_id, now)
        balance = LoyaltyAccount.get_by_id(user_id).balance
        record(user_id, TransactionKind.REVERSAL, returned - taken_back, balance, now, booking_ref,
               f"booking {booking_ref} cancelled: {taken_back} earned taken back, {returned} redeemed returned")
        uow.publish(BookingPointsReversed(booking_ref=booking_ref, user_id=user_id,
                                          points_taken_back=taken_back, points_returned=returned))
        recompute_tier(uow, user_id, now, rules)
        return ReversalResult(booking_ref, user_id, taken_back, returned)


def _owner_of(booking_ref: str) -> int | None:
    lot = PointsLot.get_or_none((PointsLot.booking_ref == booking_ref) & (PointsLot.source == LotSource.EARN))
    if lot is not None:
        return lot.user_id
    earned = TransactionRow.get_or_none(TransactionRow.booking_ref == booking_ref)
    hold = HoldRow.get_or_none(HoldRow.booking_ref == booking_ref)
    return earned.user_id if earned else (hold.user_id if hold else None)


def _returned_for(booking_ref: str) -> int:
    return sum(lot.points for lot in PointsLot.select().where((PointsLot.booking_ref == booking_ref)
                                                               & (PointsLot.source == LotSource.RETURN)))


def _return_redeemed(booking_ref: str, now: dt.datetime, rules: r.LoyaltyRules, refund_percent: int) -> int:
    """Committed points (``refund_percent`` of them, rounded down) come back as a new lot that keeps the
    expiry of the oldest lot they left."""
    returned = 0
    for hold in HoldRow.select().where((HoldRow.booking_ref == booking_ref)
                                       & (HoldRow.status == HoldStatus.COMMITTED)):
        HoldRow.update(status=HoldStatus.REVERSED, settled_at=clock.to_db(now)).where(
            (HoldRow.id == hold.id) & (HoldRow.status == HoldStatus.COMMITTED)).execute()
        points = r.points_returned(hold.points, refund_percent)
        if points <= 0:
            continue
        move_balance(hold.user_id, points, now)
        expires_at = clock.from_db(hold.oldest_expires_at) or r.expiry_of_lot(now, rules)
        add_lot(hold.user_id, LotSource.RETURN, points, now, expires_at, booking_ref)
        returned += points
    return returned


def _take_back_earned(booking_ref: str, user_id: int, now: dt.datetime) -> int:
    """The booking's earned points leave the account: first what is left of its own lot, then from the
    oldest lots; never points under a pending hold (what is already spent or held is let go)."""
    lot = PointsLot.get_or_none((PointsLot.booking_ref == booking_ref) & (PointsLot.source == LotSource.EARN)
                                & PointsLot.reversed_at.is_null())
    if lot is None:
        return 0
    PointsLot.update(reversed_at=clock.to_db(now)).where(PointsLot.id == lot.id).execute()
    account = LoyaltyAccount.get_by_id(user_id)
    taking = min(lot.points, account.balance - account.held)
    if taking > 0:
        move_balance(user_id, -taking, now)
        take_from_lots(user_id, taking, first_lot=lot.id)
    return max(taking, 0)


def quote_points_return(user_id: int, booking_ref: str, refund_percent: int) -> PointsReturnQuote:
    """What ``reverse_booking`` at ``refund_percent`` returns of the points the user redeemed on the booking
    (for a booking already reversed: what its reversal returned, by the same rule)."""
    redeemed = sum(h.points for h in HoldRow.select().where(
        (HoldRow.booking_ref == booking_ref) & (HoldRow.account == user_id)
        & HoldRow.status.in_((HoldStatus.COMMITTED, HoldStatus.REVERSED))))
    return PointsReturnQuote(booking_ref=booking_ref, refund_percent=refund_percent, redeemed=redeemed,
                             returned=r.points_returned(redeemed, refund_percent))


def booking_points(user_id: int, booking_ref: str) -> BookingPoints:
    """Points the user earned on the booking and redeemed for it, and what its cancellation took back and
    returned, as the history records them."""
    rows = TransactionRow.select(TransactionRow.kind, TransactionRow.points).where(
        (TransactionRow.account == user_id) & (TransactionRow.booking_ref == booking_ref)
        & TransactionRow.kind.in_((TransactionKind.EARN, TransactionKind.REDEEM)))
    done = reversal_of(booking_ref)
    returned = _returned_for(booking_ref) if done is not None and done.user_id == user_id else 0
    return BookingPoints(booking_ref=booking_ref,
                         earned=sum(t.points for t in rows if t.kind == TransactionKind.EARN),
                         redeemed=-sum(t.points for t in rows if t.kind == TransactionKind.REDEEM),
                         taken_back=returned - done.points if done is not None and done.user_id == user_id else 0,
                         returned=returned)
