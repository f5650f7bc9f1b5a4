"""The composition root: reads the settings, decides for each module "in process or over HTTP",
builds the contracts' implementations and hands them to the parts that need them.

Plain imports, so import-linter sees every edge: only this file and the CLI import the modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import falcon

from flightbook import MODULES, gateway
from flightbook.contracts import Contracts
from flightbook.contracts.flights import FlightsAdmin, FlightsContract
from flightbook.contracts.loyalty import LoyaltyAdmin, LoyaltyContract
from flightbook.contracts.payments import PaymentsAdmin, PaymentsContract
from flightbook.kernel import faults, limits, openapi
from flightbook.kernel.auth import Tokens
from flightbook.kernel.broker import BrokerPublisher, Topology
from flightbook.kernel.consumer import BrokerQueue, Consumer, ConsumerPolicy, declare_subscribers
from flightbook.kernel.events import EVENT_TYPES
from flightbook.kernel.http import (AuthMiddleware, DatabaseMiddleware, Health, Ready, RequestIdMiddleware,
                                    install_error_handling, install_json)
from flightbook.kernel.inbox import EventsResource, Inbox
from flightbook.kernel.observability import ObservabilityMiddleware
from flightbook.kernel.migrations import migrate as apply_migrations
from flightbook.kernel.part import Job, Loop, Part
from flightbook.kernel.relay import HttpSubscriber, LocalSubscriber, Relay, RelayPolicy
from flightbook.kernel.settings import Settings
from flightbook.modules import flights, loyalty, payments
from flightbook.modules.flights import client as flights_client
from flightbook.modules.flights import handlers as flights_handlers
from flightbook.modules.flights import openapi as flights_openapi
from flightbook.modules.loyalty import client as loyalty_client
from flightbook.modules.loyalty import handlers as loyalty_handlers
from flightbook.modules.loyalty import openapi as loyalty_openapi
from flightbook.modules.payments import client as payments_client
from flightbook.modules.payments import handlers as payments_handlers
from flightbook.modules.payments import openapi as payments_openapi

PARTS = ("gateway",) + MODULES

#: the contracts each part calls
NEEDS: dict[str, tuple[str, ...]] = {"flights": (), "loyalty": ("flights",), "payments": ("flights", "loyalty"),
                                     "gateway": MODULES}

#: the topics each module handles, known even where the module runs in another process
TOPICS: dict[str, tuple[str, ...]] = {"flights": flights_handlers.TOPICS, "payments": payments_handlers.TOPICS,
                                      "loyalty": loyalty_handlers.TOPICS}


#: each module's operations for the OpenAPI description (the gateway mirrors them under /api/gateway/)
DESCRIBE = {"flights": flights_openapi.describe, "payments": payments_openapi.describe,
            "loyalty": loyalty_openapi.describe}


@dataclass
class Admins:
    """The CLI's interfaces of the modules built in this process."""
    flights: FlightsAdmin | None = None
    loyalty: LoyaltyAdmin | None = None
    payments: PaymentsAdmin | None = None


@dataclass
class System:
    settings: Settings
    tokens: Tokens
    parts: dict[str, Part] = field(default_factory=dict)  # name -> Part built in this process
    #: every module's contract (in process or HTTP), where this process reaches all three (gateway, everything)
    contracts: Contracts | None = None
    admins: Admins = field(default_factory=Admins)
    served: tuple[str, ...] = ()

    @property
    def databases(self) -> dict:
        return {name: p.database for name, p in self.parts.items() if p.database is not None}

    def jobs(self) -> list[Job]:
        relays = [Job(f"relay-{name}", relay.policy.interval_seconds, relay.drain)
                  for name, relay in build_relays(self).items()]
        return [job for name in self.served for job in self.parts[name].jobs] + relays

    def loops(self) -> list[Loop]:
        """The event consumers of the modules served here (none without a broker)."""
        return [Loop(f"consumer-{name}", consumer.run) for name, consumer in build_consumers(self).items()]

    def close(self) -> None:
        for database in self.databases.values():
            if not database.is_closed():
                database.close()


