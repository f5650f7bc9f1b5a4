"""Checking a booking request before any seat is taken: passengers, flights, cabin, the return leg."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, BookingRequest, Direction, FlightDeparted,
                                          FlightNotFound, PassengerInput, SeatsUnavailable)
from flightbook.kernel import clock, validate
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.flights.models import Flight, SeatInventory

_MAX_ID = 2 ** 63 - 1
_OLDEST_BIRTH_DATE = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Leg:
    """A flight of a booking request, checked bookable in the requested cabin."""
    flight: Flight
    direction: Direction
    cabin: str
    fare: Money  # per passenger
    seats_left: int


def seats_unavailable(leg: Leg, wanted: int, seats_left: int) -> SeatsUnavailable:
    return SeatsUnavailable(
        f"flight {leg.flight.flight_number} has {seats_left} {leg.cabin} seat(s) left, {wanted} wanted",
        flight_id=leg.flight.id, cabin=leg.cabin, seats_left=seats_left, requested=wanted)


def valid_passengers(passengers, today: dt.date) -> list[PassengerInput]:
    if not isinstance(passengers, (list, tuple)) or not 1 <= len(passengers) <= MAX_PASSENGERS:
        count = len(passengers) if isinstance(passengers, (list, tuple)) else "no"
        raise ValidationError("passengers", f"a booking is for 1 to {MAX_PASSENGERS} passengers, not {count}")
    return [valid_passenger(p, f"passengers[{i}]", today) for i, p in enumerate(passengers)]


def valid_passenger(p: PassengerInput, field: str, today: dt.date) -> PassengerInput:
    return PassengerInput(
        first_name=_name(getattr(p, "first_name", None), f"{field}.first_name"),
        last_name=_name(getattr(p, "last_name", None), f"{field}.last_name"),
        date_of_birth=valid_birth_date(getattr(p, "date_of_birth", None), f"{field}.date_of_birth", today),
        gender=_text(getattr(p, "gender", None), f"{field}.gender", max_len=10, required=False),
    )


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


def bookable_legs(request: BookingRequest, n: int, now: dt.datetime) -> list[Leg]:
    cabin = request.cabin.strip().lower() if isinstance(request.cabin, str) else request.cabin
    if cabin not in CABINS:
        raise ValidationError("cabin", f"must be one of {', '.join(CABINS)}")
    legs = [_bookable_leg(request.outbound_flight_id, "outbound_flight_id", Direction.OUTBOUND, cabin, n, now)]
    if request.return_flight_id is not None:
        legs.append(_bookable_leg(request.return_flight_id, "return_flight_id", Direction.RETURN, cabin, n, now))
        check_return(legs[0].flight, legs[1].flight)
    return legs


def _bookable_leg(flight_id, field: str, direction: Direction, cabin: str, n: int, now: dt.datetime) -> Leg:
    if isinstance(flight_id, bool) or not isinstance(flight_id, int) or not 1 <= flight_id <= _MAX_ID:
        raise ValidationError(field, "must be a flight id (a positive whole number)")
    flight = Flight.get_or_none(Flight.id == flight_id)
    if flight is None:
        raise FlightNotFound(f"{field}: no flight {flight_id}", field=field, flight_id=flight_id)
    if clock.from_db(flight.departs_at) <= now:
        raise FlightDeparted(f"{field}: flight {flight.flight_number} has already departed",
                             field=field, flight_id=flight_id)
    inventory = SeatInventory.get_or_none((SeatInventory.flight == flight_id) & (SeatInventory.cabin == cabin))
    if inventory is None:
        raise ValidationError("cabin", f"{cabin} is not sold on flight {flight.flight_number}", flight_id=flight_id)
    leg = Leg(flight, direction, cabin, Money(inventory.fare_amount, inventory.currency), inventory.seats_left)
    if inventory.seats_left < n:  # an early no; the conditional UPDATE is what really decides
        raise seats_unavailable(leg, n, inventory.seats_left)
    return leg


def check_return(outbound: Flight, back: Flight) -> None:
    if back.id == outbound.id:
        raise ValidationError("return_flight_id", "must be a different flight from the outbound one")
    if (back.origin, back.destination) != (outbound.destination, outbound.origin):
        raise ValidationError("return_flight_id", f"must fly {outbound.destination} to {outbound.origin}, "
                                                  f"not {back.origin} to {back.destination}")
    if clock.from_db(back.departs_at) <= clock.from_db(outbound.arrives_at):
        raise ValidationError("return_flight_id", f"must depart after the outbound flight arrives "
                                                  f"({clock.iso(clock.from_db(outbound.arrives_at))})")


def booking_total(legs: list[Leg], n: int) -> Money:
    currencies = {leg.fare.currency for leg in legs}
    if len(currencies) > 1:
        raise ValidationError("return_flight_id", "is priced in another currency than the outbound flight; "
                                                  "book the two flights separately")
    return Money(sum(leg.fare.amount for leg in legs) * n, legs[0].fare.currency)
