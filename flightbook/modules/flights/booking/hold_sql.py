"""Writing a new booking in as few round trips as each backend allows: on PostgreSQL the booking, its legs and
its passengers and every passenger's fare on every leg (``booking_fare``, with the bucket of their seat) are one
prepared statement (data-modifying CTEs: the rest is written only when the booking row was, so a taken ref writes
nothing); SQLite, which has no such CTEs, runs the four INSERTs."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from flightbook.contracts.flights import PassengerInput, PassengerType
from flightbook.kernel import clock
from flightbook.kernel.db import is_postgres
from flightbook.kernel.sql import Dialect, Statement
from flightbook.modules.flights.booking.checks import Leg
from flightbook.modules.flights.booking.seats import SoldSeat


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
_LEG_COLUMNS = {"flight_id": "bigint", "direction": "text", "fare_amount": "bigint", "currency": "text",
                "seat_bucket": "int", "seat_price": "bigint"}
_PASSENGER_COLUMNS = {"n": "int", "first_name": "text", "last_name": "text", "date_of_birth": "date",
                      "gender": "text", "passenger_type": "text"}
_FARE_COLUMNS = {"passenger": "int", "flight_id": "bigint", "bucket": "int", "bucket_price": "bigint",
                 "amount": "bigint", "currency": "text"}


def _legs(d: Dialect, ref: str, also_from: str = "") -> str:
    return f"""INSERT INTO booking_flight (booking_ref, flight_id, direction, fare_amount, currency, seat_bucket,
seat_price)
SELECT {ref}, t.flight_id, t.direction, t.fare_amount, t.currency, t.seat_bucket, t.seat_price
FROM ({d.rows_of("legs", _LEG_COLUMNS)}) AS t{also_from}"""


def _passengers(d: Dialect, ref: str, also_from: str = "") -> str:
    # in the order given, so their ids (and the booking's fare lines) keep it
    return f"""INSERT INTO passenger (booking_ref, first_name, last_name, date_of_birth, gender, passenger_type)
SELECT {ref}, t.first_name, t.last_name, t.date_of_birth, t.gender, t.passenger_type
FROM ({d.rows_of("passengers", _PASSENGER_COLUMNS)}) AS t{also_from} ORDER BY t.n"""


def _fares(d: Dialect, ref: str, also_from: str = "") -> str:
    return f"""INSERT INTO booking_fare (booking_ref, passenger, flight_id, bucket, bucket_price, amount, currency)
SELECT {ref}, t.passenger, t.flight_id, t.bucket, t.bucket_price, t.amount, t.currency
FROM ({d.rows_of("fares", _FARE_COLUMNS)}) AS t{also_from}"""


def _everything(d: Dialect) -> str:
    # ``b`` is empty when the ref is taken, and so then are the legs and passengers written from it
    return f"""WITH b AS ({_BOOKING}),
legs AS ({_legs(d, "b.ref", ", b")}),
people AS ({_passengers(d, "b.ref", ", b")}),
fares AS ({_fares(d, "b.ref", ", b")})
SELECT ref FROM b"""


INSERT_ALL = Statement("hold_insert_booking", _everything)  # PostgreSQL
INSERT_BOOKING = Statement("hold_insert_booking_row", lambda d: _BOOKING)  # SQLite, then:
INSERT_LEGS = Statement("hold_insert_legs", lambda d: _legs(d, "{ref}"))
INSERT_PASSENGERS = Statement("hold_insert_passengers", lambda d: _passengers(d, "{ref}"))
INSERT_FARES = Statement("hold_insert_fares", lambda d: _fares(d, "{ref}"))


def insert_booking(database, ref: str, booking: NewBooking, legs: list[Leg], passengers: list[PassengerInput],
                   fares: list[list[int]], sold: dict[int, list[SoldSeat]]) -> bool:
    """Write ``booking`` as ``ref`` with its legs, passengers (typed) and their fares (``fares[i][k]``: passenger
    i's on leg k; ``sold``: each flight's seats in selling order), inside the caller's transaction; False (and
    nothing written) when ``ref`` is taken. Each leg shows its first passenger's fare."""
    params = {**booking._asdict(), "ref": ref, "hold_expires_at": clock.to_db(booking.hold_expires_at),
              "created_at": clock.to_db(booking.created_at), **_rows(booking, legs, passengers, fares, sold),
              "passengers": [(n, p.first_name, p.last_name, p.date_of_birth, p.gender,
                              str(p.type or PassengerType.ADULT)) for n, p in enumerate(passengers)]}
    if is_postgres(database):
        return bool(INSERT_ALL.rows(database, **params))
    if not INSERT_BOOKING.rows(database, **params):
        return False
    INSERT_LEGS.run(database, ref=ref, legs=params["legs"])
    INSERT_PASSENGERS.run(database, ref=ref, passengers=params["passengers"])
    if params["fares"]:
        INSERT_FARES.run(database, ref=ref, fares=params["fares"])
    return True


