"""payments: intents, card payments through a provider (mockbank or Stripe), webhooks, history, refunds."""
from __future__ import annotations

from flightbook.contracts.flights import FlightsContract
from flightbook.contracts.loyalty import LoyaltyContract
from flightbook.kernel.db import open_database
from flightbook.kernel.part import Job, Part
from flightbook.kernel.settings import Settings
from flightbook.kernel.uow import UnitOfWork


def build(settings: Settings, flights: FlightsContract, loyalty: LoyaltyContract | None) -> Part:
    from flightbook.modules.payments import handlers, metrics, models, resources
    from flightbook.modules.payments.banking import MockBank
    from flightbook.modules.payments.providers import PaymentProvider
    from flightbook.modules.payments.service import PaymentsService

    models.database.initialize(open_database(settings.databases["payments"]))
    providers: dict[str, PaymentProvider] = {"mockbank": MockBank(models.database)}
    if settings.stripe_api_key:
        from flightbook.modules.payments.stripe_provider import StripeProvider
        providers["stripe"] = StripeProvider(settings.stripe_api_key, settings.stripe_api_base,
                                             timeout_seconds=settings.provider_timeout_seconds)
    service = PaymentsService(UnitOfWork(models.database, "payments", observe=metrics.observe), settings, flights, loyalty, providers,
                              "stripe" if settings.stripe_api_key else "mockbank",
                              parallel_lookups=not settings.is_local("loyalty"))
    return Part(
        name="payments",
        database=models.database,
        contract=service,
        add_routes=lambda app: resources.add_routes(app, service),
        event_handlers=handlers.build(service),
        jobs=[Job("reconcile-payments", settings.reconcile_interval_seconds, service.reconcile)],
    )
