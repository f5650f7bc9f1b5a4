"""The loyalty contract behaves the same in process and over HTTP (a real gunicorn serving loyalty)."""
import time
import uuid

import pytest

from flightbook.contracts.flights import BookingNotFound
from flightbook.contracts.loyalty import (HoldConflict, HoldNotFound, HoldStatus, InsufficientPoints,
                                          TransactionKind)
from flightbook.kernel.errors import Forbidden, Unauthorized, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.loyalty import rules
from tests.contract.builders import held_booking, same, service, traveller


@pytest.fixture
def loyalty(contract_for):
    return contract_for("loyalty")


@pytest.fixture
def ada(local_system):
    return traveller(local_system)


def _ref() -> str:
    return f"C{uuid.uuid4().hex[:7].upper()}"


def _booked(local_system, who) -> str:
    """The ref of a HELD booking of ``who``'s: points are held only against the traveller's own booking."""
    return held_booking(local_system, who).ref


def _expected_points(loyalty, amount: Money, local_system) -> int:
    """What the first tier earns for ``amount``, by the pure rules."""
    first = loyalty.tiers()[0]
    return rules.points_earned(amount, first.multiplier_permille, local_system.settings.loyalty_points_per_unit)


def _with_points(local_system, user_id: int, dollars: int = 500) -> int:
    """Earned through the in-process service (setup, not the adapter under test): the points earned."""
    return local_system.contracts["loyalty"].earn(user_id, _ref(), Money(dollars * 100, "USD"))


def test_tiers_are_the_same_list_through_either_adapter(loyalty, local_system):
    tiers = loyalty.tiers()
    assert tiers == local_system.contracts["loyalty"].tiers()
    assert tiers[0].threshold == 0 and [t.threshold for t in tiers] == sorted(t.threshold for t in tiers)
    assert all(t.multiplier == t.multiplier_permille / 1000 for t in tiers)


def test_an_account_opens_empty_on_first_look_for_its_owner_or_a_service(loyalty, local_system, ada):
    account = loyalty.get_account(ada, ada.user_id)
    first = loyalty.tiers()[0]
    assert (account.user_id, account.balance, account.available, account.tier) == (ada.user_id, 0, 0, first.name)
    assert loyalty.get_account(service(local_system, audience="loyalty"), ada.user_id) == account
    with pytest.raises(Forbidden):
        loyalty.get_account(traveller(local_system), ada.user_id)
    with pytest.raises(Unauthorized):
        loyalty.get_account(None, ada.user_id)


def test_earning_follows_the_rules_once_per_booking(loyalty, local_system, ada):
    ref, amount = _ref(), Money(25099, "USD")
    earned = loyalty.earn(ada.user_id, ref, amount)
    assert earned == _expected_points(loyalty, amount, local_system) > 0
    assert loyalty.earn(ada.user_id, ref, Money(99900, "USD")) == earned
    assert loyalty.earn(ada.user_id, ref.lower(), amount) == earned
    assert loyalty.get_account(ada, ada.user_id).balance == earned


def test_earning_refuses_bad_input_field_by_field(loyalty, ada):
    for args, field in (((0, _ref(), Money(100, "USD")), "user_id"), ((ada.user_id, "", Money(100, "USD")),
                                                                      "booking_ref"),
                        ((ada.user_id, _ref(), Money(-1, "USD")), "amount")):
        with pytest.raises(ValidationError) as bad:
            loyalty.earn(*args)
        assert bad.value.field == field


