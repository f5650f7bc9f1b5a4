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


@pytest.fixture(scope="session")
def broker_reachable():
    """The real RabbitMQ (FLIGHTBOOK_TEST_BROKER): a run without one fails each broker test with one line."""
    from tests.kernel.brokerkit import unreachable_reason

    reason = unreachable_reason()
    if reason:
        pytest.fail(reason, pytrace=False)


@pytest.fixture
def broker(request, worker, broker_reachable):
    """This test's own names on the broker (deleted afterwards), under the shared lock, or the exclusive
    one when the test also asks for ``restartable_broker``."""
    from tests.kernel.brokerkit import Scratch, broker_lock

    with broker_lock(exclusive="restartable_broker" in request.fixturenames):
        scratch = Scratch(worker)
        yield scratch
        scratch.delete()


@pytest.fixture
def restartable_broker(broker):
    """restart(pause): stop RabbitMQ's app for ``pause`` seconds, then start it (always) and wait for it."""
    from tests.kernel.brokerkit import restart_broker

    return restart_broker
