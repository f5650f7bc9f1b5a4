"""Flight search prepares its query once per PostgreSQL connection: a new connection (the pool dropped the
old one) prepares again, and seats sold after a search show in the next one (nothing but the plan is kept)."""
from __future__ import annotations

import pytest

from flightbook.kernel.db import is_postgres
from flightbook.modules.flights.catalogue import search
from flightbook.modules.flights.models import SeatInventory
from tests.flights.builders import UOW
from tests.flights.test_search import catalogue, numbers, query  # noqa: F401  (fixture)


def test_every_sort_order_answers_again_on_a_fresh_connection(catalogue, system):  # noqa: F811
    database = system.parts["flights"].database
    first = {sort: numbers(search.search_flights(UOW, query(sort=sort)).outbound) for sort in search.SORTS}
    database.close()
    getattr(database.obj, "close_all", lambda: None)()
    again = {sort: numbers(search.search_flights(UOW, query(sort=sort)).outbound) for sort in search.SORTS}
    assert again == first and all(first.values())
    if is_postgres(database):
        prepared = {name for (name,) in database.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()}
        assert {f"flight_options_{sort}" for sort in search.SORTS} <= prepared


def test_seats_sold_after_a_search_show_in_the_next_one(catalogue):  # noqa: F811
    before = search.search_flights(UOW, query(passengers=2)).outbound
    sold = before[0]
    SeatInventory.update(seats_left=1).where(SeatInventory.flight == sold.id, SeatInventory.cabin == "economy") \
        .execute()
    after = search.search_flights(UOW, query(passengers=2)).outbound
    assert [o.id for o in after] == [o.id for o in before if o.id != sold.id]
    seats = {o.id: o.seats_left for o in search.search_flights(UOW, query()).outbound}
    assert seats[sold.id] == 1


@pytest.mark.parametrize("sort", search.SORTS)
def test_prepared_sql_is_the_plain_sql_with_numbered_parameters(sort):
    plain, numbered = search._options_sql(sort, "%s"), search._options_sql(sort, "$")
    for n in range(1, 7):
        assert numbered.count(f"${n}") == 1
        numbered = numbered.replace(f"${n}", "%s")
    assert numbered == plain