def flights_admin(system: System) -> FlightsAdmin:
    """The CLI's interface of flights, built in this process (``build_system(serve="flights")``)."""
    if system.admins.flights is None:
        raise ValueError("flights is not built in this process")
    return system.admins.flights


def loyalty_admin(system: System) -> LoyaltyAdmin:
    """The CLI's interface of loyalty, built in this process (``build_system(serve="loyalty")``)."""
    if system.admins.loyalty is None:
        raise ValueError("loyalty is not built in this process")
    return system.admins.loyalty


def payments_admin(system: System) -> PaymentsAdmin:
    """The CLI's interface of payments, built in this process (``build_system(serve="payments")``)."""
    if system.admins.payments is None:
        raise ValueError("payments is not built in this process")
    return system.admins.payments


def migrate(system: System, only: str | None = None) -> dict[str, list[str]]:
    """Apply the pending migrations to the database of each module built here (or of ``only``)."""
    return {name: apply_migrations(name, part.database) for name, part in system.parts.items()
            if part.database is not None and only in (None, name)}


def publisher_of(topic: str) -> str:
    """The module that publishes ``topic``: the one whose contract declares its event."""
    return EVENT_TYPES[topic].__module__.rsplit(".", 1)[-1]


def _modules_to_build(settings: Settings, serve: str | None) -> set[str]:
    """``serve`` None: every module whose URL is unset. A part: that part, the modules it calls and those that
    subscribe to its events, each unless it is reached over HTTP (its URL set)."""
    if serve is None:
        return {name for name in MODULES if settings.is_local(name)}
    wanted: set[str] = set()
    todo = [serve]
    while todo:
        name = todo.pop()
        if name in wanted or (name in MODULES and name != serve and not settings.is_local(name)):
            continue
        if name in MODULES:
            wanted.add(name)
            todo += [m for m in MODULES if any(publisher_of(t) == name for t in TOPICS[m])]
        todo += NEEDS[name]
    return wanted


class _Reach:
    """Each module's contract for the parts built here: its local service, else its HTTP client (one per
    module, made on first use)."""

    def __init__(self, settings: Settings, tokens: Tokens, caller: str, parts: dict[str, Part]):
        self.settings, self.tokens, self.caller, self.parts = settings, tokens, caller, parts
        self._clients: dict[str, object] = {}

    def _client(self, name: str, make):
        if name not in self._clients:
            self._clients[name] = make(self.settings.urls[name], self.tokens, self.caller, self.settings)
        return self._clients[name]

    def _remote(self, name: str) -> bool:
        return name not in self.parts and bool(self.settings.urls[name])

    def flights(self) -> FlightsContract | None:
        if self._remote("flights"):
            return self._client("flights", flights_client.Client)
        return self.parts["flights"].contract if "flights" in self.parts else None

    def loyalty(self) -> LoyaltyContract | None:
        if self._remote("loyalty"):
            return self._client("loyalty", loyalty_client.Client)
        return self.parts["loyalty"].contract if "loyalty" in self.parts else None

    def payments(self) -> PaymentsContract | None:
        if self._remote("payments"):
            return self._client("payments", payments_client.Client)
        return self.parts["payments"].contract if "payments" in self.parts else None