def test_a_hold_sets_points_aside_and_commits_once(loyalty, local_system, ada):
    balance = _with_points(local_system, ada.user_id)
    ref = _booked(local_system, ada)
    hold = loyalty.hold_points(ada, ada.user_id, 1500, ref)
    assert (hold.user_id, hold.booking_ref, hold.points, hold.status) == (ada.user_id, ref, 1500, HoldStatus.PENDING)
    assert hold.value == rules.points_value(1500, "USD") == Money(1500, "USD")
    assert same(loyalty.active_hold_for_booking(ref), hold)
    account = loyalty.get_account(ada, ada.user_id)
    assert (account.balance, account.available) == (balance, balance - 1500)
    committed = loyalty.commit_hold(hold.hold_id)
    assert (committed.hold_id, committed.status) == (hold.hold_id, HoldStatus.COMMITTED)
    assert same(loyalty.commit_hold(hold.hold_id), committed)
    assert loyalty.active_hold_for_booking(ref).status == HoldStatus.COMMITTED
    assert loyalty.get_account(ada, ada.user_id).balance == balance - 1500
    with pytest.raises(HoldConflict):
        loyalty.release_hold(hold.hold_id)


def test_a_released_hold_gives_the_points_back_and_cannot_be_committed(loyalty, local_system, ada):
    balance = _with_points(local_system, ada.user_id)
    ref = _booked(local_system, ada)
    hold = loyalty.hold_points(ada, ada.user_id, 1000, ref, "EUR")
    assert hold.value == Money(1000, "EUR")
    released = loyalty.release_hold(hold.hold_id)
    assert released.status == HoldStatus.RELEASED and same(loyalty.release_hold(hold.hold_id), released)
    assert loyalty.active_hold_for_booking(ref) is None
    assert loyalty.get_account(ada, ada.user_id).available == balance
    with pytest.raises(HoldConflict):
        loyalty.commit_hold(hold.hold_id)


def test_holds_refuse_more_than_is_available_another_hold_and_someone_elses_points(loyalty, local_system, ada):
    balance = _with_points(local_system, ada.user_id, dollars=100)
    with pytest.raises(InsufficientPoints):
        loyalty.hold_points(ada, ada.user_id, balance + 100, _booked(local_system, ada))
    ref = _booked(local_system, ada)
    hold = loyalty.hold_points(ada, ada.user_id, 100, ref)
    assert same(loyalty.hold_points(ada, ada.user_id, 100, ref), hold)
    with pytest.raises(HoldConflict):
        loyalty.hold_points(ada, ada.user_id, 200, ref)
    with pytest.raises(Forbidden):
        loyalty.hold_points(traveller(local_system), ada.user_id, 100, _ref())
    with pytest.raises(Forbidden):
        loyalty.hold_points(service(local_system, audience="loyalty"), ada.user_id, 100, _ref())
    with pytest.raises(ValidationError) as bad:
        loyalty.hold_points(ada, ada.user_id, 0, _ref())
    assert bad.value.field == "points"
    for missing in (loyalty.commit_hold, loyalty.release_hold):
        with pytest.raises(HoldNotFound):
            missing("ph_missing")


def test_reversing_a_booking_takes_back_earned_and_returns_redeemed_points_once(loyalty, local_system, ada):
    _with_points(local_system, ada.user_id)
    ref = _booked(local_system, ada)
    hold = loyalty.hold_points(ada, ada.user_id, 700, ref)
    loyalty.commit_hold(hold.hold_id)
    earned = loyalty.earn(ada.user_id, ref, Money(30000, "USD"))
    before = loyalty.get_account(ada, ada.user_id).balance
    reversal = loyalty.reverse_booking(ref)
    assert (reversal.booking_ref, reversal.user_id) == (ref, ada.user_id)
    assert (reversal.points_taken_back, reversal.points_returned) == (earned, 700)
    assert loyalty.reverse_booking(ref) == reversal
    assert loyalty.get_account(ada, ada.user_id).balance == before - earned + 700


def test_history_pages_the_ledger_newest_first_for_its_owner(loyalty, local_system, ada):
    ref = _ref()
    earned = loyalty.earn(ada.user_id, ref, Money(40000, "USD"))
    hold = loyalty.hold_points(ada, ada.user_id, 300, _booked(local_system, ada))
    loyalty.commit_hold(hold.hold_id)
    page = loyalty.history(ada, ada.user_id, page=1, per_page=1)
    assert (page.user_id, page.page, page.per_page, page.total) == (ada.user_id, 1, 1, 2)
    assert [(t.kind, t.points, t.balance_after) for t in page.transactions] == [
        (TransactionKind.REDEEM, -300, earned - 300)]
    second = loyalty.history(ada, ada.user_id, page=2, per_page=1).transactions
    assert [(t.kind, t.points, t.booking_ref) for t in second] == [(TransactionKind.EARN, earned, ref)]
    assert same(loyalty.history(service(local_system, audience="loyalty"), ada.user_id),
                loyalty.history(ada, ada.user_id))
    with pytest.raises(Forbidden):
        loyalty.history(traveller(local_system), ada.user_id)


