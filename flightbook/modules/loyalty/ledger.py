"""Points use cases: accounts, earning, holds against bookings, reversals, history.

Concurrency: the account row is the lock. Every change takes it first with a conditional UPDATE
(``held = held + n WHERE balance - held >= n``), then touches lots; holds are taken before the
account. That one order (hold -> account -> lots) is shared with ``expire_lots``, so nothing deadlocks
and no two writers can both spend the same points.
"""
from __future__ import annotations

import datetime as dt
import uuid

import peewee as pw

from flightbook.contracts.loyalty import (AccountView, BookingPointsReversed, HistoryPage, HoldConflict,
                                          HoldNotFound, HoldStatus, InsufficientPoints, PointsEarned, PointsHeld,
                                          PointsHold, PointsHoldReleased, PointsRedeemed, PointsTransaction,
                                          ReversalResult, Tier, TierChanged, TransactionKind)
from flightbook.kernel import clock
from flightbook.kernel.db import write_transaction
from flightbook.kernel.money import Money
from flightbook.kernel.outbox import Outbox
from flightbook.modules.loyalty import rules as r
from flightbook.modules.loyalty.models import LoyaltyAccount, LoyaltyTier, PointsLot, database
from flightbook.modules.loyalty.models import PointsHold as HoldRow
from flightbook.modules.loyalty.models import PointsTransaction as TransactionRow

outbox = Outbox(database, "loyalty")
LIVE = (HoldStatus.PENDING, HoldStatus.COMMITTED)


# --- reading ------------------------------------------------------------------------------

def tier_rules() -> list[r.TierRule]:
    return [r.TierRule(t.name, t.threshold, t.multiplier_permille)
            for t in LoyaltyTier.select().order_by(LoyaltyTier.threshold)]


def list_tiers() -> list[Tier]:
    return [Tier(t.name, t.threshold, t.multiplier_permille, t.multiplier_permille / 1000) for t in tier_rules()]


def qualifying_points(user_id: int, now: dt.datetime, rules: r.LoyaltyRules) -> int:
    since = clock.to_db(r.qualifying_since(now, rules))
    total = (PointsLot.select(pw.fn.COALESCE(pw.fn.SUM(PointsLot.points), 0))
             .where((PointsLot.account == user_id) & (PointsLot.source == "EARN")
                    & PointsLot.reversed_at.is_null() & (PointsLot.earned_at > since)).scalar())
    return int(total or 0)


def points_expiring_by(user_id: int, moment: dt.datetime) -> int:
    total = (PointsLot.select(pw.fn.COALESCE(pw.fn.SUM(PointsLot.remaining), 0))
             .where((PointsLot.account == user_id) & (PointsLot.remaining > 0)
                    & (PointsLot.expires_at <= clock.to_db(moment))).scalar())
    return int(total or 0)


def open_account(user_id: int, now: dt.datetime) -> None:
    """An account exists from a user's first call: create it if missing (a no-op otherwise)."""
    stamp = clock.to_db(now)
    (LoyaltyAccount.insert(user_id=user_id, balance=0, held=0, tier=tier_rules()[0].name,
                           created_at=stamp, updated_at=stamp)
     .on_conflict_ignore().execute())


def account_view(user_id: int, now: dt.datetime, rules: r.LoyaltyRules) -> AccountView:
    with write_transaction(database):
        open_account(user_id, now)
    account = LoyaltyAccount.get_by_id(user_id)
    tiers = tier_rules()
    current = next((t for t in tiers if t.name == account.tier), tiers[0])
    higher = r.next_tier(current, tiers)
    qualifying = qualifying_points(user_id, now, rules)
    return AccountView(
        user_id=user_id, balance=account.balance, available=account.balance - account.held, tier=current.name,
        qualifying_points=qualifying, next_tier=higher.name if higher else None,
        points_to_next_tier=max(0, higher.threshold - qualifying) if higher else 0,
        expiring_soon=points_expiring_by(user_id, now + dt.timedelta(days=rules.expiring_soon_days)))


def history(user_id: int, page: int, per_page: int) -> HistoryPage:
    query = TransactionRow.select().where(TransactionRow.account == user_id)
    rows = query.order_by(TransactionRow.id.desc()).paginate(page, per_page)
    return HistoryPage(user_id=user_id, transactions=[_transaction_view(t) for t in rows],
                       page=page, per_page=per_page, total=query.count())


def _transaction_view(row) -> PointsTransaction:
    return PointsTransaction(id=row.id, kind=row.kind, points=row.points, balance_after=row.balance_after,
                             booking_ref=row.booking_ref, created_at=clock.from_db(row.created_at), note=row.note)


