"""loyalty's business counters, in one place: taken from the events it publishes, once committed, and the
saga's lag from a payment to its booking's points."""
from __future__ import annotations

from flightbook.contracts.loyalty import PointsEarned, PointsExpired, PointsRedeemed
from flightbook.kernel import observability
from flightbook.kernel.events import Event


def observe(event: Event) -> None:
    if isinstance(event, PointsEarned):
        observability.points("earned", event.points)
    elif isinstance(event, PointsRedeemed):
        observability.points("redeemed", event.points)
    elif isinstance(event, PointsExpired):
        observability.points("expired", event.points)


def settled(age_seconds: float | None) -> None:
    """A confirmed booking's points settled, ``age_seconds`` after its confirmation was published (the
    payment's success confirms the booking in the same call)."""
    if age_seconds is not None:
        observability.saga_lag(age_seconds)

