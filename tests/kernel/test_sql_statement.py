"""kernel/sql.py's prepared statements on both databases: one with no parameters runs, and on PostgreSQL the
generic plans it relies on hold for the whole session, even when the first transaction on a connection rolls
back (the setting is made as the session starts, not by a SET a rollback would undo)."""
from __future__ import annotations

import pytest

from flightbook.kernel.db import PLAN_CACHE_MODE, is_postgres, open_database
from flightbook.kernel.sql import Statement

ANSWER = Statement("test_answer_no_params", lambda dialect: "SELECT 42 AS answer")
TWICE = Statement("test_twice_a_number", lambda dialect: "SELECT {n} * 2 AS twice")


@pytest.fixture
def database(database_urls):
    db = open_database(database_urls["loyalty"])
    yield db
    db.close_all() if hasattr(db, "close_all") else db.close()


def test_a_statement_with_no_parameters_runs(database):
    with database.connection_context():
        assert ANSWER.run(database).fetchall() == [(42,)]
        assert ANSWER.run(database).fetchall() == [(42,)]  # prepared once, executed again
        assert TWICE.run(database, n=21).fetchall() == [(42,)]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_generic_plans_survive_a_first_transaction_that_rolls_back(database):
    assert is_postgres(database)
    with database.connection_context():
        with pytest.raises(RuntimeError):
            with database.atomic():
                TWICE.run(database, n=1)
                raise RuntimeError("rolled back")
        assert database.execute_sql("SHOW plan_cache_mode").fetchone() == (PLAN_CACHE_MODE,)
        assert TWICE.run(database, n=2).fetchall() == [(4,)]