def hold_view(row) -> PointsHold:
    return PointsHold(hold_id=row.id, user_id=row.user_id, booking_ref=row.booking_ref, points=row.points,
                      value=Money(row.value_amount, row.currency), status=row.status,
                      created_at=clock.from_db(row.created_at))


def active_hold_for_booking(booking_ref: str) -> PointsHold | None:
    row = HoldRow.get_or_none((HoldRow.booking_ref == booking_ref) & HoldRow.status.in_(LIVE))
    return hold_view(row) if row else None


# --- the account counters: conditional UPDATEs, never read-modify-write -------------------

def _move_balance(user_id: int, points: int, now: dt.datetime) -> int:
    """balance += points (points may be negative, never below what is held); the new balance."""
    changed = (LoyaltyAccount.update(balance=LoyaltyAccount.balance + points, updated_at=clock.to_db(now))
               .where((LoyaltyAccount.user_id == user_id)
                      & (LoyaltyAccount.balance - LoyaltyAccount.held + points >= 0)).execute())
    if changed != 1:
        raise InsufficientPoints("not enough points", **_balances(user_id))
    return LoyaltyAccount.get_by_id(user_id).balance


def _balances(user_id: int) -> dict:
    account = LoyaltyAccount.get_or_none(LoyaltyAccount.user_id == user_id)
    if account is None:
        return {"balance": 0, "available": 0}
    return {"balance": account.balance, "available": account.balance - account.held}


def _record(user_id: int, kind: str, points: int, balance_after: int, now: dt.datetime,
            booking_ref: str | None = None, note: str = "") -> None:
    TransactionRow.create(account=user_id, kind=kind, points=points, balance_after=balance_after,
                          booking_ref=booking_ref, note=note[:200], created_at=clock.to_db(now))


def recompute_tier(user_id: int, now: dt.datetime, rules: r.LoyaltyRules) -> str:
    account = LoyaltyAccount.get_by_id(user_id)
    new = r.tier_for(qualifying_points(user_id, now, rules), tier_rules()).name
    if new != account.tier:
        LoyaltyAccount.update(tier=new).where(LoyaltyAccount.user_id == user_id).execute()
        outbox.publish(TierChanged(user_id=user_id, old_tier=account.tier, new_tier=new))
    return new


# --- lots -------------------------------------------------------------------------------

def add_lot(user_id: int, source: str, points: int, now: dt.datetime, expires_at: dt.datetime,
            booking_ref: str | None) -> None:
    PointsLot.create(account=user_id, source=source, booking_ref=booking_ref, points=points, remaining=points,
                     earned_at=clock.to_db(now), expires_at=clock.to_db(expires_at))


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


# --- earning ------------------------------------------------------------------------------

def earn(user_id: int, booking_ref: str, amount: Money, now: dt.datetime, rules: r.LoyaltyRules) -> int:
    try:
        with write_transaction(database):
            return _earn(user_id, booking_ref, amount, now, rules)
    except pw.IntegrityError:  # a concurrent earn for the same booking got there first
        return _earned_for(booking_ref) or 0


def _earned_for(booking_ref: str) -> int | None:
    row = TransactionRow.get_or_none((TransactionRow.kind == TransactionKind.EARN)
                                     & (TransactionRow.booking_ref == booking_ref))
    return row.points if row else None


def _earn(user_id, booking_ref, amount, now, rules) -> int:
    earned = _earned_for(booking_ref)
    if earned is not None:
        return earned
    if _reversal_of(booking_ref) is not None:
        return 0  # the booking was cancelled before its points arrived
    open_account(user_id, now)
    tiers = tier_rules()
    tier = next((t for t in tiers if t.name == LoyaltyAccount.get_by_id(user_id).tier), tiers[0])
    points = r.points_earned(amount, tier.multiplier_permille, rules.points_per_unit)
    if points:
        add_lot(user_id, "EARN", points, now, r.expiry_of_lot(now, rules), booking_ref)
    balance = _move_balance(user_id, points, now)
    _record(user_id, TransactionKind.EARN, points, balance, now, booking_ref,
            f"{amount.format()} paid, {tier.name} x{tier.multiplier_permille / 1000:g}")
    outbox.publish(PointsEarned(user_id=user_id, booking_ref=booking_ref, points=points))
    recompute_tier(user_id, now, rules)
    return points


# --- holds --------------------------------------------------------------------------------

def hold_points(user_id: int, points: int, booking_ref: str, currency: str, now: dt.datetime) -> PointsHold:
    value = r.points_value(points, currency)
    try:
        with write_transaction(database):
            return _hold_points(user_id, points, booking_ref, value, now)
    except pw.IntegrityError:  # a concurrent hold on the same booking won
        raise HoldConflict(f"booking {booking_ref} already has a points hold") from None


