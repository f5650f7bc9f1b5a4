"""Contract suites run against both adapters of a module: the in-process service and the HTTP client
talking to a real gunicorn process serving that module, both on the same fresh databases."""
from __future__ import annotations

import pytest

from flightbook import MODULES, wiring
from flightbook.kernel.settings import Settings
from tests.conftest import fresh_databases, make_env, pg_admin
from tests.openapi_check import conformance
from tests.servers import Server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def contract_env(request, tmp_path_factory, worker):
    tmp = tmp_path_factory.mktemp("contract")
    urls = fresh_databases(request.param, tmp, worker, request, label="contract")
    yield make_env(tmp, urls, FLIGHTBOOK_SWEEP_INTERVAL_SECONDS=3600)
    if request.param == "postgres":
        for module in MODULES:
            pg_admin(f"DROP DATABASE IF EXISTS fbcontract_{worker}_{module} WITH (FORCE)")


@pytest.fixture(scope="module")
def local_system(contract_env):
    system = wiring.build_system(Settings.from_env(contract_env))
    yield system
    system.close()


@pytest.fixture(scope="module")
def served(contract_env, tmp_path_factory):
    """A gunicorn process per module, started on first use."""
    servers = {}

    def get(module: str) -> Server:
        if module not in servers:
            servers[module] = Server(module, contract_env, workers=2,
                                     log_dir=tmp_path_factory.mktemp("logs")).start()
        return servers[module]

    yield get
    for server in servers.values():
        server.stop()


def http_contract(system: wiring.System, module: str, *urls: str):
    """The HTTP adapter of ``module``'s contract, pointed at ``urls`` (spread round-robin)."""
    import importlib

    client = importlib.import_module(f"flightbook.modules.{module}.client")
    return client.Client(urls, system.tokens, caller="gateway", settings=system.settings)


@pytest.fixture
def contract_for(adapter, local_system, served):
    """contract_for("flights") -> that module's contract through the adapter under test."""
    def get(module: str):
        if adapter == "in_process":
            return local_system.contracts[module]
        return http_contract(local_system, module, served(module).url)
    return get


@pytest.fixture(params=["in_process", "http"])
def adapter(request):
    return request.param


@pytest.fixture
def closed_url() -> str:
    """A URL where nothing listens: connecting is refused at once."""
    from tests.servers import free_port
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_url():
    """A URL whose socket accepts connections (the kernel's backlog) but never answers."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def impatient_client(local_system):
    """make(module, *urls): the HTTP adapter of ``module`` at ``urls`` with half-second timeouts (a payment,
    which waits longer than anything payments waits for inside it, 2.2 s)."""
    import dataclasses

    settings = dataclasses.replace(local_system.settings, http_connect_timeout=0.5, http_read_timeout=0.5,
                                   provider_timeout_seconds=0.2)
    made = []

    def make(module: str, *urls: str):
        client = http_contract(dataclasses.replace(local_system, settings=settings), module, *urls)
        made.append(client)
        return client

    yield make
    for client in made:
        client.http.close()


@pytest.fixture
def http_for(local_system, served):
    """http_for("payments") -> the HTTP adapter alone, for what only exists at the HTTP door (who may call)."""
    return lambda module: http_contract(local_system, module, served(module).url)


@pytest.fixture(autouse=True)
def openapi_conformance():
    """Every JSON answer this suite receives over HTTP fits the OpenAPI description of the part that gave it."""
    with conformance() as checker:
        yield checker
    assert not checker.problems, "answers that break the OpenAPI description:\n" + "\n".join(checker.problems)
