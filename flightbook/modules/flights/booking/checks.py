"""Checking a booking request before any seat is taken: passengers, the journeys' flights (that they connect,
by the search's connection rules), cabin, the way back."""
from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, replace
from typing import Callable, NamedTuple

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, BookingRequest, Direction, FlightDeparted,
                                          FlightCancelled, FlightNotFound, InvalidItinerary, PassengerInput,
                                          PassengerType, SeatsUnavailable)
from flightbook.kernel import clock, validate
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Dialect, Statement
from flightbook.modules.flights.catalogue import airport_facts, fares, itinerary_ids, places, pricing
from flightbook.modules.flights.catalogue.connections import ConnectionRules, TimedLeg
from flightbook.modules.flights.catalogue.schedules import zone

_MAX_ID = 2 ** 63 - 1
_OLDEST_BIRTH_DATE = dt.date(1900, 1, 1)


class FlightRow(NamedTuple):
    """A flight as a booking reads it (times aware UTC): a plain row, no model instance."""
    id: int
    flight_number: str
    airline: str
    origin: str
    destination: str
    departs_at: dt.datetime
    arrives_at: dt.datetime
    duration_minutes: int
    service_date: dt.date  # the origin's local date of departure


class _Sold(NamedTuple):
    seats_left: int
    fare_amount: int
    currency: str
    buckets: str  # '' for a cabin priced flat
    next_fares: str  # the next seats' prices kept ('' priced flat)


def _read_legs(d: Dialect) -> str:
    return f"""SELECT f.id, f.flight_number, f.airline, f.origin, f.destination, f.departs_at, f.arrives_at,
f.duration_minutes, f.service_date, c.flight_id IS NOT NULL, i.seats_left, i.fare_amount, i.currency, i.buckets,
i.next_fares
FROM flight f LEFT JOIN seat_inventory i ON i.flight_id = f.id AND i.cabin = {{cabin}}
LEFT JOIN flight_cancellation c ON c.flight_id = f.id
WHERE f.id IN (SELECT id FROM ({d.rows_of("ids", {"id": "bigint"})}) AS wanted)"""


#: the requested flights, whether an admin cancelled them, and their inventory in the cabin, in one round trip (a
#: journey has at most 6 legs)
READ_LEGS = Statement("hold_read_legs", _read_legs)


@dataclass(frozen=True)
class Leg:
    """A flight of a booking request, checked bookable in the requested cabin."""
    flight: FlightRow
    direction: Direction
    cabin: str
    fare: Money  # per passenger
    seats_left: int
    field: str = "outbound_id"  # the request's field that named its journey
    position: int = 1  # its place in that journey, from 1
    buckets: str = ""  # the cabin's fare buckets as read ('' priced flat); the seats UPDATE decides what is sold
    next_fares: str = ""  # the next seats' prices kept, as read (how many: whether a sale may drop from them)


def seats_unavailable(leg: Leg, wanted: int, seats_left: int) -> SeatsUnavailable:
    """The whole journey is off: this leg (named, with its place in the journey) lacks seats."""
    f = leg.flight
    return SeatsUnavailable(
        f"flight {f.flight_number} ({f.origin}-{f.destination}, leg {leg.position} of {leg.field}) has "
        f"{seats_left} {leg.cabin} seat(s) left, {wanted} wanted",
        flight_id=f.id, flight_number=f.flight_number, origin=f.origin, destination=f.destination,
        field=leg.field, leg=leg.position, cabin=leg.cabin, seats_left=seats_left, requested=wanted)


def valid_passengers(passengers, today: dt.date) -> list[PassengerInput]:
    """Names, dates of birth and declared types; how many take seats is checked once their types are known
    (``typed_passengers``)."""
    if not isinstance(passengers, (list, tuple)) or not 1 <= len(passengers) <= 2 * MAX_PASSENGERS:
        count = len(passengers) if isinstance(passengers, (list, tuple)) else "no"
        raise ValidationError("passengers", f"a booking is for 1 to {MAX_PASSENGERS} passengers taking seats "
                                            f"(and an infant per adult), not {count}")
    return [valid_passenger(p, f"passengers[{i}]", today) for i, p in enumerate(passengers)]


def valid_passenger(p: PassengerInput, field: str, today: dt.date) -> PassengerInput:
    kind = getattr(p, "type", None)
    if kind is not None and kind not in set(PassengerType):
        raise ValidationError(f"{field}.type", f"must be one of {', '.join(PassengerType)}")
    return PassengerInput(
        first_name=_name(getattr(p, "first_name", None), f"{field}.first_name"),
        last_name=_name(getattr(p, "last_name", None), f"{field}.last_name"),
        date_of_birth=valid_birth_date(getattr(p, "date_of_birth", None), f"{field}.date_of_birth", today),
        gender=_text(getattr(p, "gender", None), f"{field}.gender", max_len=10, required=False),
        type=PassengerType(kind) if kind is not None else None,
    )


