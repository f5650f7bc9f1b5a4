"""flights: users, airports, dated flights with seat inventory, bookings. Hands the wiring its Part."""
from __future__ import annotations

from flightbook.kernel.db import open_database
from flightbook.kernel.part import Job, Part


def build(settings, tokens, contracts) -> Part:
    from flightbook.modules.flights import handlers, models, resources
    from flightbook.modules.flights.service import FlightsService

    models.database.initialize(open_database(settings.databases["flights"]))
    service = FlightsService(settings, tokens)
    return Part(
        name="flights",
        database=models.database,
        contract=service,
        add_routes=lambda app: resources.add_routes(app, service),
        event_handlers=handlers.build(service),
        jobs=[Job("expire-holds", settings.sweep_interval_seconds, service.expire_holds)],
    )
