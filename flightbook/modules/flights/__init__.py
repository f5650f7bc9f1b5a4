"""flights: users, airports, dated flights with seat inventory, bookings, and the traveller's mail about them.
Hands the wiring its Part."""
from __future__ import annotations

import datetime as dt

from flightbook.kernel.auth import Tokens
from flightbook.kernel.db import open_database
from flightbook.modules.flights.identity.throttle import ThrottleRules
from flightbook.kernel.part import Job, Part
from flightbook.kernel.settings import Settings
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights import handlers, metrics, models, resources
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.notifications.mailer import mailer_for
from flightbook.modules.flights.notifications.messages import MailPolicy
from flightbook.modules.flights.notifications.sending import SEND_MAIL_JOB, Sender
from flightbook.modules.flights.service import FlightsService


#: how often a serving flights process computes again the admin overview's kept figures (while an admin looks)
ADMIN_FIGURES_INTERVAL_SECONDS = 45
#: how often it folds the seat differences into the days' totals (the load factor is exact either way)
FOLD_SEAT_DAYS_INTERVAL_SECONDS = 30


def mail_policy(settings: Settings) -> MailPolicy:
    return MailPolicy(sender=settings.mail_from, public_url=settings.public_url,
                      wait_seconds=settings.mail_wait_seconds, retry_seconds=settings.mail_retry_seconds,
                      max_attempts=settings.mail_max_attempts)


def build(settings: Settings, tokens: Tokens) -> Part[FlightsService]:
    models.database.initialize(open_database(settings.databases["flights"]))
    uow = UnitOfWork(models.database, "flights", observe=metrics.observe)
    sender = Sender(uow, mailer_for(settings.smtp_url, settings.mail_folder), mail_policy(settings))
    service = FlightsService(uow, tokens, BookingRules.from_settings(settings), sender,
                             ThrottleRules.from_settings(settings), dt.timedelta(seconds=settings.token_ttl_seconds))
    return Part(
        name="flights",
        database=models.database,
        contract=service,
        add_routes=lambda app: resources.add_routes(app, service),
        event_handlers=handlers.build(service),
        jobs=[Job("expire-holds", settings.sweep_interval_seconds, service.expire_holds),
              Job(SEND_MAIL_JOB, settings.mail_interval_seconds, service.send_mail),
              Job("admin-figures", ADMIN_FIGURES_INTERVAL_SECONDS, service.refresh_admin_figures),
              Job("fold-seat-days", FOLD_SEAT_DAYS_INTERVAL_SECONDS, service.fold_seat_days)],
    )
