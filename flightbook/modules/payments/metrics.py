"""payments' business counters, in one place: taken from the events it publishes, once committed."""
from __future__ import annotations

from flightbook.contracts.payments import PaymentFailed, PaymentRefunded
from flightbook.kernel import observability
from flightbook.kernel.events import Event


def observe(event: Event) -> None:
    if event.topic == "payment.succeeded":
        observability.payment("succeeded")
    elif isinstance(event, PaymentFailed):
        observability.payment("declined", event.failure_code)
    elif isinstance(event, PaymentRefunded):
        observability.refund(event.amount.amount, event.amount.currency)
