"""Browser fixtures: Debian's chromium driven by Playwright against a real ``flightbook serve`` process
on fresh SQLite databases seeded by ``flightbook demo --prepare-only``, and, for the journey, against
either deployment (that one process, or four gunicorn services on PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import make_env
from tests.e2e.deployments import Deployment
from tests.openapi_check import conformance
from tests.preflight import CHROMIUM
from tests.servers import FLIGHTBOOK, ROOT, Server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DEMO_DAYS = 5


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright launches this chromium (Playwright's own download does not work here)."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(base_url):
    return {"viewport": DESKTOP, "locale": "en-US", "timezone_id": "UTC", "base_url": base_url}


def seeded_env(folder: Path) -> dict:
    """FLIGHTBOOK_* for a one-process deployment on SQLite under ``folder``, with airports, a few days
    of the sample schedule and the demo traveller."""
    urls = {m: f"sqlite:///{folder / (m + '.db')}" for m in ("flights", "payments", "loyalty")}
    env = make_env(folder, urls, FLIGHTBOOK_SWEEP_INTERVAL_SECONDS=1)
    subprocess.run([FLIGHTBOOK, "migrate"], env={**os.environ, **env}, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    subprocess.run([FLIGHTBOOK, "demo", "--prepare-only", "--days", str(DEMO_DAYS)], env={**os.environ, **env},
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    return env


@pytest.fixture(scope="session")
def ui_env(tmp_path_factory) -> dict:
    return seeded_env(tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="session")
def ui_server(ui_env, tmp_path_factory):
    server = Server(None, ui_env, workers=2, log_dir=tmp_path_factory.mktemp("ui-logs")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(ui_server) -> str:
    """pytest-playwright's base_url: ``page.goto("/")`` lands on our server."""
    return ui_server.url


class OneProcess:
    """The session's one-process server seen as a deployment (started once for every browser test)."""
    mode = "one_process"

    def __init__(self, server):
        self.url = server.url


@pytest.fixture(scope="module", params=["one_process", "four_services"])
def deployment(request, tmp_path_factory, worker):
    """The journey's deployment: the shared one-process server, or four services started for the module."""
    if request.param == "one_process":
        yield OneProcess(request.getfixturevalue("ui_server"))
        return
    running = Deployment("four_services", tmp_path_factory.mktemp("ui-four"), f"browser_{worker}").start()
    yield running
    running.stop()


@pytest.fixture
def deployed_page(browser, deployment):
    """A page whose relative URLs go to ``deployment``'s gateway."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC", base_url=deployment.url)
    page = context.new_page()
    yield page
    context.close()


_names = itertools.count(1)


@pytest.fixture
def new_traveller(worker):
    """Credentials nobody has used yet."""
    n = next(_names)
    username = f"ui{worker.replace('_', '')[-8:]}{n}"
    return {"username": username, "password": "a long enough password", "first_name": "Grace",
            "last_name": "Hopper", "email": f"{username}@example.com"}


def travel_date(days_ahead: int = 2) -> str:
    return (dt.date.today() + dt.timedelta(days=days_ahead)).isoformat()


def screenshot(page, name: str) -> None:
    """One screenshot per page for docs/screenshots (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def openapi_conformance():
    """Every JSON answer this suite receives over HTTP fits the OpenAPI description of the part that gave it."""
    with conformance() as checker:
        yield checker
    assert not checker.problems, "answers that break the OpenAPI description:\n" + "\n".join(checker.problems)
