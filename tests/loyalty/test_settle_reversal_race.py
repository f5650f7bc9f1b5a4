"""booking.confirmed and booking.cancelled applied at once (two relays, two loyalty instances, or a redelivery
while another instance applies the next event): whichever transaction gets there first, a cancelled booking
keeps no points and its hold ends released or returned, and applying either event again changes nothing.

Each test holds the first transaction open at an exact point (a wrapper that waits on a ``threading.Event``),
starts the second and lets the first go once the second has either finished or is waiting on a lock in
PostgreSQL (on main, the second finished and the trip kept its points). SQLite runs one writer at a time
(``BEGIN IMMEDIATE``), so there is no "at once" to test there."""
from __future__ import annotations

import threading
import time

import pytest

from flightbook.modules.loyalty import earning, models, reversals, saga
from flightbook.modules.loyalty.models import LoyaltyAccount
from tests.loyalty.conftest import assert_books_balance, traveller_principal, usd

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

ADA = 7
TRIP = "TRIP01"
WAIT = 30  # seconds: only ever reached when something is broken


class Paused:
    """``function`` as given, except that its first call returns and then waits (inside the caller's open
    transaction) until ``let_go`` is set; ``reached`` is set once it is waiting."""

    def __init__(self, function):
        self.function = function
        self.reached, self.let_go = threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        result = self.function(*args, **kwargs)
        if not self.reached.is_set():
            self.reached.set()
            self.let_go.wait(WAIT)
        return result


def in_thread(work) -> tuple[threading.Thread, threading.Event, list]:
    """Run ``work()`` on its own thread and connection: (the thread, set when it ended, its errors)."""
    ended, errors = threading.Event(), []

    def run():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            models.database.close()
            ended.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, ended, errors


def waiting_on_a_lock() -> bool:
    """Some other connection to this database is waiting for a lock (a row's, a transaction's, an advisory one)."""
    return bool(models.database.execute_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND wait_event_type = 'Lock'").fetchone()[0])


def race(first, paused: Paused, second) -> list:
    """``first`` runs until ``paused`` holds it; then ``second`` runs until it finishes or waits on a lock; then
    ``first`` goes on. Returns the errors of both."""
    one, _, first_errors = in_thread(first)
    assert paused.reached.wait(WAIT), first_errors
    two, second_ended, second_errors = in_thread(second)
    deadline = time.monotonic() + WAIT
    while not (second_ended.is_set() or waiting_on_a_lock()):
        assert time.monotonic() < deadline, "the second transaction neither finished nor waited on a lock"
        time.sleep(0.01)
    paused.let_go.set()
    one.join(WAIT)
    two.join(WAIT)
    assert not one.is_alive() and not two.is_alive()
    return first_errors + second_errors


def paid_by(loyalty, how: str):
    """The trip's total and what the card paid: by card alone (a new traveller), or 400 points held ($4.00)
    against it out of 1,000 and the card paying the rest. Returns (total, paid, the balance before)."""
    if how == "card":
        return usd(50), usd(50), 0
    loyalty.earn(ADA, "EARN01", usd(100))
    loyalty.hold_points(traveller_principal(ADA), ADA, 400, TRIP)
    return usd(50), usd(46), 1000


def assert_nothing_kept(loyalty, balance_before: int) -> None:
    """The cancelled trip left the account as it was: nothing earned kept, nothing held, nothing spent."""
    account = LoyaltyAccount.get_by_id(ADA)
    assert (account.balance, account.held) == (balance_before, 0)
    points = loyalty.booking_points(traveller_principal(ADA), TRIP)
    assert points.earned == points.taken_back and points.redeemed == points.returned
    assert loyalty.active_hold_for_booking(TRIP) is None
    assert_books_balance(ADA)


def assert_applying_again_changes_nothing(loyalty, total, paid, balance_before: int) -> None:
    assert loyalty.booking_confirmed(TRIP, ADA, total, paid) == 0
    loyalty.booking_cancelled(TRIP, ADA, 100)
    assert_nothing_kept(loyalty, balance_before)


@pytest.mark.parametrize("how", ["card", "card_and_points"])
def test_a_cancellation_while_the_confirmation_is_being_settled_leaves_no_points_on_the_trip(
        loyalty, monkeypatch, how):
    """The settlement has found the booking neither earned nor reversed when the cancellation arrives."""
    total, paid, balance_before = paid_by(loyalty, how)
    checked = Paused(saga.earned_or_reversed)
    monkeypatch.setattr(saga, "earned_or_reversed", checked)
    errors = race(lambda: loyalty.booking_confirmed(TRIP, ADA, total, paid), checked,
                  lambda: loyalty.booking_cancelled(TRIP, ADA, 100))
    assert errors == []
    monkeypatch.undo()
    assert_nothing_kept(loyalty, balance_before)
    assert_applying_again_changes_nothing(loyalty, total, paid, balance_before)


@pytest.mark.parametrize("how", ["card", "card_and_points"])
def test_a_confirmation_while_the_cancellation_is_being_applied_earns_nothing(loyalty, monkeypatch, how):
    """The cancellation has found nothing earned and written its reversal, not yet committed, when the
    confirmation arrives."""
    total, paid, balance_before = paid_by(loyalty, how)
    written = Paused(reversals.recompute_tier)  # the reversal's last step before its commit
    monkeypatch.setattr(reversals, "recompute_tier", written)
    errors = race(lambda: loyalty.booking_cancelled(TRIP, ADA, 100), written,
                  lambda: loyalty.booking_confirmed(TRIP, ADA, total, paid))
    assert errors == []
    monkeypatch.undo()
    assert_nothing_kept(loyalty, balance_before)
    assert_applying_again_changes_nothing(loyalty, total, paid, balance_before)


def test_earning_on_a_booking_while_it_is_reversed_keeps_nothing(loyalty, monkeypatch):
    """The contract's ``earn`` (POST /api/loyalty/earn) makes the settlement's once-per-booking check too."""
    checked = Paused(earning.earned_or_reversed)
    monkeypatch.setattr(earning, "earned_or_reversed", checked)
    errors = race(lambda: loyalty.earn(ADA, TRIP, usd(50)), checked,
                  lambda: loyalty.booking_cancelled(TRIP, ADA, 100))
    assert errors == []
    monkeypatch.undo()
    assert_nothing_kept(loyalty, 0)
    loyalty.earn(ADA, TRIP, usd(50))  # again: what it earned before (if anything), not new points
    assert_nothing_kept(loyalty, 0)
