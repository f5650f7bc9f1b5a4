"""The composition root: reads the settings, decides for each module "in process or over HTTP",
builds the contracts' implementations and hands them to the parts that need them."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import falcon

from flightbook import MODULES
from flightbook.kernel import faults
from flightbook.kernel.auth import Tokens
from flightbook.kernel.http import (AuthMiddleware, DatabaseMiddleware, Health, Ready, RequestIdMiddleware,
                                    install_error_handling, install_json)
from flightbook.kernel.inbox import EventsResource, Inbox
from flightbook.kernel.part import Job, Part
from flightbook.kernel.relay import HttpSubscriber, LocalSubscriber, Relay, RelayPolicy
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
        relays = [Job(f"relay-{name}", relay.policy.interval_seconds, relay.drain)
                  for name, relay in build_relays(self).items()]
        return [job for name in self.served for job in self.parts[name].jobs] + relays

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
    faults.configure(settings.fault_points)
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
    install_json(app)
    install_error_handling(app)
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/health", Health())
    app.add_route("/ready", Ready({name: system.parts[name].database for name in system.served
                                   if system.parts[name].database}))
    for name in system.served:
        system.parts[name].add_routes(app)
    inboxes = {name: _inbox(system, name) for name in system.served if system.parts[name].database}
    if inboxes:
        app.add_route("/api/events", EventsResource(inboxes))
    return app


def served_parts(system: System) -> list[Part]:
    return [system.parts[name] for name in system.served]


# --- events: who subscribes to what, and the relays that deliver each local outbox ----------

def _declared_topics(name: str) -> tuple:
    """``flightbook.modules.<name>.handlers.TOPICS``: the topics a module handles, known even where
    the module runs in another process (its handlers need its service, so only a local Part has them)."""
    try:
        handlers = importlib.import_module(f"flightbook.modules.{name}.handlers")
    except ModuleNotFoundError as exc:
        if exc.name != f"flightbook.modules.{name}.handlers":
            raise
        return ()
    return tuple(getattr(handlers, "TOPICS", ()))


def subscriptions(system: System) -> dict:
    """module -> the topics it subscribes to: its declared TOPICS, plus its local Part's handlers
    (tests/kernel checks the two agree, so a split deployment delivers the same events)."""
    return {name: frozenset(_declared_topics(name))
            | frozenset(system.parts[name].event_handlers if name in system.parts else ())
            for name in MODULES}


def _inbox(system: System, name: str) -> Inbox:
    part = system.parts[name]
    return Inbox(part.database, name, part.event_handlers)


def _subscriber(system: System, name: str, topics, source: str):
    """In process when ``name`` is built here with a database; over HTTP when its URL is set."""
    part = system.parts.get(name)
    if part is not None and part.database is not None:
        return LocalSubscriber(_inbox(system, name), topics)
    if system.settings.urls[name]:
        return HttpSubscriber(name, system.settings.urls[name], topics, system.tokens, source,
                              connect_timeout=system.settings.http_connect_timeout,
                              read_timeout=system.settings.http_read_timeout)
    return None


def build_relays(system: System, policy: RelayPolicy | None = None) -> dict:
    """module -> the Relay that delivers its outbox, for each module served here."""
    topics = subscriptions(system)
    relays = {}
    for source in system.served:
        if source not in MODULES or system.parts[source].database is None:
            continue
        subscribers = [_subscriber(system, name, topics[name], source) for name in MODULES if topics[name]]
        relays[source] = Relay(system.parts[source].database, source, [s for s in subscribers if s], policy)
    return relays
