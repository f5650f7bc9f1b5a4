"""Earning, tiers, FIFO redemption, holds and reversals through the service, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from flightbook.contracts.loyalty import HoldConflict, HoldNotFound, InsufficientPoints
from flightbook.kernel.errors import Forbidden, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.loyalty.models import PointsLot
from flightbook.modules.loyalty.rules import add_months
from tests.loyalty.conftest import assert_books_balance, lots_of, traveller_principal, usd

ADA = 7


def test_earning_gives_ten_points_per_whole_unit_in_a_lot_expiring_in_24_months(loyalty, clock):
    assert loyalty.earn(ADA, "abc123", Money(12399, "USD")) == 1230
    assert loyalty.earn(ADA, "JPY001", Money(5000, "JPY")) == 50000
    lot = PointsLot.get(PointsLot.booking_ref == "ABC123")
    assert lot.points == lot.remaining == 1230
    assert lot.expires_at == add_months(clock(), 24).replace(tzinfo=None)
    account = loyalty.get_account(traveller_principal(ADA), ADA)
    assert account.balance == account.available == 51230
    assert account.expiring_soon == 0


def test_earn_is_idempotent_per_booking_ref(loyalty):
    first = loyalty.earn(ADA, "REF001", usd(500))
    assert loyalty.earn(ADA, "ref001", usd(900)) == first == 5000
    assert loyalty.get_account(traveller_principal(ADA), ADA).balance == 5000
    assert [t.kind for t in loyalty.history(traveller_principal(ADA), ADA).transactions] == ["EARN"]


def test_tier_rises_with_qualifying_points_and_raises_the_multiplier(loyalty, clock):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "B00001", usd(2499))
    assert loyalty.get_account(me, ADA).tier == "Blue"
    assert loyalty.get_account(me, ADA).points_to_next_tier == 25000 - 24990
    loyalty.earn(ADA, "B00002", usd(1))  # 24,990 + 10 = 25,000: Silver
    account = loyalty.get_account(me, ADA)
    assert (account.tier, account.next_tier, account.points_to_next_tier) == ("Silver", "Gold", 25000)
    assert loyalty.earn(ADA, "B00003", usd(100)) == 1250  # x1.25 now
    loyalty.earn(ADA, "B00004", usd(3000))  # 37,500 more -> 63,750: Gold
    assert loyalty.get_account(me, ADA).tier == "Gold"


def test_reversal_takes_earned_points_back_and_the_tier_with_them(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "SMALL1", usd(100))
    loyalty.earn(ADA, "BIG001", usd(2500))
    assert loyalty.get_account(me, ADA).tier == "Silver"
    result = loyalty.reverse_booking("BIG001")
    assert (result.user_id, result.points_taken_back, result.points_returned) == (ADA, 25000, 0)
    account = loyalty.get_account(me, ADA)
    assert (account.tier, account.balance, account.qualifying_points) == ("Blue", 1000, 1000)
    assert loyalty.reverse_booking("BIG001") == result  # idempotent
    assert loyalty.earn(ADA, "BIG001", usd(2500)) == 25000  # the earlier earn, not a new one
    assert loyalty.get_account(me, ADA).balance == 1000
    assert_books_balance(ADA)


def test_redemption_takes_points_from_the_oldest_lots_first(loyalty, clock):
    loyalty.earn(ADA, "LOT001", usd(100))  # 1000
    clock.advance(days=30)
    loyalty.earn(ADA, "LOT002", usd(100))  # 1000
    clock.advance(days=30)
    loyalty.earn(ADA, "LOT003", usd(100))  # 1000
    hold = loyalty.hold_points(traveller_principal(ADA), ADA, 1500, "SPEND1")
    assert lots_of(ADA) == [(1000, 1000)] * 3  # a hold reserves, it does not spend
    assert (hold.points, hold.value, hold.status) == (1500, Money(1500, "USD"), "PENDING")
    loyalty.commit_hold(hold.hold_id)
    assert lots_of(ADA) == [(1000, 0), (1000, 500), (1000, 1000)]
    account = loyalty.get_account(traveller_principal(ADA), ADA)
    assert (account.balance, account.available) == (1500, 1500)
    assert_books_balance(ADA)


def test_held_points_cannot_be_spent_twice(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(100))
    loyalty.hold_points(me, ADA, 700, "BOOK01")
    with pytest.raises(InsufficientPoints) as refused:
        loyalty.hold_points(me, ADA, 400, "BOOK02")
    assert refused.value.details["balance"] == 1000 and refused.value.details["available"] == 300
    assert loyalty.hold_points(me, ADA, 300, "BOOK02").points == 300
    assert loyalty.get_account(me, ADA).available == 0


def test_commit_and_release_are_idempotent_and_exclusive(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(100))
    kept = loyalty.hold_points(me, ADA, 400, "BOOK01")
    dropped = loyalty.hold_points(me, ADA, 100, "BOOK02")
    assert loyalty.commit_hold(kept.hold_id).status == loyalty.commit_hold(kept.hold_id).status == "COMMITTED"
    assert loyalty.release_hold(dropped.hold_id).status == loyalty.release_hold(dropped.hold_id).status == "RELEASED"
    with pytest.raises(HoldConflict):
        loyalty.release_hold(kept.hold_id)
    with pytest.raises(HoldConflict):
        loyalty.commit_hold(dropped.hold_id)
    with pytest.raises(HoldNotFound):
        loyalty.commit_hold("ph_nope")
    account = loyalty.get_account(me, ADA)
    assert (account.balance, account.available) == (600, 600)
    assert [t.kind for t in loyalty.history(me, ADA).transactions] == ["REDEEM", "EARN"]
    assert_books_balance(ADA)


def test_a_repeated_redeem_for_a_booking_returns_the_same_hold(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(100))
    first = loyalty.hold_points(me, ADA, 400, "BOOK01")
    assert loyalty.hold_points(me, ADA, 400, "book01") == first
    with pytest.raises(HoldConflict):
        loyalty.hold_points(me, ADA, 500, "BOOK01")
    assert loyalty.active_hold_for_booking("BOOK01") == first
    assert loyalty.get_account(me, ADA).available == 600


def test_reversal_returns_committed_points_keeping_their_expiry_and_releases_pending_ones(loyalty, clock):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(100))
    oldest_expiry = PointsLot.get().expires_at
    clock.advance(days=10)
    committed = loyalty.hold_points(me, ADA, 600, "TRIP01")
    loyalty.commit_hold(committed.hold_id)
    loyalty.earn(ADA, "TRIP01", usd(20))  # 200 for the cash part of the same trip
    result = loyalty.reverse_booking("TRIP01")
    assert (result.points_taken_back, result.points_returned) == (200, 600)
    returned = PointsLot.get(PointsLot.source == "RETURN")
    assert (returned.remaining, returned.expires_at) == (600, oldest_expiry)
    assert loyalty.active_hold_for_booking("TRIP01") is None
    pending = loyalty.hold_points(me, ADA, 100, "TRIP02")
    assert loyalty.reverse_booking("TRIP02").points_returned == 0
    assert loyalty.release_hold(pending.hold_id).status == "RELEASED"
    account = loyalty.get_account(me, ADA)
    assert (account.balance, account.available) == (1000, 1000)
    kinds = [(t.kind, t.points, t.balance_after) for t in loyalty.history(me, ADA).transactions]
    assert kinds == [("REVERSAL", 0, 1000), ("REVERSAL", 400, 1000), ("EARN", 200, 600),
                     ("REDEEM", -600, 400), ("EARN", 1000, 1000)]
    assert_books_balance(ADA)


def test_earned_points_already_spent_are_taken_from_other_lots_but_never_held_ones(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "OLD001", usd(100))  # 1000
    loyalty.earn(ADA, "NEW001", usd(50))  # 500
    spend = loyalty.hold_points(me, ADA, 1200, "SPEND1")
    loyalty.commit_hold(spend.hold_id)  # takes OLD001's 1000 and 200 of NEW001
    loyalty.hold_points(me, ADA, 100, "SPEND2")
    result = loyalty.reverse_booking("OLD001")
    assert result.points_taken_back == 200  # 300 left, 100 of them held
    account = loyalty.get_account(me, ADA)
    assert (account.balance, account.available) == (100, 0)
    assert_books_balance(ADA)


def test_reversal_of_an_unknown_booking_changes_nothing(loyalty):
    result = loyalty.reverse_booking("NOBODY")
    assert (result.user_id, result.points_taken_back, result.points_returned) == (None, 0, 0)


def test_points_are_worth_a_hundredth_of_the_currency(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(1000))
    assert loyalty.hold_points(me, ADA, 1234, "EUR001", "EUR").value == Money(1234, "EUR")
    assert loyalty.hold_points(me, ADA, 500, "JPY001", "JPY").value == Money(5, "JPY")
    with pytest.raises(ValidationError):
        loyalty.hold_points(me, ADA, 150, "JPY002", "JPY")


def test_only_the_traveller_may_redeem_and_see_their_own_points(loyalty):
    loyalty.earn(ADA, "EARN01", usd(100))
    with pytest.raises(Forbidden):
        loyalty.hold_points(traveller_principal(ADA + 1), ADA, 10, "BOOK01")
    with pytest.raises(Forbidden):
        loyalty.get_account(traveller_principal(ADA + 1), ADA)
    with pytest.raises(Forbidden):
        loyalty.history(traveller_principal(ADA + 1), ADA)


def test_history_is_newest_first_and_paginated(loyalty, clock):
    for n in range(5):
        clock.advance(minutes=1)
        loyalty.earn(ADA, f"REF00{n}", usd(n + 1))
    page = loyalty.history(traveller_principal(ADA), ADA, page=1, per_page=2)
    assert page.total == 5
    assert [t.booking_ref for t in page.transactions] == ["REF004", "REF003"]
    assert [t.balance_after for t in page.transactions] == [150, 100]
    last = loyalty.history(traveller_principal(ADA), ADA, page=3, per_page=2)
    assert [t.booking_ref for t in last.transactions] == ["REF000"]


def test_confirmed_booking_spends_the_hold_when_points_paid_part_of_it(loyalty):
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(100))  # 1,000 points
    loyalty.hold_points(me, ADA, 400, "BOOK01")  # worth $4.00
    assert loyalty.booking_confirmed("BOOK01", ADA, usd(50), paid=usd(46)) == 460
    account = loyalty.get_account(me, ADA)
    assert (account.balance, account.available) == (1000 - 400 + 460, 1060)


def test_confirmed_booking_releases_the_hold_when_the_card_paid_everything(loyalty):
    """Loyalty was down when payments worked out the amount, so the card paid the whole total:
    the points were not needed and must not be spent as well."""
    me = traveller_principal(ADA)
    loyalty.earn(ADA, "EARN01", usd(100))
    loyalty.hold_points(me, ADA, 400, "BOOK01")
    assert loyalty.booking_confirmed("BOOK01", ADA, usd(50), paid=usd(50)) == 500
    account = loyalty.get_account(me, ADA)
    assert (account.balance, account.available) == (1500, 1500)
    assert "REDEEM" not in [t.kind for t in loyalty.history(me, ADA).transactions]
    assert_books_balance(ADA)


def test_service_only_calls_refuse_a_traveller_in_process_as_over_http(loyalty):
    me = traveller_principal(9)
    calls = (lambda: loyalty.earn(9, "ONLY01", usd(10), caller=me), lambda: loyalty.commit_hold("ph_x", caller=me),
             lambda: loyalty.release_hold("ph_x", caller=me), lambda: loyalty.reverse_booking("ONLY01", caller=me),
             lambda: loyalty.active_hold_for_booking("ONLY01", caller=me))
    for call in calls:
        with pytest.raises(Forbidden) as refused:
            call()
        assert refused.value.code == "service_only"
