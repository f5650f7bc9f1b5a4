"""The price of a journey: a journey's fare is the sum of its legs' fares in its cabin (legs priced in one
currency only: a journey whose legs are priced in several is not offered). For a party (``priced``), each leg's
next seats cost their fare buckets' prices, scaled by the advance-purchase rule for the days before the first
flight (a cabin priced flat keeps its one fare), and children and infants pay their shares (pricing.py): the
total the next booking would pay, as booking prices it.

Search, the fare calendar and booking all price through these rules; the calendar asks the database for the
cheapest journey of each day with ``cheapest_fare_sql``, which must say the same as ``priced`` for one adult."""
from __future__ import annotations

from typing import Sequence

from flightbook.kernel.money import Money
from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.catalogue.pricing import FareRules, Party


class MixedCurrencies(ValueError):
    pass


def journey_fare(leg_fares: Sequence[Money]) -> Money:
    """Per passenger."""
    return Money(sum(fare.amount for fare in leg_fares), _currency_of(leg_fares))


def _currency_of(leg_fares: Sequence[Money]) -> str:
    currency = leg_fares[0].currency
    if any(fare.currency != currency for fare in leg_fares):
        raise MixedCurrencies("the legs are priced in different currencies")
    return currency


def journey_total(fare: Money, passengers: int) -> Money:
    return fare.times(passengers)


def priced(legs: Sequence, party: Party, days_before: int, rules: FareRules) -> tuple[Money, Money]:
    """(the fare per adult, the party's total) of a journey whose ``legs`` have ``fare`` (the next seat's price)
    and ``next_fares`` (the next seats' prices, '' when priced flat)."""
    currency = _currency_of([leg.fare for leg in legs])
    ahead = [days_before if leg.next_fares else None for leg in legs]
    fare = Money(rules.adult_fare([leg.fare.amount for leg in legs], ahead), currency)
    if party.seated == 1 and not party.infants:
        return fare, fare  # one adult pays one adult's fare (Money is immutable: one object serves as both)
    seats = [_next_seats(leg, party.seated) for leg in legs]
    return fare, Money(rules.party_total(party, seats, ahead), currency)


def _next_seats(leg, n: int) -> list[int]:
    if not leg.next_fares:
        return [leg.fare.amount] * n
    prices = pricing.parse_ladder(leg.next_fares, n)
    return prices + [prices[-1]] * (n - len(prices))  # search asked for n seats: the ladder has them


def cheapest_fare_sql(fare_columns: Sequence[str], flat_columns: Sequence[str], advance_sql: str) -> str:
    """SQL for the lowest fare per adult of a group of rows whose legs' next seats cost ``fare_columns``
    (``flat_columns``: whether the leg is priced flat), the advance-purchase percent being ``advance_sql``:
    each leg rounded half up, as ``pricing.percent_of``."""
    legs = [f"(({fare} * (CASE WHEN {flat} THEN 100 ELSE {advance_sql} END) + 50) / 100)"
            for fare, flat in zip(fare_columns, flat_columns)]
    return f"MIN({' + '.join(legs)})"