def build_system(settings: Settings | None = None, serve: str | None = None) -> System:
    """Everything this process needs. ``serve=None``: the gateway and every module whose URL is unset;
    a part: that part and what it needs (see ``_modules_to_build``), served alone."""
    settings = settings or Settings.from_env()
    if serve is not None and serve not in PARTS:
        raise ValueError(f"unknown part {serve!r}: choose one of {', '.join(PARTS)}")
    faults.configure(settings.fault_points)
    tokens = Tokens(settings.secret_key, settings.service_secret, min(settings.access_token_minutes * 60,
                                                                      settings.token_ttl_seconds),
                    settings.service_token_ttl_seconds)
    system = System(settings=settings, tokens=tokens)
    wanted = _modules_to_build(settings, serve)
    reach = _Reach(settings, tokens, serve or "gateway", system.parts)
    if "flights" in wanted:
        flights_part = system.parts["flights"] = flights.build(settings, tokens)
        system.admins.flights = flights_part.contract
    if "loyalty" in wanted:
        flights_contract = reach.flights()
        if flights_contract is None:
            raise ValueError("loyalty needs flights: serve it here or set FLIGHTBOOK_FLIGHTS_URL")
        loyalty_part = system.parts["loyalty"] = loyalty.build(settings, flights_contract)
        system.admins.loyalty = loyalty_part.contract
    if "payments" in wanted:
        flights_contract = reach.flights()
        if flights_contract is None:
            raise ValueError("payments needs flights: serve it here or set FLIGHTBOOK_FLIGHTS_URL")
        payments_part = system.parts["payments"] = payments.build(settings, flights_contract, reach.loyalty())
        system.admins.payments = payments_part.contract
    for name, queue in broker_queues(settings).items():
        service = system.parts[name].contract if name in system.parts else None
        if service is not None:
            service.broker_queue = queue  # the admin's events page shows the queue's dead letters
    flights_contract, payments_contract, loyalty_contract = reach.flights(), reach.payments(), reach.loyalty()
    if flights_contract is not None and payments_contract is not None and loyalty_contract is not None:
        system.contracts = Contracts(flights=flights_contract, payments=payments_contract, loyalty=loyalty_contract)
    if serve in (None, "gateway"):
        if system.contracts is None:
            raise ValueError("the gateway needs every module: serve each here or set its FLIGHTBOOK_<M>_URL")
        system.parts["gateway"] = gateway.build(settings, tokens, system.contracts)
    system.served = (serve,) if serve else tuple(system.parts)
    return system


def create_app(system: System, doorbell=None) -> falcon.App:
    """The WSGI app serving ``system``; ``doorbell`` (kernel.part.Doorbell): the jobs worker's, when one runs
    beside this process, so an event delivered here leaves its background work to it."""
    databases = [system.parts[name].database for name in system.served if system.parts[name].database]
    outboxes = {name: system.parts[name].database for name in system.served
                if name in MODULES and system.parts[name].database is not None}
    observed = ObservabilityMiddleware("+".join(system.served) if len(system.served) == 1 else "all",
                                       system.settings, outboxes)
    middleware: list = [observed, RequestIdMiddleware(), *limits.middleware(system.settings),
                        AuthMiddleware(system.tokens, audience=list(system.served)), DatabaseMiddleware(databases)]
    app = falcon.App(middleware=middleware)
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
        app.add_route("/api/events", EventsResource(inboxes, doorbell))
    openapi.mount(app, api_description(system), _title(system))
    return app


def _title(system: System) -> str:
    return "flightbook " + (system.served[0] if len(system.served) == 1 else "(all parts)")


def api_description(system: System) -> dict:
    """The OpenAPI 3.1 description of what this process serves: each module's operations, the gateway's
    mirror of them under /api/gateway/, and the kernel's (/health, /ready, /metrics, /api/events...)."""
    doc = openapi.Description(_title(system), "Flight booking: flights, payments and loyalty, one process or four "
                                              "services. Money is in integer minor units.")
    served_modules = [name for name in system.served if name in MODULES]
    openapi.describe_kernel(doc, with_events=any(system.parts[name].database for name in served_modules))
    for name in served_modules:
        DESCRIBE[name](doc)
    if "gateway" in system.served:
        modules = openapi.Description("modules")
        for name in MODULES:
            DESCRIBE[name](modules)
        doc.doc["paths"].update(openapi.gateway_view(modules.doc))
        doc.schemas.update(modules.schemas)
        openapi.add_gateway_schemes(doc)
    return doc.to_dict()


def subscriptions(system: System) -> dict[str, frozenset[str]]:
    """module -> the topics it subscribes to: its declared TOPICS, plus its local Part's handlers
    (tests/kernel checks the two agree, so a split deployment delivers the same events)."""
    return {name: frozenset(TOPICS[name])
            | frozenset(system.parts[name].event_handlers if name in system.parts else ())
            for name in MODULES}


