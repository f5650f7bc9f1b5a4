"""What loyalty does when flights reports that a booking was confirmed (handlers.py maps the other fates
to ``holds.release_pending_holds`` and ``reversals.reverse_booking``)."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.loyalty import BookingPointsSettled, HoldStatus
from flightbook.kernel.inbox import current_event_age
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Statement
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import metrics, rules as r
from flightbook.modules.loyalty.earning import award, earned_or_reversed, lock_booking
from flightbook.modules.loyalty.holds import LIVE_HOLDS, commit_hold, settle, unhold
from flightbook.modules.loyalty.models import PointsHold as HoldRow


def settle_confirmed_booking(uow: UnitOfWork, booking_ref: str, user_id: int, total: Money, now: dt.datetime,
                             rules: r.LoyaltyRules, paid: Money | None = None) -> int:
    """booking.confirmed: commit the booking's pending points hold, then award points for the part paid
    in cash (total - the committed hold's value). When the card paid the whole total (``paid``; loyalty
    was unreachable when the amount was worked out) the hold was not needed and is released instead.
    Idempotent per booking; nothing once it is reversed (the cancellation overtook the confirmation and
    already let the hold go). Publishes what the booking brought (BookingPointsSettled, for the traveller's
    confirmation e-mail). Returns the points earned."""
    with uow.transaction():
        earned, committed = _settle(uow, booking_ref, user_id, total, now, rules, paid)
        uow.publish(BookingPointsSettled(
            booking_ref=booking_ref, user_id=user_id, earned=earned,
            redeemed=committed.points if committed is not None else 0,
            redeemed_value=Money(committed.value_amount, committed.currency) if committed is not None else None))
        age = current_event_age()
        uow.after_commit(lambda: metrics.settled(age))
        return earned


def _settle(uow: UnitOfWork, booking_ref: str, user_id: int, total: Money, now: dt.datetime, rules: r.LoyaltyRules,
            paid: Money | None) -> tuple[int, HoldRow | None]:
    """(points earned, the committed hold) inside settle_confirmed_booking's transaction."""
    lock_booking(booking_ref)  # a cancellation applied meanwhile waits, or is seen: see lock_booking
    earned, reversed_ = earned_or_reversed(booking_ref)
    if reversed_:
        return 0, None
    card_paid_everything = paid is not None and paid.currency == total.currency and paid.amount >= total.amount
    holds = _live_holds(booking_ref)
    pending = [hold for hold in holds if hold.status == HoldStatus.PENDING]
    for hold in pending:
        if card_paid_everything:
            if settle(hold.id, HoldStatus.RELEASED, now)[1]:
                unhold(uow, hold, now)
        else:
            commit_hold(uow, hold.id, now)
    if pending:  # read again: what the holds are now
        holds = _live_holds(booking_ref)
    committed = next((hold for hold in holds if hold.status == HoldStatus.COMMITTED), None)
    in_points = committed.value_amount if committed is not None and committed.currency == total.currency else 0
    cash = total.amount - in_points
    if cash <= 0:
        return 0, committed
    if earned is not None:
        return earned, committed
    return award(uow, user_id, booking_ref, Money(cash, total.currency), now, rules), committed


_ANY_LIVE_HOLD = Statement("loyalty_any_live_hold", lambda d: """SELECT 1 FROM points_hold
    WHERE booking_ref = {booking_ref} AND status IN ({pending}, {committed}) LIMIT 1""")


def _live_holds(booking_ref: str) -> list[HoldRow]:
    """The booking's pending and committed holds; most bookings (paid by card alone) have none, which one
    prepared statement says without building model instances."""
    live = {"booking_ref": booking_ref, "pending": HoldStatus.PENDING, "committed": HoldStatus.COMMITTED}
    if not _ANY_LIVE_HOLD.rows(HoldRow._meta.database, **live):
        return []
    return LIVE_HOLDS.all(**live)
