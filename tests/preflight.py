"""What the selected tests need from the machine, checked once after collection: a run that finds chromium,
PostgreSQL or RabbitMQ missing stops at once with one line saying so, instead of failing every test that needs
them."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

import psycopg2
import pytest

CHROMIUM = os.environ.get("FLIGHTBOOK_TEST_CHROMIUM", "/usr/bin/chromium")
PG_ADMIN = os.environ.get("FLIGHTBOOK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# Parameters that put a test on PostgreSQL: the database backend, and the four services' deployments.
PG_PARAMS = ("postgres", "postgres_broker", "four_services", "four_services_broker")
# Parameters that put a test on RabbitMQ (as does asking for the ``broker`` fixture).
BROKER_PARAMS = ("postgres_broker", "four_services_broker")


def needs_chromium(item: pytest.Item) -> bool:
    return item.get_closest_marker("browser") is not None


def _params(item: pytest.Item) -> list[str]:
    callspec = getattr(item, "callspec", None)
    return [p for p in (callspec.params.values() if callspec else ()) if isinstance(p, str)]


def needs_postgres(item: pytest.Item) -> bool:
    return item.get_closest_marker("postgres") is not None or any(p in PG_PARAMS for p in _params(item))


def needs_broker(item: pytest.Item) -> bool:
    return "broker" in getattr(item, "fixturenames", ()) or any(p in BROKER_PARAMS for p in _params(item))


def chromium_problem() -> str | None:
    if os.access(CHROMIUM, os.X_OK):
        return None
    return f"chromium is missing ({CHROMIUM})"


def postgres_problem() -> str | None:
    try:
        psycopg2.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg2.OperationalError as error:
        where = urlsplit(PG_ADMIN)
        reason = (str(error).strip().splitlines() or ["no answer"])[0].rsplit("failed: ", 1)[-1]
        return f"PostgreSQL is not reachable at {where.hostname or 'its socket'}:{where.port or 5432} ({reason})"
    return None


def broker_problem() -> str | None:
    from tests.brokerkit import unreachable_reason

    return unreachable_reason()


def problems(items: list[pytest.Item]) -> list[str]:
    found = []
    if any(needs_chromium(item) for item in items):
        found.append(chromium_problem())
    if any(needs_postgres(item) for item in items):
        found.append(postgres_problem())
    if any(needs_broker(item) for item in items):
        found.append(broker_problem())
    return [problem for problem in found if problem]


def stop_if_unprepared(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Ends the run before the first test when the selected tests need something the machine lacks."""
    if session.config.option.collectonly:
        return
    found = problems(items)
    if not found:
        return
    message = "; ".join(found) + ": run scripts/test, which installs and starts what the suite needs"
    if hasattr(session.config, "workerinput"):
        # An xdist worker must not exit mid-protocol: it runs nothing and asks the controller to stop with the reason.
        session.config.hook.pytest_deselected(items=items[:])
        items[:] = []
        session.shouldstop = message
    else:
        pytest.exit(message, returncode=pytest.ExitCode.INTERRUPTED)
