"""Test data for the contract suites, made through the in-process parts on the suite's databases (so both
adapters under test see it): travellers with real tokens, flights with seats, HELD bookings, cards."""
from __future__ import annotations

import datetime as dt
import itertools
import uuid

from flightbook.contracts.flights import BookingView, Registration
from flightbook.contracts.payments import CardInput
from flightbook.kernel.auth import Principal
from flightbook.kernel.data import to_dict
from tests.flights.builders import add_airports, add_flight, booking_request

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
PASSWORD = "a-long-password"
_keys = itertools.count(1)


def registration(**overrides) -> Registration:
    name = overrides.pop("username", f"u{uuid.uuid4().hex[:10]}")
    data = dict(username=name, email=f"{name}@example.com", password=PASSWORD, first_name="Ada",
                last_name="Lovelace")
    data.update(overrides)
    return Registration(**data)


def traveller(system) -> Principal:
    """A newly registered traveller, signed in: their Principal carries the token an HTTP adapter passes on."""
    flights = system.contracts["flights"]
    user = flights.register(registration())
    return system.tokens.verify(flights.login(user.username, PASSWORD).token)


def service(system, caller: str = "gateway", audience: str = "payments") -> Principal:
    return system.tokens.verify(system.tokens.issue_service_token(caller, audience))


def held_booking(system, caller: Principal, fare: int = 25000, passengers: int = 1,
                 currency: str = "USD") -> BookingView:
    add_airports("LHR", "JFK")
    flight = add_flight(cabins={"economy": (50, fare)}, currency=currency)
    return system.contracts["flights"].book(caller, booking_request(flight.id, passengers))


def card(number: str = GOOD_CARD, **overrides) -> CardInput:
    fields = dict(number=number, exp_month=12, exp_year=dt.date.today().year + 3, cvc="123",
                  holder_name="Ada Lovelace")
    fields.update(overrides)
    return CardInput(**fields)


def new_key() -> str:
    return f"contract-{uuid.uuid4().hex[:8]}-{next(_keys)}"


def same(a, b) -> bool:
    """Equal as they cross a boundary: the in-process adapter hands out times with microseconds, while
    the wire (and an idempotent replay, which is stored as JSON) carries whole seconds."""
    return to_dict(a) == to_dict(b)
