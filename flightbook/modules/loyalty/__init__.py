"""loyalty: tiers, accounts, points lots, earn/redeem/expire, history. Hands the wiring its Part."""
from __future__ import annotations

from flightbook.contracts.flights import FlightsContract
from flightbook.kernel.db import open_database
from flightbook.kernel.part import Part
from flightbook.kernel.settings import Settings
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.loyalty import handlers, metrics, models, resources
from flightbook.modules.loyalty.rules import LoyaltyRules
from flightbook.modules.loyalty.service import LoyaltyService


def build(settings: Settings, flights: FlightsContract) -> Part[LoyaltyService]:
    models.database.initialize(open_database(settings.databases["loyalty"]))
    service = LoyaltyService(UnitOfWork(models.database, "loyalty", observe=metrics.observe),
                             LoyaltyRules.from_settings(settings), flights=flights)
    return Part(
        name="loyalty",
        database=models.database,
        contract=service,
        add_routes=lambda app: resources.add_routes(app, service),
        event_handlers=handlers.build(service),
    )
