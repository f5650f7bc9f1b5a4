"""Contract suites run against both adapters of a module: the in-process service and the HTTP client
talking to a real gunicorn process serving that module, both on the same fresh databases."""
from __future__ import annotations

import pytest

from flightbook import MODULES, wiring
from flightbook.kernel.settings import Settings
from tests.conftest import PG_BASE, fresh_databases, make_env, pg_admin
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


def http_contract(system: wiring.System, module: str, url: str):
    """The HTTP adapter of ``module``'s contract, pointed at ``url``."""
    import importlib

    client = importlib.import_module(f"flightbook.modules.{module}.client")
    return client.Client((url,), system.tokens, caller="gateway", settings=system.settings)


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
