"""Writing a new booking in as few round trips as each backend allows: on PostgreSQL the booking, its legs and
its passengers are one prepared statement (data-modifying CTEs: the legs and passengers are written only when
the booking row was, so a taken ref writes nothing); SQLite, which has no such CTEs, runs the three INSERTs."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from flightbook.contracts.flights import PassengerInput
from flightbook.kernel import clock
from flightbook.kernel.db import is_postgres
from flightbook.kernel.sql import Dialect, Statement
from flightbook.modules.flights.booking.checks import Leg


class NewBooking(NamedTuple):
    """A booking about to be written (times aware UTC)."""
    user_id: int
    status: str
    cabin: str
    contact_email: str
    total_amount: int
    currency: str
    hold_expires_at: dt.datetime
    created_at: dt.datetime


_BOOKING = """INSERT INTO booking (ref, user_id, status, cabin, contact_email, total_amount, currency, hold_expires_at,
created_at) VALUES ({ref}, {user_id}, {status}, {cabin}, {contact_email}, {total_amount}, {currency},
{hold_expires_at}, {created_at}) ON CONFLICT (ref) DO NOTHING RETURNING ref"""
_LEG_COLUMNS = {"flight_id": "bigint", "direction": "text", "fare_amount": "bigint", "currency": "text"}
_PASSENGER_COLUMNS = {"n": "int", "first_name": "text", "last_name": "text", "date_of_birth": "date",
                      "gender": "text"}


def _legs(d: Dialect, ref: str, also_from: str = "") -> str:
    return f"""INSERT INTO booking_flight (booking_ref, flight_id, direction, fare_amount, currency)
SELECT {ref}, t.flight_id, t.direction, t.fare_amount, t.currency
FROM ({d.rows_of("legs", _LEG_COLUMNS)}) AS t{also_from}"""


def _passengers(d: Dialect, ref: str, also_from: str = "") -> str:
    # in the order given, so their ids (and the booking's fare lines) keep it
    return f"""INSERT INTO passenger (booking_ref, first_name, last_name, date_of_birth, gender)
SELECT {ref}, t.first_name, t.last_name, t.date_of_birth, t.gender
FROM ({d.rows_of("passengers", _PASSENGER_COLUMNS)}) AS t{also_from} ORDER BY t.n"""


def _everything(d: Dialect) -> str:
    # ``b`` is empty when the ref is taken, and so then are the legs and passengers written from it
    return f"""WITH b AS ({_BOOKING}),
legs AS ({_legs(d, "b.ref", ", b")}),
people AS ({_passengers(d, "b.ref", ", b")})
SELECT ref FROM b"""


INSERT_ALL = Statement("hold_insert_booking", _everything)  # PostgreSQL
INSERT_BOOKING = Statement("hold_insert_booking_row", lambda d: _BOOKING)  # SQLite, then:
INSERT_LEGS = Statement("hold_insert_legs", lambda d: _legs(d, "{ref}"))
INSERT_PASSENGERS = Statement("hold_insert_passengers", lambda d: _passengers(d, "{ref}"))


def insert_booking(database, ref: str, booking: NewBooking, legs: list[Leg], passengers: list[PassengerInput]) -> bool:
    """Write ``booking`` as ``ref`` with its legs and passengers, inside the caller's transaction; False (and
    nothing written) when ``ref`` is taken."""
    params = {**booking._asdict(), "ref": ref, "hold_expires_at": clock.to_db(booking.hold_expires_at),
              "created_at": clock.to_db(booking.created_at),
              "legs": [(leg.flight.id, str(leg.direction), leg.fare.amount, leg.fare.currency) for leg in legs],
              "passengers": [(n, p.first_name, p.last_name, p.date_of_birth, p.gender)
                             for n, p in enumerate(passengers)]}
    if is_postgres(database):
        return bool(INSERT_ALL.rows(database, **params))
    if not INSERT_BOOKING.rows(database, **params):
        return False
    INSERT_LEGS.run(database, ref=ref, legs=params["legs"])
    INSERT_PASSENGERS.run(database, ref=ref, passengers=params["passengers"])
    return True