def _hold_points(user_id, points, booking_ref, value: Money, now) -> PointsHold:
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
        balances = _balances(user_id)
        raise InsufficientPoints(f"{points} points requested, {balances['available']} available",
                                 requested=points, **balances)
    row = HoldRow.create(id=f"ph_{uuid.uuid4().hex}", account=user_id, booking_ref=booking_ref, points=points,
                         value_amount=value.amount, currency=value.currency, status=HoldStatus.PENDING,
                         created_at=clock.to_db(now))
    outbox.publish(PointsHeld(hold_id=row.id, user_id=user_id, booking_ref=booking_ref, points=points,
                              value=value))
    return hold_view(row)


def _settle(hold_id: str, to_status: str, now: dt.datetime):
    """Move a PENDING hold to ``to_status``; None when it had already left PENDING (it is re-read)."""
    moved = (HoldRow.update(status=to_status, settled_at=clock.to_db(now))
             .where((HoldRow.id == hold_id) & (HoldRow.status == HoldStatus.PENDING)).execute())
    return HoldRow.get_or_none(HoldRow.id == hold_id), moved == 1


def commit_hold(hold_id: str, now: dt.datetime) -> PointsHold:
    with write_transaction(database):
        row, moved = _settle(hold_id, HoldStatus.COMMITTED, now)
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
        HoldRow.update(oldest_expires_at=clock.to_db(oldest)).where(HoldRow.id == hold_id).execute()
        balance = LoyaltyAccount.get_by_id(row.user_id).balance
        _record(row.user_id, TransactionKind.REDEEM, -row.points, balance, now, row.booking_ref,
                f"{Money(row.value_amount, row.currency).format()} off booking {row.booking_ref}")
        outbox.publish(PointsRedeemed(hold_id=hold_id, user_id=row.user_id, booking_ref=row.booking_ref,
                                      points=row.points))
        return hold_view(row)


def release_hold(hold_id: str, now: dt.datetime) -> PointsHold:
    with write_transaction(database):
        row, moved = _settle(hold_id, HoldStatus.RELEASED, now)
        if row is None:
            raise HoldNotFound(f"no points hold {hold_id}")
        if not moved:
            if row.status != HoldStatus.RELEASED:
                raise HoldConflict(f"hold {hold_id} is {row.status}; only a pending hold can be released")
            return hold_view(row)
        _unhold(row, now)
        return hold_view(row)


def _unhold(row, now) -> None:
    (LoyaltyAccount.update(held=LoyaltyAccount.held - row.points, updated_at=clock.to_db(now))
     .where((LoyaltyAccount.user_id == row.user_id) & (LoyaltyAccount.held >= row.points)).execute())
    outbox.publish(PointsHoldReleased(hold_id=row.id, user_id=row.user_id, booking_ref=row.booking_ref,
                                      points=row.points))


# --- reversal of a cancelled booking ----------------------------------------------------------

def _reversal_of(booking_ref: str):
    return TransactionRow.get_or_none((TransactionRow.kind == TransactionKind.REVERSAL)
                                      & (TransactionRow.booking_ref == booking_ref))


def reverse_booking(booking_ref: str, now: dt.datetime, rules: r.LoyaltyRules, refund_percent: int = 100,
                    user_id: int | None = None) -> ReversalResult:
    """A cancelled booking: every point earned on it is taken back (the trip will not be flown) and
    ``refund_percent`` of the points redeemed on it are returned (the fare rule's share, like the cash).
    ``user_id`` (the booking's owner, when known) records the reversal even before anything was earned,
    so a booking.confirmed arriving after the cancellation earns nothing."""
    with write_transaction(database):
        done = _reversal_of(booking_ref)
        if done is not None:
            returned = _returned_for(booking_ref)
            return ReversalResult(booking_ref, done.user_id, returned - done.points, returned)
        user_id = _owner_of(booking_ref) or user_id
        if user_id is None:
            return ReversalResult(booking_ref, None, 0, 0)
        open_account(user_id, now)
        release_pending_holds(booking_ref, now)
        returned = _return_redeemed(booking_ref, now, rules, refund_percent)
        taken_back = _take_back_earned(booking_ref, user_id, now)
        balance = LoyaltyAccount.get_by_id(user_id).balance
        _record(user_id, TransactionKind.REVERSAL, returned - taken_back, balance, now, booking_ref,
                f"booking {booking_ref} cancelled: {taken_back} earned taken back, {returned} redeemed returned")
        outbox.publish(BookingPointsReversed(booking_ref=booking_ref, user_id=user_id,
                                             points_taken_back=taken_back, points_returned=returned))
        recompute_tier(user_id, now, rules)
        return ReversalResult(booking_ref, user_id, taken_back, returned)


