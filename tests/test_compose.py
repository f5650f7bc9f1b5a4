"""compose.yaml cannot be started here (no Docker engine), so it is checked against what it must agree with:
the Procfile (every part served, on its port), the Dockerfile (one image, its exposed ports, its command line),
the settings (every FLIGHTBOOK_* variable named is one flightbook reads, and each service's set of them loads),
and itself (every URL names a service that serves it, every database exists, the broker's user is RabbitMQ's)."""
from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

import pytest
import yaml

from flightbook import MODULES, cli
from flightbook.kernel.settings import Settings
from tests.servers import ROOT
from tests.test_dockerfile import instructions, words

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
PORTS = {"gateway": 8000, "flights": 8001, "payments": 8002, "loyalty": 8003}


class Recorder(dict):
    """An environment that remembers every variable asked of it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def settings_read(tmp_path) -> set[str]:
    env = Recorder(FLIGHTBOOK_HOME=str(tmp_path), FLIGHTBOOK_SECRET_KEY="k" * 32, FLIGHTBOOK_SERVICE_SECRET="s" * 32)
    Settings.from_env(env)
    return env.asked


def flightbook_services() -> dict[str, dict]:
    """The services that run the flightbook image, by name."""
    return {name: s for name, s in SERVICES.items() if s.get("build") == "." or s.get("image") == "flightbook"}


def serving(part: str) -> dict[str, dict]:
    return {name: s for name, s in flightbook_services().items() if s["command"][:2] == ["serve", part]}


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        words_ = shlex.split(command)
        entries[name] = words_[words_.index("flightbook") + 1:]
    return entries


def test_every_part_of_the_procfile_is_served_on_its_port_and_each_module_twice():
    for name, command in procfile().items():
        part, port = command[1], option(command, "--port")
        instances = serving(part)
        assert len(instances) == (1 if part == "gateway" else 2), (part, list(instances))
        for service in instances.values():
            assert option(service["command"], "--port") == port
            assert option(service["command"], "--host") == "0.0.0.0"
    assert {s["command"][0] for s in flightbook_services().values()} <= {
        c.name or c.callback.__name__ for c in cli.app.registered_commands}


def test_every_flightbook_service_runs_the_one_image_of_the_dockerfile():
    exposed = {int(port) for keyword, args in instructions() if keyword == "EXPOSE" for port in args.split()}
    assert words(dict(instructions())["ENTRYPOINT"]) == ["flightbook"]
    for name, service in flightbook_services().items():
        assert (service["build"], service["image"]) == (".", "flightbook"), name
        if service["command"][0] == "serve":
            assert int(option(service["command"], "--port")) in exposed
    assert SERVICES["gateway"]["ports"] == [f"127.0.0.1:{PORTS['gateway']}:{PORTS['gateway']}"]


def test_every_variable_named_is_one_flightbook_reads_and_each_services_settings_load(tmp_path):
    known = settings_read(tmp_path)
    for name, service in flightbook_services().items():
        env = {k: str(v) for k, v in service["environment"].items()}
        assert set(env) <= known, (name, set(env) - known)
        settings = Settings.from_env({**env, "FLIGHTBOOK_HOME": str(tmp_path)})
        assert settings.broker_url and all(url.startswith("postgresql://") for url in settings.databases.values())
        part = service["command"][1] if service["command"][0] == "serve" else None
        for module in MODULES:
            assert settings.is_local(module) == (module == part), (name, module)  # its own URL empty


def test_every_url_names_the_services_that_serve_it():
    for name, service in flightbook_services().items():
        for module in MODULES:
            urls = [u for u in service["environment"][f"FLIGHTBOOK_{module.upper()}_URL"].split(",") if u]
            if not urls:
                continue
            targets = {(urlsplit(u).hostname, urlsplit(u).port) for u in urls}
            assert targets == {(host, PORTS[module]) for host in serving(module)}, (name, module)


def test_databases_and_broker_are_the_ones_postgres_and_rabbitmq_are_told_to_make():
    postgres, rabbitmq = SERVICES["postgres"]["environment"], SERVICES["rabbitmq"]["environment"]
    created = set(re.findall(r"CREATE DATABASE (\w+);", (ROOT / "compose" / "postgres-init.sql").read_text()))
    [init] = [v for v in SERVICES["postgres"]["volumes"] if v.startswith("./compose/postgres-init.sql:")]
    assert init.split(":")[1].startswith("/docker-entrypoint-initdb.d/")
    for name, service in flightbook_services().items():
        env = service["environment"]
        for module in MODULES:
            db = urlsplit(env[f"FLIGHTBOOK_{module.upper()}_DATABASE"])
            assert (db.hostname, db.port, db.username, db.password) == (
                "postgres", 5432, postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]), name
            assert db.path.lstrip("/") in created
        mq = urlsplit(env["FLIGHTBOOK_BROKER_URL"])
        assert (mq.scheme, mq.hostname, mq.port, mq.username, mq.password) == (
            "amqp", "rabbitmq", 5672, rabbitmq["RABBITMQ_DEFAULT_USER"], rabbitmq["RABBITMQ_DEFAULT_PASS"])
        assert mq.username != "guest"  # guest may only log in from RabbitMQ's own host


@pytest.mark.parametrize("name, check", [("postgres", "pg_isready"), ("rabbitmq", "rabbitmq-diagnostics")])
def test_postgres_and_rabbitmq_have_health_checks_the_migration_waits_for(name, check):
    assert check in SERVICES[name]["healthcheck"]["test"]
    assert SERVICES["migrate"]["depends_on"][name] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["command"] == ["migrate"] and SERVICES["migrate"]["restart"] == "no"


def test_modules_start_after_the_migration_and_the_gateway_after_every_module_instance():
    for part in MODULES:
        for name, service in serving(part).items():
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
            assert f":{PORTS[part]}/ready" in " ".join(service["healthcheck"]["test"])
    gateway_waits_for = SERVICES["gateway"]["depends_on"]
    assert set(gateway_waits_for) == {name for part in MODULES for name in serving(part)}
    assert all(v == {"condition": "service_healthy"} for v in gateway_waits_for.values())