def typed_passengers(passengers: list[PassengerInput], last_day: dt.date) -> list[PassengerInput]:
    """Each passenger with the type their date of birth gives on ``last_day`` (the last flight's date); a declared
    type must be that one. Then the party: an adult at least, at most MAX_PASSENGERS seats, an adult's lap per
    infant."""
    typed = []
    for i, p in enumerate(passengers):
        actual = pricing.passenger_type(p.date_of_birth, last_day)
        if p.type is not None and p.type != actual:
            raise ValidationError(
                f"passengers[{i}].date_of_birth",
                f"{p.first_name} {p.last_name} (passenger {i + 1}) is booked as {pricing.WITH_ARTICLE[p.type]} "
                f"but, born {p.date_of_birth.isoformat()}, is {pricing.WITH_ARTICLE[actual]} on "
                f"{last_day.isoformat()}, the day of the last flight ({pricing.AGE_RULES[p.type]} that day)",
                passenger=i, rule=str(p.type))
        typed.append(replace(p, type=actual))
    kinds = [p.type for p in typed]
    party = pricing.Party(kinds.count(PassengerType.ADULT), kinds.count(PassengerType.CHILD),
                          kinds.count(PassengerType.INFANT))
    counted = f"this booking has {party.adults} adult(s), {party.children} child(ren), {party.infants} infant(s)"
    if party.adults == 0:
        raise ValidationError("passengers", f"an adult (12 or older on the day of the last flight) must travel; "
                                            f"{counted}")
    if party.seated > MAX_PASSENGERS:
        raise ValidationError("passengers", f"at most {MAX_PASSENGERS} passengers take seats (adults and "
                                            f"children); {counted}")
    if party.infants > party.adults:
        raise ValidationError("passengers", f"an infant travels on an adult's lap, one per adult; {counted}")
    return typed


def check_seats(legs: list[Leg], wanted: int) -> None:
    """An early no for a leg without the seats; the conditional UPDATE is what really decides."""
    for leg in legs:
        if leg.seats_left < wanted:
            raise seats_unavailable(leg, wanted, leg.seats_left)


def valid_birth_date(value, field: str, today: dt.date) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(field, "is required (YYYY-MM-DD)")
    if value > today:
        raise ValidationError(field, f"{value.isoformat()} is in the future")
    if value < _OLDEST_BIRTH_DATE:
        raise ValidationError(field, f"{value.isoformat()} is not a plausible date of birth")
    return value


def _name(value, field: str) -> str:
    return validate.text({field: value}, field, max_len=100)


def _text(value, field: str, *, max_len: int, required: bool = True) -> str | None:
    return validate.text({field: value}, field, max_len=max_len, required=required)


def bookable_legs(database, request: BookingRequest, now: dt.datetime, connections: ConnectionRules) -> list[Leg]:
    """The legs of the requested journey (and of the way back), outbound first, each in flying order: checked
    to exist, connect by the connection rules, not to have left, and to sell the cabin (seats: ``check_seats``)."""
    cabin = request.cabin.strip().lower() if isinstance(request.cabin, str) else request.cabin
    if cabin not in CABINS:
        raise ValidationError("cabin", f"must be one of {', '.join(CABINS)}")
    wanted = [(Direction.OUTBOUND, *_requested(request, "outbound", required=True))]
    back = _requested(request, "return", required=False)
    if back[1]:
        wanted.append((Direction.RETURN, *back))
    ids = [flight_id for _, _, flight_ids in wanted for flight_id in flight_ids]
    if len(set(ids)) != len(ids):
        raise InvalidItinerary(wanted[-1][1], "names a flight the outbound journey takes already")
    flights, inventory, cancelled = {}, {}, []
    for row in READ_LEGS.rows(database, cabin=cabin, ids=[[flight_id] for flight_id in ids]):
        flight_id, number, airline, origin, destination, departs_at, arrives_at, minutes, day = row[:9]
        flight = FlightRow(flight_id, number, airline, origin, destination, clock.from_db(departs_at),
                           clock.from_db(arrives_at), minutes, _date(day))
        flights[flight.id] = flight
        if row[9]:
            cancelled.append(flight.id)
        if row[10] is not None:
            inventory[flight.id] = _Sold(*row[10:])
    journeys = [_journey(database, direction, field, flight_ids, flights, inventory, cabin, now, connections)
                for direction, field, flight_ids in wanted]
    if len(journeys) == 2:
        check_return(journeys[0], journeys[1], lambda a, b: places.same_place(database, a, b))
    if cancelled:  # an admin cancelled it (admin console): read with the legs, so a hold gains no round trip
        flight_id = next(flight_id for flight_id in ids if flight_id in cancelled)
        raise FlightCancelled(f"flight {flight_id} was cancelled: it cannot be booked", flight_id=flight_id)
    return [leg for journey in journeys for leg in journey]


