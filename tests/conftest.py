"""Shared fixtures. Database tests run on both SQLite and PostgreSQL (the ``backend`` parameter);
each test gets fresh databases cloned from migrated templates, so tests never see each other's rows."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import falcon.testing
import psycopg2
import pytest

from flightbook import MODULES, wiring
from flightbook.kernel.db import open_database
from flightbook.kernel.migrations import migrate
from flightbook.kernel.settings import Settings
from tests import preflight
from tests.preflight import PG_ADMIN

PG_BASE = PG_ADMIN.rsplit("/", 1)[0]


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected, so only what will run is checked
def pytest_collection_modifyitems(session, config, items):
    preflight.stop_if_unprepared(session, items)


def pg_admin(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _migrated(module: str, url: str) -> None:
    database = open_database(url)
    try:
        migrate(module, database)
    finally:
        database.close()
        close_all = getattr(database, "close_all", None)
        close_all and close_all()


@pytest.fixture(scope="session")
def worker(request) -> str:
    """Unique per test process, so concurrent pytest runs (and xdist workers) never share a database."""
    return f"{getattr(request.config, 'workerinput', {}).get('workerid', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("sqlite-templates")
    paths = {}
    for module in MODULES:
        paths[module] = folder / f"{module}.db"
        _migrated(module, f"sqlite:///{paths[module]}")
    return paths


@pytest.fixture(scope="session")
def pg_templates(worker) -> dict:
    names = {}
    for module in MODULES:
        names[module] = f"fbtpl_{worker}_{module}"
        pg_admin(f"DROP DATABASE IF EXISTS {names[module]} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {names[module]}")
        _migrated(module, f"{PG_BASE}/{names[module]}")
    yield names
    for module in MODULES:
        pg_admin(f"DROP DATABASE IF EXISTS {names[module]} WITH (FORCE)")
        pg_admin(f"DROP DATABASE IF EXISTS fbtest_{worker}_{module} WITH (FORCE)")


def fresh_databases(backend: str, tmp_path: Path, worker: str, request, label: str = "test") -> dict:
    """URLs of freshly migrated databases, one per module."""
    if backend == "sqlite":
        templates = request.getfixturevalue("sqlite_templates")
        urls = {}
        for module, template in templates.items():
            target = tmp_path / f"{module}.db"
            shutil.copy(template, target)
            urls[module] = f"sqlite:///{target}"
        return urls
    templates = request.getfixturevalue("pg_templates")
    urls = {}
    for module, template in templates.items():
        name = f"fb{label}_{worker}_{module}"
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        urls[module] = f"{PG_BASE}/{name}"
    return urls


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


def make_env(tmp_path: Path, urls: dict, **extra) -> dict:
    env = {"FLIGHTBOOK_HOME": str(tmp_path / "home"),
           "FLIGHTBOOK_SECRET_KEY": "test-secret-key-0123456789abcdef",
           "FLIGHTBOOK_SERVICE_SECRET": "test-service-secret-0123456789abcdef"}
    for module, url in urls.items():
        env[f"FLIGHTBOOK_{module.upper()}_DATABASE"] = url
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def database_urls(backend, tmp_path, worker, request) -> dict:
    return fresh_databases(backend, tmp_path, worker, request)


@pytest.fixture
def env(tmp_path, database_urls) -> dict:
    """The FLIGHTBOOK_* environment of a one-process deployment on fresh databases."""
    return make_env(tmp_path, database_urls)


@pytest.fixture
def settings(env) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def system(settings):
    built = wiring.build_system(settings)
    yield built
    built.close()
    for database in built.databases.values():
        close_all = getattr(getattr(database, "obj", database), "close_all", None)
        close_all and close_all()


@pytest.fixture
def client(system) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(wiring.create_app(system))


class Api:
    """A thin helper over falcon's TestClient that remembers a bearer token."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def get(self, path, params=None, headers=None):
        return self.client.simulate_get(path, params=params, headers=self._headers(headers))

    def post(self, path, json=None, headers=None):
        return self.client.simulate_post(path, json=json, headers=self._headers(headers))

    def as_user(self, token):
        return Api(self.client, token)


@pytest.fixture
def api(client) -> Api:
    return Api(client)


_counter = iter(range(1, 10 ** 9))


def register_and_login(api: Api, username: str | None = None, password: str = "correct horse battery") -> Api:
    """A new traveller, signed in: returns an Api carrying their token."""
    username = username or f"traveller{next(_counter)}"
    resp = api.post("/api/users/register", json={"username": username, "email": f"{username}@example.com",
                                                "password": password, "first_name": "Ada",
                                                "last_name": "Lovelace"})
    assert resp.status_code == 201, resp.text
    resp = api.post("/api/users/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return api.as_user(resp.json["token"])


@pytest.fixture
def traveller(api) -> Api:
    return register_and_login(api)


@pytest.fixture
def broker(request, worker):
    """This test's own names on the real RabbitMQ (deleted afterwards), under the shared lock, or the
    exclusive one when the test also asks for ``restartable_broker``. A run without a broker stops before
    its first test (tests/preflight.py)."""
    from tests.brokerkit import Scratch, broker_lock

    with broker_lock(exclusive="restartable_broker" in request.fixturenames):
        scratch = Scratch(worker)
        yield scratch
        scratch.delete()


@pytest.fixture
def restartable_broker(broker):
    """restart(pause): stop RabbitMQ's app for ``pause`` seconds, then start it (always) and wait for it."""
    from tests.brokerkit import restart_broker

    return restart_broker


@pytest.fixture
def service_token(system):
    def make(caller="payments", audience="flights"):
        return system.tokens.issue_service_token(caller, audience)
    return make
