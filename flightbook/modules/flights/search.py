"""Flight search: options between two airports on the origin's local date, with enough seats in a cabin."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import CABINS, MAX_PASSENGERS, FlightOption, FlightQuery, SearchResult
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.flights.models import Airport, Flight, SeatInventory
from flightbook.modules.flights.schedules import local_iso, zone

SORTS = ("price", "departure", "duration")


def _zones(query: FlightQuery) -> dict:
    """The time zone of each airport of the query; ValidationError naming the unknown one."""
    codes = {query.origin, query.destination}
    zones = dict(Airport.select(Airport.iata, Airport.tz).where(Airport.iata.in_(list(codes))).tuples())
    for field in ("origin", "destination"):
        if getattr(query, field) not in zones:
            raise ValidationError(field, f"unknown airport {getattr(query, field)!r}")
    return zones


def validate_query(query: FlightQuery) -> dict:
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
    zones = _zones(query)
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
    "price": (SeatInventory.fare_amount, Flight.departs_at, Flight.id),
    "departure": (Flight.departs_at, SeatInventory.fare_amount, Flight.id),
    "duration": (Flight.duration_minutes, Flight.departs_at, Flight.id),
}


def flights_on(origin: str, destination: str, day: dt.date, query: FlightQuery, zones: dict) -> list[FlightOption]:
    """One indexed query (origin, destination, departs_at) joined to the cabin's inventory."""
    start, end = local_day_window(day, zones[origin])
    rows = (Flight.select(Flight.id, Flight.flight_number, Flight.airline, Flight.departs_at, Flight.arrives_at,
                          Flight.duration_minutes, SeatInventory.seats_left, SeatInventory.fare_amount,
                          SeatInventory.currency)
            .join(SeatInventory, on=(SeatInventory.flight == Flight.id))
            .where((Flight.origin == origin) & (Flight.destination == destination)
                   & (Flight.departs_at >= clock.to_db(start)) & (Flight.departs_at < clock.to_db(end))
                   & (SeatInventory.cabin == query.cabin) & (SeatInventory.seats_left >= query.passengers))
            .order_by(*_ORDER[query.sort])
            .tuples())
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


def search_flights(query: FlightQuery) -> SearchResult:
    zones = validate_query(query)
    outbound = flights_on(query.origin, query.destination, query.date, query, zones)
    inbound = ([] if query.return_date is None
               else flights_on(query.destination, query.origin, query.return_date, query, zones))
    return SearchResult(outbound=outbound, inbound=inbound)
