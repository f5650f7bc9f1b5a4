"""The price of a journey, in this one place so fare buckets and passenger types can replace the rule: a
journey's fare is the sum of its legs' fares in its cabin (legs priced in one currency only: a journey whose
legs are priced in several is not offered), and its total is that fare for each passenger.

Search, the fare calendar and booking all price through these functions; the calendar asks the database for
the cheapest journey of each day with ``cheapest_fare_sql``, which must say the same as ``journey_fare``."""
from __future__ import annotations

from typing import Sequence

from flightbook.kernel.money import Money


class MixedCurrencies(ValueError):
    pass


def journey_fare(leg_fares: Sequence[Money]) -> Money:
    """Per passenger."""
    currency = leg_fares[0].currency
    if any(fare.currency != currency for fare in leg_fares):
        raise MixedCurrencies("the legs are priced in different currencies")
    return Money(sum(fare.amount for fare in leg_fares), currency)


def journey_total(fare: Money, passengers: int) -> Money:
    return fare.times(passengers)


def cheapest_fare_sql(fare_columns: Sequence[str]) -> str:
    """SQL for the lowest ``journey_fare`` of a group of rows whose legs' fares are ``fare_columns``."""
    return f"MIN({' + '.join(fare_columns)})"