def _inbox(system: System, name: str) -> Inbox:
    part = system.parts[name]
    return Inbox(part.database, name, part.event_handlers)


def _subscriber(system: System, name: str, topics, source: str) -> LocalSubscriber | HttpSubscriber | None:
    """In process when ``name`` is built here with a database; over HTTP when its URL is set."""
    part = system.parts.get(name)
    if part is not None and part.database is not None:
        return LocalSubscriber(_inbox(system, name), topics)
    if system.settings.urls[name]:
        return HttpSubscriber(name, system.settings.urls[name], topics, system.tokens, source,
                              connect_timeout=system.settings.http_connect_timeout,
                              read_timeout=system.settings.http_read_timeout)
    return None


def build_relays(system: System, policy: RelayPolicy | None = None) -> dict[str, Relay]:
    """module -> the Relay that delivers its outbox, for each module served here: to the broker's exchange
    when ``FLIGHTBOOK_BROKER_URL`` is set (the publisher knows no subscriber), else to each subscriber."""
    settings = system.settings
    topics = subscriptions(system)
    relays = {}
    for source in system.served:
        if source not in MODULES or system.parts[source].database is None:
            continue
        if settings.broker_url:
            destinations: list = [BrokerPublisher(settings.broker_url, topology(settings))]
        else:
            destinations = [s for s in (_subscriber(system, name, topics[name], source)
                                        for name in MODULES if topics[name]) if s]
        relays[source] = Relay(system.parts[source].database, source, destinations, policy)
    return relays


def topology(settings: Settings) -> Topology:
    return Topology(settings.broker_prefix)


def consumer_policy(settings: Settings) -> ConsumerPolicy:
    return ConsumerPolicy(retry_delays=settings.broker_retry_delays, prefetch=settings.broker_prefetch)


def build_consumers(system: System) -> dict[str, Consumer]:
    """module -> a Consumer of its queue, for each module served here that handles events (none without a
    broker). Each call gives new Consumers, each with its own connection: one per thread."""
    settings = system.settings
    if not settings.broker_url:
        return {}
    topics = subscriptions(system)
    return {name: Consumer(settings.broker_url, topology(settings), _inbox(system, name), topics[name],
                           consumer_policy(settings))
            for name in system.served
            if name in MODULES and system.parts[name].database is not None and system.parts[name].event_handlers}


def declare_broker_queues(settings: Settings) -> tuple[str, ...]:
    """Every module's queues and bindings, as its handlers name them: what ``flightbook migrate`` does when a
    broker carries the events, so that no event is published while a subscriber's queue is still missing
    (the exchange would route it nowhere). Raises BrokerUnavailable."""
    wanted = {name: TOPICS[name] for name in MODULES if TOPICS[name]}
    declare_subscribers(settings.broker_url, topology(settings), wanted, consumer_policy(settings))
    return tuple(topology(settings).queue(name) for name in wanted)


def broker_queues(settings: Settings) -> dict[str, BrokerQueue]:
    """module -> its queue on the broker, for each module that handles events (none without a broker): what
    ``flightbook events`` lists and retries, and what each module's service shows the admin console."""
    if not settings.broker_url:
        return {}
    return {name: BrokerQueue(settings.broker_url, topology(settings), name) for name in MODULES if TOPICS[name]}


def broker_dead_letters(settings: Settings, limit: int = 50) -> dict[str, tuple]:
    """module -> the first ``limit`` dead letters of its queue on the broker (they stay there)."""
    return {name: queue.dead_letters(limit) for name, queue in broker_queues(settings).items()}


def retry_broker_dead_letters(settings: Settings, event_id: str | None = None) -> int:
    """Put the broker's dead letters (``event_id``'s, or all) back on their module's queue; how many."""
    return sum(queue.retry(event_id) for queue in broker_queues(settings).values())