def _owner_of(booking_ref: str) -> int | None:
    lot = PointsLot.get_or_none((PointsLot.booking_ref == booking_ref) & (PointsLot.source == "EARN"))
    if lot is not None:
        return lot.user_id
    earned = TransactionRow.get_or_none(TransactionRow.booking_ref == booking_ref)
    hold = HoldRow.get_or_none(HoldRow.booking_ref == booking_ref)
    return earned.user_id if earned else (hold.user_id if hold else None)


def _returned_for(booking_ref: str) -> int:
    return sum(lot.points for lot in PointsLot.select().where((PointsLot.booking_ref == booking_ref)
                                                               & (PointsLot.source == "RETURN")))


def _return_redeemed(booking_ref: str, now, rules, refund_percent: int = 100) -> int:
    """Committed points (``refund_percent`` of them, rounded down) come back as a new lot that keeps the
    expiry of the oldest lot they left."""
    returned = 0
    for hold in HoldRow.select().where((HoldRow.booking_ref == booking_ref)
                                       & (HoldRow.status == HoldStatus.COMMITTED)):
        HoldRow.update(status=HoldStatus.REVERSED, settled_at=clock.to_db(now)).where(
            (HoldRow.id == hold.id) & (HoldRow.status == HoldStatus.COMMITTED)).execute()
        points = hold.points * refund_percent // 100
        if points <= 0:
            continue
        _move_balance(hold.user_id, points, now)
        expires_at = clock.from_db(hold.oldest_expires_at) or r.expiry_of_lot(now, rules)
        add_lot(hold.user_id, "RETURN", points, now, expires_at, booking_ref)
        returned += points
    return returned


def _take_back_earned(booking_ref: str, user_id: int, now) -> int:
    """The booking's earned points leave the account: first what is left of its own lot, then from the
    oldest lots; never points under a pending hold (what is already spent or held is let go)."""
    lot = PointsLot.get_or_none((PointsLot.booking_ref == booking_ref) & (PointsLot.source == "EARN")
                                & PointsLot.reversed_at.is_null())
    if lot is None:
        return 0
    PointsLot.update(reversed_at=clock.to_db(now)).where(PointsLot.id == lot.id).execute()
    account = LoyaltyAccount.get_by_id(user_id)
    taking = min(lot.points, account.balance - account.held)
    if taking > 0:
        _move_balance(user_id, -taking, now)
        take_from_lots(user_id, taking, first_lot=lot.id)
    return max(taking, 0)


# --- the booking saga: what loyalty does when flights reports a booking's fate ------------------

def release_pending_holds(booking_ref: str, now: dt.datetime) -> int:
    """The booking will not be paid (expired, cancelled while held, payment rejected): let its points go."""
    released = 0
    with write_transaction(database):
        for pending in HoldRow.select().where((HoldRow.booking_ref == booking_ref)
                                              & (HoldRow.status == HoldStatus.PENDING)):
            if _settle(pending.id, HoldStatus.RELEASED, now)[1]:
                _unhold(pending, now)
                released += pending.points
    return released


def settle_confirmed_booking(booking_ref: str, user_id: int, total: Money, now: dt.datetime,
                             rules: r.LoyaltyRules, paid: Money | None = None) -> int:
    """booking.confirmed: commit the booking's pending points hold, then award points for the part paid
    in cash (total - the committed hold's value). When the card paid the whole total (``paid``; loyalty
    was unreachable when the amount was worked out) the hold was not needed and is released instead.
    Idempotent per booking; nothing once it is reversed (the cancellation overtook the confirmation and
    already let the hold go). Returns the points earned."""
    with write_transaction(database):
        if _reversal_of(booking_ref) is not None:
            return 0
        card_paid_everything = paid is not None and paid.currency == total.currency and paid.amount >= total.amount
        for pending in HoldRow.select().where((HoldRow.booking_ref == booking_ref)
                                              & (HoldRow.status == HoldStatus.PENDING)):
            if card_paid_everything:
                if _settle(pending.id, HoldStatus.RELEASED, now)[1]:
                    _unhold(pending, now)
            else:
                commit_hold(pending.id, now)
        committed = HoldRow.get_or_none((HoldRow.booking_ref == booking_ref)
                                        & (HoldRow.status == HoldStatus.COMMITTED))
        in_points = committed.value_amount if committed is not None and committed.currency == total.currency else 0
        cash = total.amount - in_points
        if cash <= 0:
            return 0
        return _earn(user_id, booking_ref, Money(cash, total.currency), now, rules)
