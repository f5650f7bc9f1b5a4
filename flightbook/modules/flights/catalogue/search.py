"""Flight search: options between two airports on the origin's local date, with enough seats in a cabin."""
from __future__ import annotations

import datetime as dt
import functools
import time
import weakref

from flightbook.contracts.flights import CABINS, MAX_PASSENGERS, FlightOption, FlightQuery, SearchResult
from flightbook.kernel import clock
from flightbook.kernel.db import is_postgres
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue.schedules import local_iso, zone
from flightbook.modules.flights.models import Airport

SORTS = ("price", "departure", "duration")


# Known airports' time zones per database, kept ZONE_TTL_SECONDS: airports change only by import-airports
# (usually another process), so a changed zone shows within that time; an unknown code always asks the database.
ZONE_TTL_SECONDS = 60.0
_known_zones: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _zones(database, query: FlightQuery) -> dict:
    """The time zone of each airport of the query; ValidationError naming the unknown one."""
    cache = _known_zones.setdefault(database.obj, {})
    now = time.monotonic()
    zones = {code: cache[code][0] for code in (query.origin, query.destination)
             if code in cache and cache[code][1] > now}
    missing = [code for code in (query.origin, query.destination) if code not in zones]
    if missing:
        found: dict[str, str] = dict(Airport.select(Airport.iata, Airport.tz)  # type: ignore[arg-type]
                                     .where(Airport.iata.in_(missing)).tuples())
        cache.update((code, (tz, now + ZONE_TTL_SECONDS)) for code, tz in found.items())
        zones.update(found)
    for field in ("origin", "destination"):
        if getattr(query, field) not in zones:
            raise ValidationError(field, f"unknown airport {getattr(query, field)!r}")
    return zones


def validate_query(database, query: FlightQuery) -> dict:
    """Check a query against the rules; returns the airports' time zones."""
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
    if query.sort not in SORTS:
        raise ValidationError("sort", f"must be one of {', '.join(SORTS)}")
    for field in ("date", "return_date"):
        value = getattr(query, field)
        if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
            raise ValidationError(field, "must be a date YYYY-MM-DD")
    zones = _zones(database, query)
    if query.date < clock.now().astimezone(zone(zones[query.origin])).date():
        raise ValidationError("date", f"{query.date} is in the past at {query.origin}")
    if query.return_date is not None and query.return_date < query.date:
        raise ValidationError("return_date", "must not be before the outbound date")
    return zones


def local_day_window(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants [start, end) of a local calendar day (23 or 25 hours long on DST change days)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone(tz)).astimezone(clock.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone(tz)).astimezone(clock.UTC)
    return start, end


_ORDER = {
    "price": "i.fare_amount, f.departs_at, f.id",
    "departure": "f.departs_at, i.fare_amount, f.id",
    "duration": "f.duration_minutes, f.departs_at, f.id",
}
# Written once as SQL rather than built per request: building the query was most of a search's Python time.
# The (origin, destination, departs_at) index finds the day's flights; the cabin's inventory is joined by key.
_OPTIONS = """SELECT f.id, f.flight_number, f.airline, f.departs_at, f.arrives_at, f.duration_minutes,
       i.seats_left, i.fare_amount, i.currency
FROM flight f JOIN seat_inventory i ON i.flight_id = f.id AND i.cabin = {p}
WHERE f.origin = {p} AND f.destination = {p} AND f.departs_at >= {p} AND f.departs_at < {p} AND i.seats_left >= {p}
ORDER BY {order}"""


@functools.lru_cache(maxsize=None)
def _options_sql(sort: str, param: str) -> str:
    sql = _OPTIONS.replace("{order}", _ORDER[sort])
    if param != "$":
        return sql.replace("{p}", param)
    parts = sql.split("{p}")  # PREPARE numbers its parameters: $1, $2, ...
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, 1))


# PostgreSQL: each connection prepares the query once per sort order (PREPARE lives as long as the connection),
# so a search is one EXECUTE round trip without parsing or, once the plan is cached, planning.
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # psycopg2 connection -> sorts prepared


def _options(database, sort: str, params: tuple) -> list:
    if not is_postgres(database):
        return database.execute_sql(_options_sql(sort, database.param), params).fetchall()
    prepared = _prepared_on.setdefault(database.connection(), set())
    if sort not in prepared:
        database.execute_sql(f"PREPARE flight_options_{sort} AS {_options_sql(sort, '$')}")
        prepared.add(sort)
    return database.execute_sql(f"EXECUTE flight_options_{sort} (%s, %s, %s, %s, %s, %s)", params).fetchall()


def flights_on(database, origin: str, destination: str, day: dt.date, query: FlightQuery,
               zones: dict) -> list[FlightOption]:
    """The day's flights from origin to destination with enough seats in the cabin, in the query's order."""
    start, end = local_day_window(day, zones[origin])
    rows = _options(database, query.sort, (query.cabin, origin, destination, clock.to_db(start), clock.to_db(end),
                                 query.passengers))
    return [_option(row, origin, destination, query, zones) for row in rows]


def _option(row, origin, destination, query, zones) -> FlightOption:
    flight_id, number, airline, departs, arrives, minutes, seats_left, fare_amount, currency = row
    departs_at, arrives_at = clock.from_db(departs), clock.from_db(arrives)
    fare = Money(int(fare_amount), currency)
    return FlightOption(id=flight_id, flight_number=number, airline=airline, origin=origin, destination=destination,
                        departs_at=departs_at, arrives_at=arrives_at,
                        departs_local=local_iso(departs_at, zones[origin]),
                        arrives_local=local_iso(arrives_at, zones[destination]),
                        duration_minutes=minutes, cabin=query.cabin, fare=fare, total=fare.times(query.passengers),
                        seats_left=seats_left)


def search_flights(uow: UnitOfWork, query: FlightQuery) -> SearchResult:
    database = uow.database
    zones = validate_query(database, query)
    outbound = flights_on(database, query.origin, query.destination, query.date, query, zones)
    inbound = ([] if query.return_date is None
               else flights_on(database, query.destination, query.origin, query.return_date, query, zones))
    return SearchResult(outbound=outbound, inbound=inbound)
