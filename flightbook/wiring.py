"""The composition root: reads the settings, decides for each module "in process or over HTTP",
builds the contracts' implementations and hands them to the parts that need them."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import falcon

from flightbook import MODULES
from flightbook.kernel.auth import Tokens
from flightbook.kernel.http import (AuthMiddleware, DatabaseMiddleware, Health, Ready, RequestIdMiddleware,
                                    install_error_handling)
from flightbook.kernel.part import Part
from flightbook.kernel.settings import Settings

PARTS = ("gateway",) + MODULES
# Build order: a module is built after the modules whose contracts it is handed.
_BUILD_ORDER = ("flights", "loyalty", "payments")


@dataclass
class System:
    settings: Settings
    tokens: Tokens
    parts: dict = field(default_factory=dict)  # name -> Part built in this process
    contracts: dict = field(default_factory=dict)  # module -> contract implementation (in process or HTTP)
    served: tuple = ()

    @property
    def databases(self) -> dict:
        return {name: p.database for name, p in self.parts.items() if p.database is not None}

    def jobs(self) -> list:
        return [job for name in self.served for job in self.parts[name].jobs]

    def close(self) -> None:
        for database in self.databases.values():
            if not database.is_closed():
                database.close()


def _module(name: str):
    return importlib.import_module(f"flightbook.modules.{name}")


def _client(name: str, settings: Settings, tokens: Tokens, caller: str):
    client_module = importlib.import_module(f"flightbook.modules.{name}.client")
    return client_module.Client(settings.urls[name], tokens, caller=caller, settings=settings)


def build_system(settings: Settings | None = None, serve: str | None = None) -> System:
    """Everything this process needs. ``serve=None``: the gateway and every module whose URL is unset."""
    settings = settings or Settings.from_env()
    if serve is not None and serve not in PARTS:
        raise ValueError(f"unknown part {serve!r}: choose one of {', '.join(PARTS)}")
    tokens = Tokens(settings.secret_key, settings.service_secret, settings.token_ttl_seconds,
                    settings.service_token_ttl_seconds)
    system = System(settings=settings, tokens=tokens)
    caller = serve or "gateway"
    for name in _BUILD_ORDER:
        if settings.is_local(name) or serve == name:
            part = _module(name).build(settings, tokens, dict(system.contracts))
            system.parts[name] = part
            system.contracts[name] = part.contract
        else:
            system.contracts[name] = _client(name, settings, tokens, caller)
    if serve in (None, "gateway"):
        gateway = importlib.import_module("flightbook.gateway")
        system.parts["gateway"] = gateway.build(settings, tokens, dict(system.contracts))
    system.served = (serve,) if serve else tuple(system.parts)
    return system


def create_app(system: System) -> falcon.App:
    databases = [system.parts[name].database for name in system.served if system.parts[name].database]
    app = falcon.App(middleware=[
        RequestIdMiddleware(),
        AuthMiddleware(system.tokens, audience=list(system.served)),
        DatabaseMiddleware(databases),
    ])
    install_error_handling(app)
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/health", Health())
    app.add_route("/ready", Ready({name: system.parts[name].database for name in system.served
                                   if system.parts[name].database}))
    for name in system.served:
        system.parts[name].add_routes(app)
    return app


def served_parts(system: System) -> list[Part]:
    return [system.parts[name] for name in system.served]
