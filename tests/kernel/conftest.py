"""Fixtures for the kernel's event machinery: real module databases (both backends), opened directly."""
from __future__ import annotations

import pytest

from flightbook.kernel.db import open_database


def _close(database):
    if not database.is_closed():
        database.close()
    close_all = getattr(database, "close_all", None)
    close_all and close_all()


@pytest.fixture
def open_db(database_urls):
    """open_db(module) -> a new database object on that module's fresh database, closed after the test."""
    opened = []

    def open_(module: str):
        database = open_database(database_urls[module])
        opened.append(database)
        return database

    yield open_
    for database in opened:
        _close(database)


@pytest.fixture
def payments_db(open_db):
    """The publisher in these tests."""
    return open_db("payments")


@pytest.fixture
def loyalty_db(open_db):
    return open_db("loyalty")


@pytest.fixture
def flights_db(open_db):
    return open_db("flights")
