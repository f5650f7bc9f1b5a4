"""Journeys in the database: direct flights of a day, and flights that connect along the airport paths the
connection rules allow.

How a search finds connections (and the indexes it uses):
1. ``route`` (primary key origin, destination; index destination, origin) gives the airports X with a route
   O -> X and X -> D (for two stops, X -> Y -> D): a few index probes, no flight read.
2. The connection rules keep the paths that stay within the detour cap and visit no airport twice, and give
   each connecting airport its minimum connection time (it depends on the countries of the path).
3. One query returns the day's direct flights and the one-stop journeys (a second one the two-stop journeys):
   it walks the paths through the flight index (origin, destination, departs_at): the first legs O -> X leaving
   on the day, then for each the legs X -> D leaving between its arrival + the connection time and its arrival
   + the maximum layover, each leg joined to its cabin's seats (primary key flight_id, cabin) and kept only with
   enough seats and when no admin cancelled it (primary key of flight_cancellation).
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.catalogue import airport_facts, fares, memo
from flightbook.modules.flights.catalogue.connections import AirportFacts, ConnectionRules, distance_km
from flightbook.modules.flights.catalogue.itinerary_ids import itinerary_id
from flightbook.kernel.sql import Dialect, Statement

LEG_WIDTH = 12  # columns per leg in a journey row, in LegRow's order


class LegRow(NamedTuple):
    id: int
    flight_number: str
    airline: str
    origin: str
    destination: str
    departs_at: dt.datetime  # aware UTC
    arrives_at: dt.datetime
    duration_minutes: int
    seats_left: int
    fare: Money  # what the next seat costs (its bucket's price, or the cabin's flat fare)
    next_fares: str  # the next seats' prices ('' for a cabin priced flat); see pricing.py


class Journey(NamedTuple):
    """A journey found: its legs in flying order, and the fare of the whole by the fare rule (once priced for a
    party, its fare per adult and the party's total: fares.priced)."""
    id: str
    legs: tuple[LegRow, ...]
    fare: Money
    total: Money | None = None

    @property
    def departs_at(self) -> dt.datetime:
        return self.legs[0].departs_at

    @property
    def arrives_at(self) -> dt.datetime:
        return self.legs[-1].arrives_at

    @property
    def stops(self) -> int:
        return len(self.legs) - 1

    @property
    def duration_minutes(self) -> int:
        if len(self.legs) == 1:
            return self.legs[0].duration_minutes
        return int((self.arrives_at - self.departs_at).total_seconds() // 60)


class Path(NamedTuple):
    """Airports a journey connects at, in order, with the minimum connection time at each."""
    airports: tuple[str, ...]
    minutes: tuple[int, ...]


def leg_columns(n: int) -> str:
    f, i = f"f{n}", f"i{n}"
    return (f"{f}.id, {f}.flight_number, {f}.airline, {f}.origin, {f}.destination, {f}.departs_at, {f}.arrives_at, "
            f"{f}.duration_minutes, {i}.seats_left, {i}.fare_amount, {i}.currency, {i}.next_fares")


def seats_join(n: int, first: int = 1) -> str:
    """The cabin's seats of leg ``n`` with enough left, priced in the first leg's currency, on a flight no admin
    cancelled (an anti-join to the few rows of ``flight_cancellation`` by its primary key: booking it would be
    refused, and the cancellation's own table stays the one record of it)."""
    same_currency = f" AND i{n}.currency = i{first}.currency" if n != first else ""
    return (f"JOIN seat_inventory i{n} ON i{n}.flight_id = f{n}.id AND i{n}.cabin = {{cabin}} "
            f"AND i{n}.seats_left >= {{passengers}}{same_currency} "
            f"AND NOT EXISTS (SELECT 1 FROM flight_cancellation c{n} WHERE c{n}.flight_id = f{n}.id)")


def path_table(d: Dialect, stops: int) -> str:
    columns: dict[str, str] = {}
    for k in range(1, stops + 1):
        columns[f"a{k}"] = "text"
        columns[f"m{k}"] = "int"
    return d.rows_of("paths", columns)


def onward_legs(d: Dialect, stops: int) -> str:
    """Joins of legs 2 .. stops + 1, each leaving the previous one's arrival airport within the layover rules.
    Its departure's bounds are the index range scanned for it; the lower bound is said twice, with the path's
    connection time and with the shortest of them all (``least_connection``): PostgreSQL scans a third leg from
    the second (it does not reach the path's time there), and this keeps the scan within minutes of the first."""
    joins = []
    for k in range(1, stops + 1):
        to = f"p.a{k + 1}" if k < stops else "{destination}"
        leaves = f"f{k + 1}.departs_at"
        joins.append(
            f"JOIN flight f{k + 1} ON f{k + 1}.origin = p.a{k} AND f{k + 1}.destination = {to} "
            f"AND {leaves} >= {d.plus_minutes(f'f{k}.arrives_at', f'p.m{k}')} "
            f"AND {leaves} >= {d.plus_minutes(f'f{k}.arrives_at', '{least_connection}')} "
            f"AND {leaves} <= {d.plus_minutes(f'f{k}.arrives_at', '{max_layover}')}\n"
            f"{seats_join(k + 1)}")
    return "\n".join(joins)


def _direct(d: Dialect) -> str:
    return f"""SELECT {leg_columns(1)}
FROM flight f1 {seats_join(1)}
WHERE f1.origin = {{origin}} AND f1.destination = {{destination}} AND f1.departs_at >= {{start}}
  AND f1.departs_at < {{end}}"""


def _connections(d: Dialect, stops: int) -> str:
    """The journeys with ``stops`` connections along the paths of table ``p``."""
    return f"""SELECT {', '.join(leg_columns(n) for n in range(1, stops + 2))}
FROM p JOIN flight f1 ON f1.origin = {{origin}} AND f1.destination = p.a1 AND f1.departs_at >= {{start}}
  AND f1.departs_at < {{end}}
{seats_join(1)}
{onward_legs(d, stops)}"""


def _two_stops(d: Dialect) -> str:
    return f"WITH p AS ({path_table(d, 2)})\n{_connections(d, 2)}"


def _direct_or_one_stop(d: Dialect) -> str:
    # one round trip for the default search: the direct flights (their second leg's columns empty), then the
    # connections
    return f"""WITH p AS ({path_table(d, 1)})
{_direct(d).replace(leg_columns(1), leg_columns(1) + ", NULL" * LEG_WIDTH, 1)}
UNION ALL
{_connections(d, 1)}"""


DIRECT = Statement("journeys_direct", _direct)
DIRECT_OR_ONE_STOP = Statement("journeys_direct_or_1_stop", _direct_or_one_stop)
TWO_STOPS = Statement("journeys_2_stop", _two_stops)

_ONE_STOP_ROUTES = """SELECT a.destination FROM route a JOIN route b ON b.origin = a.destination
WHERE a.origin = {origin} AND b.destination = {destination}"""
_TWO_STOP_ROUTES = """SELECT a.destination, b.destination FROM route a
JOIN route b ON b.origin = a.destination JOIN route c ON c.origin = b.destination
WHERE a.origin = {origin} AND c.destination = {destination} AND a.destination <> {destination}
  AND b.destination <> {origin}"""
ROUTES = {1: Statement("routes_1_stop", lambda d: _ONE_STOP_ROUTES),
          2: Statement("routes_2_stop", lambda d: _TWO_STOP_ROUTES)}


#: two-stop journeys are searched along this many of the shortest allowed paths (a hub-to-hub trip has hundreds)
MAX_TWO_STOP_PATHS = 100


def paths(database, origin: AirportFacts, destination: AirportFacts, stops: int,
          rules: ConnectionRules) -> list[Path]:
    """The airport paths with ``stops`` connections the rules allow from origin to destination, shortest first
    (kept in memory a while: routes change only by an import)."""
    key = ("paths", origin, destination, stops, rules)
    found = memo.recall(database, key)
    if found is None:
        found = _allowed_paths(database, origin, destination, stops, rules)
        memo.keep(database, key, found)
    return found


def _allowed_paths(database, origin: AirportFacts, destination: AirportFacts, stops: int,
                   rules: ConnectionRules) -> list[Path]:
    # the route queries visit no airport twice (a route never ends where it starts, and they leave out the rest);
    # the detour cap is checked here
    found = ROUTES[stops].rows(database, origin=origin.iata, destination=destination.iata)
    facts = airport_facts.facts_for(database, {code for row in found for code in row})
    limit = rules.max_flown_km(origin, destination)
    # from the origin to each station and on to the destination: no path through a station can fly less
    out = {code: distance_km(origin, f) for code, f in facts.items()}
    back = {code: distance_km(f, destination) for code, f in facts.items()}
    allowed = []
    for row in found:
        if any(code not in facts or out[code] + back[code] > limit for code in row):
            continue  # a route to an airport no longer known, or a station too far out of the way
        flown = out[row[0]] + sum(distance_km(facts[a], facts[b]) for a, b in zip(row, row[1:])) + back[row[-1]]
        if flown <= limit:
            stations = [origin, *(facts[code] for code in row), destination]
            minutes = tuple(rules.min_connection_minutes(a, b, c)
                            for a, b, c in zip(stations, stations[1:], stations[2:]))
            allowed.append((flown, Path(tuple(row), minutes)))
    allowed.sort(key=lambda pair: pair[0])
    return [path for _, path in allowed[:MAX_TWO_STOP_PATHS if stops == 2 else None]]


def paths_params(found: list[Path], rules: ConnectionRules) -> dict:
    """The paths as the queries' ``paths`` table (one row a1, m1[, a2, m2] per path) and the layover bounds."""
    return {"paths": [[v for pair in zip(p.airports, p.minutes) for v in pair] for p in found],
            "least_connection": min((m for p in found for m in p.minutes), default=0),
            "max_layover": rules.max_layover_minutes}


def journeys_on(database, origin: AirportFacts, destination: AirportFacts, start: dt.datetime, end: dt.datetime,
                cabin: str, passengers: int, max_stops: int, rules: ConnectionRules) -> list[Journey]:
    """Every journey with up to ``max_stops`` connections whose first flight leaves in [start, end) and whose
    every flight has ``passengers`` free seats in ``cabin``."""
    window = dict(origin=origin.iata, destination=destination.iata, start=clock.to_db(start), end=clock.to_db(end),
                  cabin=cabin, passengers=passengers)
    if max_stops == 0:
        rows = DIRECT.rows(database, **window)
    else:
        rows = DIRECT_OR_ONE_STOP.rows(database, **paths_params(paths(database, origin, destination, 1, rules), rules),
                                       **window)
    if max_stops == 2 and (two_stop_paths := paths(database, origin, destination, 2, rules)):
        rows += TWO_STOPS.rows(database, **paths_params(two_stop_paths, rules), **window)
    return [journey for row in rows if (journey := _journey(row)) is not None]


def _journey(row) -> Journey | None:
    legs = tuple(_leg(row[k:k + LEG_WIDTH]) for k in range(0, len(row), LEG_WIDTH) if row[k] is not None)
    try:
        fare = fares.journey_fare([leg.fare for leg in legs])
    except fares.MixedCurrencies:  # the query keeps one currency already; this is the rule's own word
        return None
    return Journey(itinerary_id(leg.id for leg in legs), legs, fare)


def _leg(columns) -> LegRow:
    (flight_id, number, airline, origin, destination, departs, arrives, minutes, seats_left, amount, currency,
     next_fares) = columns
    return LegRow(flight_id, number, airline, origin, destination, clock.from_db(departs), clock.from_db(arrives),
                  minutes, seats_left, Money(int(amount), currency), next_fares)