@pytest.mark.parametrize("endpoint", ["/api/loyalty/earn", "/api/loyalty/holds/ph_x/commit",
                                      "/api/loyalty/holds/ph_x/release", "/api/loyalty/reversals"])
def test_a_travellers_token_cannot_move_points_over_http(http_for, ada, endpoint):
    loyalty = http_for("loyalty")
    with pytest.raises(Forbidden) as refused:
        loyalty.http.call("POST", endpoint, token=ada.token,
                          json={"user_id": ada.user_id, "booking_ref": "ABC123", "amount": 100, "currency": "USD"})
    assert refused.value.code == "service_only"


def test_a_travellers_token_cannot_read_a_bookings_hold_over_http(http_for, ada):
    with pytest.raises(Forbidden):
        http_for("loyalty").http.call("GET", "/api/loyalty/bookings/ABC123/hold", token=ada.token)


def test_loyalty_down_is_unavailable_at_once(impatient_client, closed_url, ada):
    loyalty = impatient_client("loyalty", closed_url)
    started = time.monotonic()
    for call in (lambda: loyalty.get_account(ada, ada.user_id), lambda: loyalty.earn(1, "ABC123", Money(1, "USD"))):
        with pytest.raises(Unavailable) as down:
            call()
        assert down.value.code == "service_unavailable" and down.value.status == 503
    assert time.monotonic() - started < 0.5


def test_a_silent_loyalty_is_unavailable_within_the_read_timeout(impatient_client, silent_url, ada):
    loyalty = impatient_client("loyalty", silent_url)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        loyalty.hold_points(ada, ada.user_id, 100, "ABC123")
    assert time.monotonic() - started < 1.5


def test_a_dead_instance_among_several_is_skipped(impatient_client, served, closed_url, local_system, ada):
    loyalty = impatient_client("loyalty", closed_url, served("loyalty").url)
    for _ in range(3):
        assert loyalty.get_account(ada, ada.user_id).user_id == ada.user_id
    assert loyalty.earn(ada.user_id, _ref(), Money(10000, "USD")) > 0


@pytest.mark.parametrize("currency, points, minor", [("USD", 1, 1), ("JPY", 100, 1), ("BHD", 1, 10)])
def test_the_points_rate_is_what_a_hold_of_that_many_points_is_worth(loyalty, local_system, ada, currency, points,
                                                                     minor):
    rate = loyalty.points_rate(currency)
    assert (rate.currency, rate.points, rate.value) == (currency, points, Money(minor, currency))
    assert rate == local_system.contracts["loyalty"].points_rate(currency)
    _with_points(local_system, ada.user_id)
    hold = loyalty.hold_points(ada, ada.user_id, 7 * rate.points, _booked(local_system, ada), currency)
    assert hold.value == Money(7 * rate.value.amount, currency)


def test_the_points_rate_refuses_a_currency_that_is_not_one(loyalty):
    for bad in ("usd", "US", ""):
        with pytest.raises(ValidationError) as refused:
            loyalty.points_rate(bad)
        assert refused.value.field == "currency"


@pytest.mark.parametrize("currency", ["USD", "JPY"])
def test_points_are_worth_their_whole_blocks_as_a_hold_values_them(loyalty, local_system, ada, currency):
    rate = loyalty.points_rate(currency)
    assert loyalty.points_value(3 * rate.points, currency) == Money(3 * rate.value.amount, currency)
    assert loyalty.points_value(3 * rate.points + rate.points - 1, currency) == Money(3 * rate.value.amount, currency)
    assert loyalty.points_value(0, currency) == Money(0, currency)
    _with_points(local_system, ada.user_id)
    hold = loyalty.hold_points(ada, ada.user_id, 3 * rate.points, _booked(local_system, ada), currency)
    assert hold.value == loyalty.points_value(3 * rate.points, currency)