_DROP_FARES_SQL = "DELETE FROM booking_fare WHERE booking_ref = {ref}"
_DROP_LEGS_SQL = "DELETE FROM booking_flight WHERE booking_ref = {ref}"
_SET_TOTAL_SQL = "UPDATE booking SET total_amount = {total_amount} WHERE ref = {ref}"


def _everything_again(d: Dialect) -> str:
    # The rows go before the new ones are written, in one statement: every insert reads ``gone``, which counts
    # them all, so the deletes have run first and the new rows' keys are free.
    return f"""WITH dropped_fares AS ({_DROP_FARES_SQL} RETURNING 1),
dropped_legs AS ({_DROP_LEGS_SQL} RETURNING 1),
gone AS (SELECT (SELECT count(*) FROM dropped_fares) + (SELECT count(*) FROM dropped_legs) AS n),
legs AS ({_legs(d, "{ref}", ", gone")}),
fares AS ({_fares(d, "{ref}", ", gone")})
{_SET_TOTAL_SQL}"""


REPRICE_ALL = Statement("hold_reprice", _everything_again)  # PostgreSQL
_DROP_FARES = Statement("hold_drop_fares", lambda d: _DROP_FARES_SQL)  # SQLite, then the legs, fares and total
_DROP_LEGS = Statement("hold_drop_legs", lambda d: _DROP_LEGS_SQL)
_SET_TOTAL = Statement("hold_set_total", lambda d: _SET_TOTAL_SQL)


def reprice(database, ref: str, booking: NewBooking, legs: list[Leg], passengers: list[PassengerInput],
            fares: list[list[int]], sold: dict[int, list[SoldSeat]]) -> None:
    """Write booking ``ref``'s legs and fares again, and its total, for the seats the seats UPDATE really sold
    (others sold from the buckets between the read and the UPDATE). Rare, but the seats' row is locked meanwhile:
    one statement on PostgreSQL."""
    rows = _rows(booking, legs, passengers, fares, sold)
    if is_postgres(database):
        REPRICE_ALL.run(database, ref=ref, total_amount=booking.total_amount, **rows)
        return
    _DROP_FARES.run(database, ref=ref)
    _DROP_LEGS.run(database, ref=ref)
    INSERT_LEGS.run(database, ref=ref, legs=rows["legs"])
    if rows["fares"]:
        INSERT_FARES.run(database, ref=ref, fares=rows["fares"])
    _SET_TOTAL.run(database, ref=ref, total_amount=booking.total_amount)


def _rows(booking: NewBooking, legs: list[Leg], passengers: list[PassengerInput], fares: list[list[int]],
          sold: dict[int, list[SoldSeat]]) -> dict[str, list]:
    """The legs (each with its first passenger's fare) and every passenger's fare on every leg, as tables. Adults
    only whose seats on each leg all came from one bucket (or a cabin priced flat) write no fare rows: each pays the
    leg's one fare, which the leg keeps with that bucket and its price (migration 016; none in a flat cabin), and
    holds one seat of it per flight, as seats.seats_of and views._fare_lines read them; so adults in flat cabins
    write what a hold wrote before fare buckets."""
    seat_of = seat_order(passengers)
    if all(p.type in (None, PassengerType.ADULT) for p in passengers) and \
            all(seat == seats[0] for seats in sold.values() for seat in seats):
        return {"legs": [_leg_row(leg, fares[0][k], booking.currency, sold[leg.flight.id][0])
                         for k, leg in enumerate(legs)], "fares": []}
    return {"legs": [_leg_row(leg, fares[0][k], booking.currency, None) for k, leg in enumerate(legs)],
            "fares": [_fare_row(i, leg.flight.id, sold[leg.flight.id][seat_of[i]] if i in seat_of else None,
                                fares[i][k], booking.currency)
                      for i in range(len(passengers)) for k, leg in enumerate(legs)]}


def _leg_row(leg: Leg, fare: int, currency: str, seat: SoldSeat | None) -> tuple:
    # the bucket of every seat on the leg, when the leg says it (a flat cabin's seats have none)
    if seat is None or seat.bucket is None:
        return (leg.flight.id, str(leg.direction), fare, currency, None, None)
    return (leg.flight.id, str(leg.direction), fare, currency, seat.bucket, seat.price)


def _fare_row(passenger: int, flight_id: int, seat: SoldSeat | None, amount: int, currency: str) -> tuple:
    # an infant has no seat: no bucket and no bucket price (which is what marks a seat for giving it back)
    return (passenger, flight_id, seat.bucket if seat else None, seat.price if seat else None, amount, currency)


def seat_order(passengers: list[PassengerInput]) -> dict[int, int]:
    """Passenger index -> their seat's place in selling order: adults first, then children (infants: none), as
    the fare rules price them."""
    seated = [i for i, p in enumerate(passengers) if p.type == PassengerType.ADULT] + \
             [i for i, p in enumerate(passengers) if p.type == PassengerType.CHILD]
    return {i: place for place, i in enumerate(seated)}
