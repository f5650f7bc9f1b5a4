"""flights' business counters, in one place: what the use cases report once their transaction committed."""
from __future__ import annotations

from flightbook.kernel import observability
from flightbook.kernel.events import Event


def held(cabin: str, seats: int) -> None:
    observability.booking("held")


def confirmed(cabin: str, seats: int) -> None:
    observability.booking("confirmed", {cabin: seats})


def observe(event: Event) -> None:
    """The events flights publishes that are business figures (UnitOfWork's ``observe``)."""
    if event.topic == "booking.expired":
        observability.booking("expired")
    elif event.topic == "booking.cancelled":
        observability.booking("cancelled")
