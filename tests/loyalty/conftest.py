"""Loyalty fixtures: the service on its real database (SQLite and PostgreSQL) with a clock the test moves."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.kernel.auth import Principal
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import models
from flightbook.modules.loyalty.models import LoyaltyAccount, PointsLot
from flightbook.modules.loyalty.rules import LoyaltyRules
from flightbook.modules.loyalty.service import LoyaltyService

START = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self, moment: dt.datetime = START):
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta) -> dt.datetime:
        self.moment += dt.timedelta(**delta)
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def loyalty(system, clock) -> LoyaltyService:
    """The in-process loyalty service bound to this test's database, on the test's clock."""
    return LoyaltyService(UnitOfWork(models.database, "loyalty"), LoyaltyRules.from_settings(system.settings),
                          clock_now=clock)


def traveller_principal(user_id: int) -> Principal:
    return Principal(kind="user", user_id=user_id, username=f"user{user_id}")


def usd(major: int) -> Money:
    return Money(major * 100, "USD")


def lots_of(user_id: int) -> list[tuple[int, int]]:
    """(points, remaining) of each lot, oldest expiry first."""
    return [(lot.points, lot.remaining) for lot in
            PointsLot.select().where(PointsLot.account == user_id).order_by(PointsLot.expires_at, PointsLot.id)]


def assert_books_balance(user_id: int) -> None:
    """The ledger's invariants: balance = points left in lots, and 0 <= held <= balance."""
    account = LoyaltyAccount.get_by_id(user_id)
    assert account.balance == sum(remaining for _, remaining in lots_of(user_id))
    assert 0 <= account.held <= account.balance
