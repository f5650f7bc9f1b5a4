"""The connection rules a journey keeps, shared by search (which only builds journeys that keep them) and
booking (which checks an itinerary again before it takes a seat): a minimum connection time at each
connecting airport, a maximum layover, no airport twice, no absurd detour, one cabin throughout (the cabin
is the query's and the booking's, so every leg is searched and sold in it)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import NamedTuple, Sequence

from flightbook.modules.flights.catalogue.schedules import great_circle_km


class AirportFacts(NamedTuple):
    """What the rules need to know of an airport; the connection times are its own (None: the default)."""
    iata: str
    tz: str
    country: str
    lat: float
    lon: float
    same_country_minutes: int | None = None
    international_minutes: int | None = None


class TimedLeg(NamedTuple):
    """A flight as the rules see it (aware UTC times)."""
    origin: str
    destination: str
    departs_at: dt.datetime
    arrives_at: dt.datetime
    flight_number: str = ""


@dataclass(frozen=True)
class ConnectionRules:
    #: minimum connection time when both flights are domestic flights of the connecting airport's country
    same_country_minutes: int = 45
    #: minimum connection time otherwise (either flight crosses a border)
    international_minutes: int = 90
    max_layover_minutes: int = 12 * 60
    #: the flown distance may be at most this share of the great-circle distance, plus the allowance below
    #: (which lets a short trip go through a hub, as short trips do)
    max_detour_percent: int = 200
    detour_allowance_km: int = 1000

    def __post_init__(self):
        for name in ("same_country_minutes", "international_minutes", "max_layover_minutes"):
            if not 0 <= getattr(self, name) <= 48 * 60:
                raise ValueError(f"{name} must be from 0 to {48 * 60} minutes")
        if self.max_layover_minutes < max(self.same_country_minutes, self.international_minutes):
            raise ValueError("max_layover_minutes must be at least the minimum connection times")
        if not 100 <= self.max_detour_percent <= 1000:
            raise ValueError("max_detour_percent must be from 100 to 1000")
        if not 0 <= self.detour_allowance_km <= 20000:
            raise ValueError("detour_allowance_km must be from 0 to 20000")

    @classmethod
    def from_settings(cls, settings) -> "ConnectionRules":
        return cls(settings.min_connection_minutes, settings.min_international_connection_minutes,
                   settings.max_layover_minutes, settings.max_detour_percent, settings.detour_allowance_km)

    def min_connection_minutes(self, arriving_from: AirportFacts, at: AirportFacts, going_to: AirportFacts) -> int:
        """The time a traveller needs at ``at`` between a flight from ``arriving_from`` and one to ``going_to``."""
        if arriving_from.country == at.country == going_to.country:
            return self.same_country_minutes if at.same_country_minutes is None else at.same_country_minutes
        return self.international_minutes if at.international_minutes is None else at.international_minutes

    def max_flown_km(self, origin: AirportFacts, destination: AirportFacts) -> float:
        return distance_km(origin, destination) * self.max_detour_percent / 100 + self.detour_allowance_km

    def is_direct_enough(self, airports: Sequence[AirportFacts]) -> bool:
        """Whether flying through ``airports`` in turn visits none twice and stays within the detour cap."""
        if len({a.iata for a in airports}) != len(airports):
            return False
        flown = sum(distance_km(a, b) for a, b in zip(airports, airports[1:]))
        return flown <= self.max_flown_km(airports[0], airports[-1])

    def connection_problem(self, legs: Sequence[TimedLeg], facts: dict) -> str | None:
        """Why ``legs`` (in flying order) are not one journey by these rules, or None when they are."""
        for before, after in zip(legs, legs[1:]):
            if before.destination != after.origin:
                return f"{after.flight_number} leaves from {after.origin}, not {before.destination} where " \
                       f"{before.flight_number} lands"
        airports = [facts.get(code) for code in [legs[0].origin, *(leg.destination for leg in legs)]]
        if any(a is None for a in airports):
            return "it flies through an airport that is not known"
        known: list[AirportFacts] = [a for a in airports if a is not None]
        if len({a.iata for a in known}) != len(known):
            return "it visits an airport twice"
        for i, (before, after) in enumerate(zip(legs, legs[1:])):
            minutes = (after.departs_at - before.arrives_at).total_seconds() / 60
            needed = self.min_connection_minutes(known[i], known[i + 1], known[i + 2])
            if minutes < needed:
                return f"{after.flight_number} leaves {after.origin} {minutes:.0f} min after {before.flight_number} " \
                       f"lands; the connection there takes at least {needed} min"
            if minutes > self.max_layover_minutes:
                return f"the layover at {after.origin} is longer than {self.max_layover_minutes // 60} h"
        if not self.is_direct_enough(known):
            return "it flies too far out of the way"
        return None


def distance_km(a: AirportFacts, b: AirportFacts) -> float:
    return _km(a.lat, a.lon, b.lat, b.lon)


@functools.lru_cache(maxsize=1 << 16)
def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return great_circle_km(lat1, lon1, lat2, lon2)
