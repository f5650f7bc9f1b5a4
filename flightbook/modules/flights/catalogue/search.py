"""Flight search: journeys between two airports (or the airports of two cities) leaving on the origin's local date, direct or with up to
``max_stops`` connections, with enough seats in the cabin on every flight (see journeys.py for how they are
found, ranking.py for which are shown and in what order)."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, MAX_STOPS, SORTS, FlightLeg, FlightOption,
                                          FlightQuery, Layover, SearchResult)
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import airport_facts, fares, journeys, places, ranking
from flightbook.modules.flights.catalogue.connections import AirportFacts, ConnectionRules
from flightbook.modules.flights.catalogue.journeys import Journey, LegRow
from flightbook.modules.flights.catalogue.pricing import FareRules, Party
from flightbook.modules.flights.catalogue.schedules import local_iso, zone


def check_airports_and_seats(query) -> None:
    """The checks a search and a fare calendar share: airport codes, cabin, passengers, stops."""
    for field in ("origin", "destination"):
        value = getattr(query, field)
        if not isinstance(value, str) or len(value) != 3 or not value.isalnum() or not value.isupper():
            raise ValidationError(field, "must be a 3-letter IATA airport code")
    if query.origin == query.destination:
        raise ValidationError("destination", "must differ from origin")
    if query.cabin not in CABINS:
        raise ValidationError("cabin", f"must be one of {', '.join(CABINS)}")
    if isinstance(query.passengers, bool) or not isinstance(query.passengers, int) \
            or not 1 <= query.passengers <= MAX_PASSENGERS:
        raise ValidationError("passengers", f"must be from 1 to {MAX_PASSENGERS}")
    problem = party_of(query).problem()
    if problem is not None:
        raise ValidationError(*problem)
    if isinstance(query.max_stops, bool) or query.max_stops not in range(MAX_STOPS + 1):
        raise ValidationError("max_stops", f"must be from 0 to {MAX_STOPS}")


def party_of(query) -> Party:
    """Who travels: ``passengers`` adults (the API's ``adults``), and the children and infants (a fare calendar
    has none)."""
    return Party(query.passengers, getattr(query, "children", 0), getattr(query, "infants", 0))


def airports_for(database, codes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each code's airports: a city's (LON: London's), or the code itself."""
    cities = places.cities(database)
    return {code: cities.get(code, (code,)) for code in codes}


def known_airports(database, query) -> tuple[list[AirportFacts], list[AirportFacts]]:
    """The airports of the query's origin and destination (each a city's airports or one airport)."""
    codes = airports_for(database, (query.origin, query.destination))
    facts = airport_facts.facts_for(database, {code for airports in codes.values() for code in airports})
    origins, destinations = ([facts[c] for c in codes[getattr(query, field)] if c in facts]
                             for field in ("origin", "destination"))
    for field, known in (("origin", origins), ("destination", destinations)):
        if not known:
            raise ValidationError(field, f"unknown airport or city {getattr(query, field)!r}")
    if {o.iata for o in origins} & {d.iata for d in destinations}:
        raise ValidationError("destination", "must differ from origin (a city includes its airports)")
    return origins, destinations


def pairs(origins: list[AirportFacts], destinations: list[AirportFacts]) -> list[tuple[AirportFacts, AirportFacts]]:
    """The airport pairs a search between two places covers (never an airport to itself)."""
    return [(o, d) for o in origins for d in destinations if o.iata != d.iata]


def is_date(value) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def local_today(facts: AirportFacts) -> dt.date:
    return clock.now().astimezone(zone(facts.tz)).date()


def validate_query(database, query: FlightQuery) -> tuple[list[AirportFacts], list[AirportFacts]]:
    """Check a query against the rules; returns the origin's and the destination's airports."""
    check_airports_and_seats(query)
    if query.sort not in SORTS:
        raise ValidationError("sort", f"must be one of {', '.join(SORTS)}")
    for field in ("date", "return_date"):
        value = getattr(query, field)
        if (value is not None or field == "date") and not is_date(value):
            raise ValidationError(field, "must be a date YYYY-MM-DD")
    origins, destinations = known_airports(database, query)
    if query.date < local_today(origins[0]):
        raise ValidationError("date", f"{query.date} is in the past at {query.origin}")
    if query.return_date is not None and query.return_date < query.date:
        raise ValidationError("return_date", "must not be before the outbound date")
    return origins, destinations


def local_day_window(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants [start, end) of a local calendar day (23 or 25 hours long on DST change days)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone(tz)).astimezone(clock.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone(tz)).astimezone(clock.UTC)
    return start, end


