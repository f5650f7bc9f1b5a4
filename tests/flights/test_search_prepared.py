"""Catalogue queries are prepared once per PostgreSQL connection: a new connection (the pool dropped the old
one) prepares again, and seats sold after a search show in the next one (nothing but the plan is kept)."""
from __future__ import annotations

import re

import pytest

from flightbook.contracts.flights import SORTS
from flightbook.kernel.db import is_postgres
from flightbook.modules.flights.catalogue import calendar, journeys, memo
from flightbook.kernel.sql import Statement
from flightbook.modules.flights.models import SeatInventory
from tests.flights.builders import UOW
from tests.flights.test_search import catalogue, numbers, query, search  # noqa: F401  (fixture)

STATEMENTS = [journeys.DIRECT, journeys.DIRECT_OR_ONE_STOP, journeys.TWO_STOPS, *journeys.ROUTES.values(),
              calendar.DIRECT, calendar.DIRECT_OR_ONE_STOP, calendar.TWO_STOPS]


def test_every_sort_order_answers_again_on_a_fresh_connection(catalogue, system):  # noqa: F811
    database = system.parts["flights"].database
    first = {sort: numbers(search.search_flights(UOW, query(sort=sort, max_stops=2)).outbound) for sort in SORTS}
    database.close()
    getattr(database.obj, "close_all", lambda: None)()
    memo.forget(database)  # the routes are asked again too
    again = {sort: numbers(search.search_flights(UOW, query(sort=sort, max_stops=2)).outbound) for sort in SORTS}
    assert again == first and all(first.values())
    if is_postgres(database):
        prepared = {name for (name,) in database.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()}
        assert {"journeys_direct_or_1_stop", "routes_1_stop", "routes_2_stop"} <= prepared


def test_seats_sold_after_a_search_show_in_the_next_one(catalogue):  # noqa: F811
    before = search.search_flights(UOW, query(passengers=2)).outbound
    sold = before[0]
    SeatInventory.update(seats_left=1).where(SeatInventory.flight == sold.legs[0].id,
                                             SeatInventory.cabin == "economy").execute()
    after = search.search_flights(UOW, query(passengers=2)).outbound
    assert [o.id for o in after] == [o.id for o in before if o.id != sold.id]
    seats = {o.id: o.seats_left for o in search.search_flights(UOW, query()).outbound}
    assert seats[sold.id] == 1


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s.name)
def test_each_named_parameter_is_one_numbered_parameter_when_prepared(statement: Statement):
    sql, names = statement.postgres
    assert len(set(names)) == len(names)
    assert {int(n) for n in re.findall(r"\$(\d+)", sql)} == set(range(1, len(names) + 1))
    plain = set(re.findall(r":([a-z_]+)", statement.sqlite))
    assert {name.split("__")[0] for name in names} == plain  # a table's columns are one JSON parameter on SQLite
