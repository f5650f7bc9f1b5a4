"""flights: users, airports, dated flights with seat inventory, bookings. Hands the wiring its Part."""
from __future__ import annotations

from flightbook.kernel.auth import Tokens
from flightbook.kernel.db import open_database
from flightbook.kernel.part import Job, Part
from flightbook.kernel.settings import Settings
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights import handlers, models, resources
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.service import FlightsService


def build(settings: Settings, tokens: Tokens) -> Part[FlightsService]:
    models.database.initialize(open_database(settings.databases["flights"]))
    service = FlightsService(UnitOfWork(models.database, "flights"), tokens, BookingRules.from_settings(settings))
    return Part(
        name="flights",
        database=models.database,
        contract=service,
        add_routes=lambda app: resources.add_routes(app, service),
        event_handlers=handlers.build(service),
        jobs=[Job("expire-holds", settings.sweep_interval_seconds, service.expire_holds)],
    )
