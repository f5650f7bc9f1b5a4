"""The PostgreSQL pool skips its liveness ping for a connection given back moments ago, and still replaces a
connection that died while idle longer than that."""
from __future__ import annotations

import time

import pytest

from flightbook.kernel.db import open_database
from tests.conftest import PG_ADMIN, pg_admin

pytestmark = pytest.mark.postgres


@pytest.fixture
def pool():
    database = open_database(PG_ADMIN)
    yield database
    database.close_all()


def _backend_pid(database) -> int:
    with database.connection_context():
        return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def test_a_connection_given_back_moments_ago_is_reused_as_is(pool):
    assert _backend_pid(pool) == _backend_pid(pool)


def test_a_connection_that_died_while_idle_is_replaced(pool):
    pool.RECENT_SECONDS = 0.05
    first = _backend_pid(pool)
    pg_admin(f"SELECT pg_terminate_backend({first})")
    time.sleep(0.2)
    second = _backend_pid(pool)
    assert second != first
    assert _backend_pid(pool) == second