def _requested(request: BookingRequest, which: str, required: bool) -> tuple[str, list[int]]:
    """(the field that names the journey, its flight ids in flying order); no ids when none is asked for."""
    itinerary, flight = getattr(request, f"{which}_id"), getattr(request, f"{which}_flight_id")
    if itinerary is not None and flight is not None:
        raise ValidationError(f"{which}_id", f"give {which}_id or {which}_flight_id, not both")
    if itinerary is not None:
        return f"{which}_id", itinerary_ids.flight_ids(itinerary, f"{which}_id")
    if flight is not None:
        if isinstance(flight, bool) or not isinstance(flight, int) or not 1 <= flight <= _MAX_ID:
            raise ValidationError(f"{which}_flight_id", "must be a flight id (a positive whole number)")
        return f"{which}_flight_id", [flight]
    if required:
        raise ValidationError(f"{which}_id", "is required: the id of an option from search")
    return f"{which}_id", []


def _journey(database, direction: Direction, field: str, flight_ids: list[int], flights: dict, inventory: dict,
             cabin: str, now: dt.datetime, connections: ConnectionRules) -> list[Leg]:
    for flight_id in flight_ids:
        if flight_id not in flights:
            if field.endswith("_flight_id"):
                raise FlightNotFound(f"{field}: no flight {flight_id}", field=field, flight_id=flight_id)
            raise InvalidItinerary(field, f"names flight {flight_id}, which does not exist")
    legs = [flights[flight_id] for flight_id in flight_ids]
    if len(legs) > 1:
        _check_connections(database, field, legs, connections)
    if legs[0].departs_at <= now:
        raise FlightDeparted(f"{field}: flight {legs[0].flight_number} has already departed",
                             field=field, flight_id=legs[0].id)
    journey = []
    for position, flight in enumerate(legs, 1):
        sold = inventory.get(flight.id)
        if sold is None:
            raise ValidationError("cabin", f"{cabin} is not sold on flight {flight.flight_number}", flight_id=flight.id)
        journey.append(Leg(flight, direction, cabin, Money(sold.fare_amount, sold.currency), sold.seats_left,
                           field, position, sold.buckets, sold.next_fares))
    return journey


def _check_connections(database, field: str, legs: list[FlightRow], connections: ConnectionRules) -> None:
    timed = [TimedLeg(f.origin, f.destination, f.departs_at, f.arrives_at, f.flight_number) for f in legs]
    facts = airport_facts.facts_for(database, {code for f in legs for code in (f.origin, f.destination)})
    problem = connections.connection_problem(timed, facts)
    if problem is not None:
        raise InvalidItinerary(field, f"these flights do not make a journey: {problem}")


def check_return(outbound: list[Leg], back: list[Leg],
                 is_same_place: Callable[[str, str], bool] = operator.eq) -> None:
    """The way back flies from where the outbound lands to where it left: the same airports, or (by
    ``is_same_place``) another airport of the same city (out to Heathrow, back from Gatwick)."""
    there, home = outbound[-1].flight, back[0].flight
    field = back[0].field
    start, end = outbound[0].flight.origin, outbound[-1].flight.destination
    if not (is_same_place(back[0].flight.origin, end) and is_same_place(back[-1].flight.destination, start)):
        raise ValidationError(field, f"must fly {end} to {start}, not {back[0].flight.origin} to "
                                     f"{back[-1].flight.destination}")
    if home.departs_at <= there.arrives_at:
        raise ValidationError(field, f"must depart after the outbound flight arrives ({clock.iso(there.arrives_at)})")


def booking_currency(legs: list[Leg]) -> str:
    """The one currency every leg is priced in."""
    try:
        return fares.journey_fare([leg.fare for leg in legs]).currency
    except fares.MixedCurrencies:
        field = next(leg.field for leg in legs if leg.fare.currency != legs[0].fare.currency)
        raise ValidationError(field, "is priced in another currency than the rest of the journey; book the "
                                     "flights separately") from None


def days_before(database, legs: list[Leg], now: dt.datetime) -> list[int]:
    """For each leg, the advance-purchase rule's count: days from today at its journey's origin to that journey's
    first (local) date, as search counts them for the outbound and the return journeys."""
    firsts: dict[Direction, FlightRow] = {}
    for leg in legs:
        firsts.setdefault(leg.direction, leg.flight)
    facts = airport_facts.facts_for(database, {f.origin for f in firsts.values()})
    ahead = {}
    for direction, first in firsts.items():
        tz = facts[first.origin].tz if first.origin in facts else "UTC"
        ahead[direction] = (first.service_date - now.astimezone(zone(tz)).date()).days
    return [ahead[leg.direction] for leg in legs]


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def valid_expected_total(value, currency: str) -> Money | None:
    if value is None:
        return None
    if not isinstance(value, Money) or value.currency != currency or value.amount < 0:
        raise ValidationError("expected_total", f"must be the total search showed: an amount in {currency}")
    return value