def test_the_points_offer_is_what_the_points_can_pay_of_an_amount(loyalty, local_system, ada):
    assert loyalty.points_offer(ada, ada.user_id, Money(10000, "USD")).usable == 0  # no points yet
    earned = _with_points(local_system, ada.user_id, dollars=500)  # 5000 points, worth $50.00
    small = loyalty.points_offer(ada, ada.user_id, Money(1234, "USD"))
    assert (small.available, small.usable, small.covers_amount) == (earned, 1234, True)
    assert small.available_value == Money(earned, "USD")
    large = loyalty.points_offer(ada, ada.user_id, Money(99999, "USD"))
    assert (large.usable, large.covers_amount) == (earned, False)
    yen = loyalty.points_offer(ada, ada.user_id, Money(7, "JPY"))  # 100 points a yen: whole blocks only
    assert (yen.usable, yen.covers_amount, yen.rate.points) == (700, True, 100)
    with pytest.raises(Forbidden):
        loyalty.points_offer(traveller(local_system), ada.user_id, Money(100, "USD"))


def test_the_tier_standing_shows_the_way_to_the_next_tier(loyalty, local_system, ada):
    tiers = loyalty.tiers()
    start = loyalty.tier_standing(ada, ada.user_id)
    assert (start.tier, start.next_tier, start.progress_percent) == (tiers[0], tiers[1], 0)
    earned = _with_points(local_system, ada.user_id, dollars=500)
    standing = loyalty.tier_standing(ada, ada.user_id)
    assert standing.qualifying_points == earned
    assert standing.points_to_next_tier == tiers[1].threshold - earned
    assert standing.progress_percent == earned * 100 // tiers[1].threshold
    with pytest.raises(Forbidden):
        loyalty.tier_standing(traveller(local_system), ada.user_id)


def test_a_bookings_points_and_what_its_cancellation_would_return(loyalty, local_system, ada):
    _with_points(local_system, ada.user_id)
    ref = _booked(local_system, ada)
    hold = loyalty.hold_points(ada, ada.user_id, 701, ref)
    assert loyalty.quote_points_return(ada, ref, 100).redeemed == 0  # held, not yet spent
    local_system.contracts["loyalty"].commit_hold(hold.hold_id)
    earned = local_system.contracts["loyalty"].earn(ada.user_id, ref, Money(10000, "USD"))
    points = loyalty.booking_points(ada, ref)
    assert (points.earned, points.redeemed) == (earned, 701)
    quote = loyalty.quote_points_return(ada, ref, 50)
    assert (quote.redeemed, quote.returned) == (701, 350)
    reversal = local_system.contracts["loyalty"].reverse_booking(ref)
    assert loyalty.quote_points_return(ada, ref, 100).returned == reversal.points_returned == 701
    stranger = traveller(local_system)
    assert loyalty.booking_points(stranger, ref).earned == loyalty.quote_points_return(stranger, ref, 100).redeemed == 0


def test_points_are_held_only_against_the_holders_own_booking(loyalty, local_system, ada):
    """Through either adapter, someone else's booking ref is exactly an unknown one (loyalty asks flights)."""
    _with_points(local_system, ada.user_id)
    theirs = _booked(local_system, traveller(local_system))
    with pytest.raises(BookingNotFound) as stranger:
        loyalty.hold_points(ada, ada.user_id, 100, theirs)
    with pytest.raises(BookingNotFound) as unknown:
        loyalty.hold_points(ada, ada.user_id, 100, "ZZ99ZZ")
    assert stranger.value.message.replace(theirs, "?") == unknown.value.message.replace("ZZ99ZZ", "?")
    assert loyalty.active_hold_for_booking(theirs) is None