def search_flights(uow: UnitOfWork, query: FlightQuery, rules: ConnectionRules = ConnectionRules(),
                   fare_rules: FareRules = FareRules()) -> SearchResult:
    database = uow.database
    origins, destinations = validate_query(database, query)
    outbound = options_between(database, origins, destinations, query.date, query, rules, fare_rules)
    inbound = ([] if query.return_date is None
               else options_between(database, destinations, origins, query.return_date, query, rules, fare_rules))
    return SearchResult(outbound=outbound, inbound=inbound)


def options_between(database, origins: list[AirportFacts], destinations: list[AirportFacts], day: dt.date,
                    query: FlightQuery, rules: ConnectionRules,
                    fare_rules: FareRules = FareRules()) -> list[FlightOption]:
    """The day's journeys between two places (a city searches every airport pair between them), in the query's
    order, each priced for the query's party; each option names its own airports."""
    if len(origins) == len(destinations) == 1:
        return options_on(database, origins[0], destinations[0], day, query, rules, fare_rules)
    found = [option for origin, destination in pairs(origins, destinations)
             for option in options_on(database, origin, destination, day, query, rules, fare_rules)]
    return ranking.ordered(found, query.sort)


def options_on(database, origin: AirportFacts, destination: AirportFacts, day: dt.date, query: FlightQuery,
               rules: ConnectionRules, fare_rules: FareRules = FareRules()) -> list[FlightOption]:
    """The day's journeys from origin to destination that are worth showing, in the query's order, each priced as
    the next booking for the query's party would pay."""
    start, end = local_day_window(day, origin.tz)
    party = party_of(query)
    found = journeys.journeys_on(database, origin, destination, start, end, query.cabin, party.seated,
                                 query.max_stops, rules)
    price = _Pricer(party, (day - local_today(origin)).days, fare_rules)
    shown = ranking.drop_dominated([price.journey(j) for j in found])
    zones = _zones(database, shown, origin, destination)
    legs: dict[int, FlightLeg] = {}
    return ranking.ordered([_option(j, query, zones, legs, price) for j in shown], query.sort)


class _Pricer:
    """A search's party priced on its day: journeys and single legs alike."""

    def __init__(self, party: Party, days_before: int, rules: FareRules):
        self.party, self.days_before, self.rules = party, days_before, rules

    def journey(self, journey: Journey) -> Journey:
        fare, total = fares.priced(journey.legs, self.party, self.days_before, self.rules)
        return journey._replace(fare=fare, total=total)

    def leg(self, leg: LegRow) -> tuple[Money, Money]:
        return fares.priced((leg,), self.party, self.days_before, self.rules)


def _zones(database, shown: list[Journey], origin: AirportFacts, destination: AirportFacts) -> dict[str, str]:
    zones = {origin.iata: origin.tz, destination.iata: destination.tz}
    stations = {leg.destination for j in shown for leg in j.legs[:-1]} - zones.keys()
    if stations:
        zones.update((code, facts.tz) for code, facts in airport_facts.facts_for(database, stations).items())
    return zones


def _option(journey: Journey, query: FlightQuery, zones: dict, legs: dict[int, FlightLeg],
            price: _Pricer) -> FlightOption:
    views = [legs.get(leg.id) or legs.setdefault(leg.id, _leg(leg, query, zones, price)) for leg in journey.legs]
    first, last = views[0], views[-1]
    return FlightOption(
        id=journey.id, flight_number=" / ".join(v.flight_number for v in views),
        airline=" / ".join(dict.fromkeys(v.airline for v in views)), origin=first.origin,
        destination=last.destination, departs_at=first.departs_at, arrives_at=last.arrives_at,
        departs_local=first.departs_local, arrives_local=last.arrives_local,
        duration_minutes=journey.duration_minutes, cabin=query.cabin, fare=journey.fare,
        total=journey.total or journey.fare, seats_left=min(v.seats_left for v in views),
        stops=journey.stops, legs=views,
        layovers=[Layover(airport=a.destination, minutes=int((b.departs_at - a.arrives_at).total_seconds() // 60))
                  for a, b in zip(views, views[1:])])


def _leg(leg: LegRow, query: FlightQuery, zones: dict, price: _Pricer) -> FlightLeg:
    fare, total = price.leg(leg)
    return FlightLeg(id=leg.id, flight_number=leg.flight_number, airline=leg.airline, origin=leg.origin,
                     destination=leg.destination, departs_at=leg.departs_at, arrives_at=leg.arrives_at,
                     departs_local=local_iso(leg.departs_at, zones[leg.origin]),
                     arrives_local=local_iso(leg.arrives_at, zones[leg.destination]),
                     duration_minutes=leg.duration_minutes, cabin=query.cabin, fare=fare, total=total,
                     seats_left=leg.seats_left)
