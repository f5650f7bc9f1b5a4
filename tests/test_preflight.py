"""A test run that lacks chromium, PostgreSQL or RabbitMQ stops before its first test with one line that says what is
missing and what to run, instead of failing every test that needed it. Each case runs the real suite in a
child pytest pointed at a chromium that is not there or a port where nothing listens."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.servers import ROOT, free_port

ADVICE = "run scripts/test, which installs and starts what the suite needs"


def run_suite(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "FLIGHTBOOK_TEST_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=300)


def closed_pg() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"


def reason_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ADVICE in line]


def ran_nothing(output: str) -> bool:
    summary = output.strip().splitlines()[-1]
    return not any(word in summary for word in ("passed", "failed", "error", "skipped"))


def test_browser_tests_without_chromium_stop_at_once_with_one_line_under_xdist(tmp_path):
    missing = tmp_path / "chromium"
    run = run_suite("-n", "2", "tests/e2e/test_browser_account.py", FLIGHTBOOK_TEST_CHROMIUM=str(missing))
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = reason_lines(run.stdout)
    assert f"chromium is missing ({missing}): {ADVICE}" in line
    assert ran_nothing(run.stdout)


def test_postgres_tests_without_postgres_stop_at_once_naming_the_address():
    url = closed_pg()
    port = url.rsplit(":", 1)[1].split("/")[0]
    run = run_suite("tests/kernel/test_pool.py", "tests/loyalty/test_api.py", "-k", "postgres or pool",
                    FLIGHTBOOK_TEST_PG=url)
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = reason_lines(run.stdout)
    assert f"PostgreSQL is not reachable at 127.0.0.1:{port} (Connection refused)" in line
    assert ran_nothing(run.stdout)


def test_sqlite_tests_run_without_postgres_and_chromium(tmp_path):
    run = run_suite("tests/loyalty/test_api.py", "-k", "sqlite", "-q",
                    FLIGHTBOOK_TEST_PG=closed_pg(), FLIGHTBOOK_TEST_CHROMIUM=str(tmp_path / "chromium"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and not reason_lines(run.stdout)


def test_deselected_browser_tests_need_no_chromium(tmp_path):
    run = run_suite("tests/e2e/test_browser_account.py", "-m", "not browser",
                    FLIGHTBOOK_TEST_CHROMIUM=str(tmp_path / "chromium"))
    assert run.returncode == 5, run.stdout + run.stderr  # nothing selected, and no complaint
    assert not reason_lines(run.stdout)


def test_broker_tests_without_rabbitmq_stop_at_once_naming_the_address():
    port = free_port()
    run = run_suite("tests/kernel/test_broker.py", "-k", "sqlite",
                    FLIGHTBOOK_TEST_BROKER=f"amqp://guest:guest@127.0.0.1:{port}/%2F")
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = reason_lines(run.stdout)
    assert f"RabbitMQ at amqp://guest:***@127.0.0.1:{port}/%2F is not reachable" in line
    assert ran_nothing(run.stdout)
