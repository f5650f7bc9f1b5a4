"""Bookings as the contract shows them: rows of a page of bookings -> BookingViews (legs in flying order, the
layovers between them), in a few queries."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from flightbook.contracts.flights import (BookedFlight, BookedLayover, BookingStatus, BookingView, Direction, FareLine,
                                          PassengerInput, PassengerType)
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Dialect, Statement
from flightbook.modules.flights.booking.checks import FlightRow
from flightbook.modules.flights.catalogue import airport_facts
from flightbook.modules.flights.models import Airport, Booking, BookingFare, BookingFlight, Flight, Passenger

_DIRECTION_ORDER: dict[str, int] = {Direction.OUTBOUND: 0, Direction.RETURN: 1}


def local_time(moment: dt.datetime, tz_name: str | None) -> str:
    """ISO 8601 in the airport's zone, e.g. '2026-12-01T09:05:00-08:00' (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(tz_name) if tz_name else clock.UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = clock.UTC
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def booking_views(bookings: list[Booking]) -> list[BookingView]:
    refs = [b.ref for b in bookings]
    if not refs:
        return []
    segments = defaultdict(list)
    for seg in (BookingFlight.select(BookingFlight, Flight).join(Flight)
                .where(BookingFlight.booking.in_(refs))):
        segments[seg.booking_ref].append(seg)
    passengers = defaultdict(list)
    for p in Passenger.select().where(Passenger.booking.in_(refs)).order_by(Passenger.id):
        passengers[p.booking_ref].append(p)
    fares = defaultdict(list)
    for f in BookingFare.select().where(BookingFare.booking.in_(refs)):
        fares[f.booking_ref].append(_FareRow(f.passenger, f.flight_id, f.amount, f.currency))
    codes = {c for segs in segments.values() for s in segs for c in (s.flight.origin, s.flight.destination)}
    zones = {a.iata: a.tz for a in Airport.select(Airport.iata, Airport.tz).where(Airport.iata.in_(list(codes)))}
    return [_view(b, sorted(segments[b.ref], key=_flying_order), [_passenger(p) for p in passengers[b.ref]],
                  fares[b.ref], zones) for b in bookings]


def _passenger(p: Passenger) -> PassengerInput:
    return PassengerInput(p.first_name, p.last_name, _date(p.date_of_birth), p.gender, PassengerType(p.passenger_type))


_BOOKING_COLUMNS = ("ref, user_id, status, cabin, contact_email, total_amount, currency, hold_expires_at, created_at, "
                    "confirmed_at, cancelled_at, payment_id, refund_amount")
#: one booking with its fares (passenger:flight:amount, space-separated), its passengers (a JSON array of arrays,
#: in the order they were written) and its legs and their flights (a row per leg): one prepared round trip
_B_COLUMNS = ", ".join("b." + c for c in _BOOKING_COLUMNS.split(", "))
_PASSENGER_COLUMNS = "first_name, last_name, date_of_birth, gender, passenger_type"


def _fares_of_booking(d: Dialect) -> str:
    if d.is_postgres:
        return "SELECT string_agg(concat_ws(':', passenger, flight_id, amount), ' ') FROM booking_fare WHERE booking_ref = b.ref"
    return "SELECT group_concat(passenger || ':' || flight_id || ':' || amount, ' ') FROM booking_fare WHERE booking_ref = b.ref"


def _passengers_of_booking(d: Dialect) -> str:
    if d.is_postgres:
        return (f"SELECT json_agg(json_build_array({_PASSENGER_COLUMNS}) ORDER BY id)::text FROM passenger "
                "WHERE booking_ref = b.ref")
    return (f"SELECT json_group_array(json_array({_PASSENGER_COLUMNS})) FROM (SELECT * FROM passenger "
            "WHERE booking_ref = b.ref ORDER BY id)")


def read_sql(d: Dialect, source: str = "booking") -> str:
    """The SELECT of ``read_booking``'s statement over the booking rows of ``source`` (a table or a CTE)."""
    return f"""SELECT {_B_COLUMNS}, ({_fares_of_booking(d)}), ({_passengers_of_booking(d)}),
s.flight_id, s.direction, s.fare_amount, s.currency, f.flight_number, f.airline, f.origin, f.destination,
f.departs_at, f.arrives_at, f.duration_minutes, f.service_date
FROM {source} b LEFT JOIN booking_flight s ON s.booking_ref = b.ref LEFT JOIN flight f ON f.id = s.flight_id"""


READ_BOOKING = Statement("booking_read_all", lambda d: f"{read_sql(d)} WHERE b.ref = {{ref}}")


def read_booking(database, ref: str) -> tuple[int, BookingView] | None:
    """(its traveller's user id, the view) of booking ``ref``, read by one prepared statement; None: no such
    booking. The same view as ``booking_views`` makes of its row."""
    return view_of_rows(database, READ_BOOKING.rows(database, ref=ref))


def view_of_rows(database, rows: list) -> tuple[int, BookingView] | None:
    """(its traveller's user id, the view) of the rows ``read_sql`` selected for one booking; None: no rows."""
    if not rows:
        return None
    booking = _BookingRow(*rows[0][:13])
    fares = [_FareRow(int(passenger), int(flight_id), int(amount), booking.currency)
             for passenger, flight_id, amount in (item.split(":") for item in (rows[0][13] or "").split())]
    passengers = [PassengerInput(first, last, _date(born), gender, PassengerType(kind))
                  for first, last, born, gender, kind in orjson.loads(rows[0][14] or "[]")]
    segments = sorted((_Segment(r[15], r[16], r[17], r[18], FlightRow(r[15], r[19], r[20], r[21], r[22],
                                                                     clock.from_db(r[23]), clock.from_db(r[24]),
                                                                     r[25], _date(r[26])))
                       for r in rows if r[15] is not None), key=_flying_order)
    codes = {code for s in segments for code in (s.flight.origin, s.flight.destination)}
    zones = {code: facts.tz for code, facts in airport_facts.facts_for(database, codes).items()}
    return booking.user_id, _view(booking, segments, passengers, fares, zones)


def held_view(database, ref: str, booking, legs: list, passengers: list[PassengerInput],
              fares: list[list[int]]) -> BookingView:
    """The view of a booking just held, made of what the hold wrote (``booking``: a ``hold_sql.NewBooking``,
    ``legs``: its ``checks.Leg`` in flying order, ``passengers`` typed, ``fares[i][k]``: passenger i's on leg k)
    without reading it back; the same as ``booking_views`` reads."""
    segments = [_Segment(leg.flight.id, leg.direction, fares[0][k], booking.currency, leg.flight)
                for k, leg in enumerate(legs)]
    codes = {code for leg in legs for code in (leg.flight.origin, leg.flight.destination)}
    zones = {code: facts.tz for code, facts in airport_facts.facts_for(database, codes).items()}
    row = _BookingRow(ref, booking.user_id, booking.status, booking.cabin, booking.contact_email,
                      booking.total_amount, booking.currency, booking.hold_expires_at, booking.created_at)
    lines = [_FareRow(i, leg.flight.id, fare[k], booking.currency)
             for i, fare in enumerate(fares) for k, leg in enumerate(legs)]
    return _view(row, segments, passengers, lines, zones)


class _FareRow(NamedTuple):
    """What a passenger pays for a flight, as ``_fare_lines`` reads it: what a BookingFare row offers."""
    passenger: int
    flight_id: int
    amount: int
    currency: str


class _Segment(NamedTuple):
    """A leg as ``_view`` reads it: what a BookingFlight row joined to its Flight offers."""
    flight_id: int
    direction: str
    fare_amount: int
    currency: str
    flight: FlightRow


class _BookingRow(NamedTuple):
    """A booking as ``_view`` reads it: what a Booking row offers (times naive UTC or aware)."""
    ref: str
    user_id: int
    status: str
    cabin: str
    contact_email: str
    total_amount: int
    currency: str
    hold_expires_at: dt.datetime | str
    created_at: dt.datetime | str
    confirmed_at: dt.datetime | str | None = None
    cancelled_at: dt.datetime | str | None = None
    payment_id: str | None = None
    refund_amount: int | None = None


def _flying_order(seg: Any):
    """Outbound legs, then the return's, each in the order they fly."""
    return _DIRECTION_ORDER.get(seg.direction, 9), clock.from_db(seg.flight.departs_at)


def _layovers(segments: list[Any]) -> list[BookedLayover]:
    return [BookedLayover(direction=Direction(a.direction), airport=a.flight.destination,
                          minutes=int((clock.from_db(b.flight.departs_at) - clock.from_db(a.flight.arrives_at))
                                      .total_seconds() // 60))
            for a, b in zip(segments, segments[1:]) if a.direction == b.direction]


def _booked_flight(seg: Any, zones: dict) -> BookedFlight:
    f = seg.flight
    departs_at, arrives_at = clock.from_db(f.departs_at), clock.from_db(f.arrives_at)
    return BookedFlight(
        id=f.id, direction=Direction(seg.direction), flight_number=f.flight_number, airline=f.airline,
        origin=f.origin, destination=f.destination, departs_at=departs_at, arrives_at=arrives_at,
        departs_local=local_time(departs_at, zones.get(f.origin)),
        arrives_local=local_time(arrives_at, zones.get(f.destination)),
        duration_minutes=f.duration_minutes, fare=Money(seg.fare_amount, seg.currency))


def _fare_lines(segments: list[Any], n: int, fares: list[_FareRow]) -> list[FareLine]:
    """What each passenger pays for each flight (a booking made before passenger types: the leg's one fare)."""
    if not fares:
        return [FareLine(passenger=i, flight_id=s.flight_id, fare=Money(s.fare_amount, s.currency))
                for i in range(n) for s in segments]
    order = {s.flight_id: k for k, s in enumerate(segments)}
    return [FareLine(passenger=f.passenger, flight_id=f.flight_id, fare=Money(f.amount, f.currency))
            for f in sorted(fares, key=lambda f: (f.passenger, order.get(f.flight_id, 9)))]


def _view(b: Any, segments: list[Any], passengers: list[PassengerInput], fares: list[_FareRow],
          zones: dict) -> BookingView:
    """``b``: a Booking row or a ``_BookingRow``; ``segments``: BookingFlight rows joined to their Flight, or
    ``_Segment``s."""
    return BookingView(
        ref=b.ref, user_id=b.user_id, status=BookingStatus(b.status), cabin=b.cabin, contact_email=b.contact_email,
        flights=[_booked_flight(s, zones) for s in segments],
        passengers=passengers,
        fares=_fare_lines(segments, len(passengers), fares),
        total=Money(b.total_amount, b.currency),
        hold_expires_at=clock.from_db(b.hold_expires_at),
        created_at=clock.from_db(b.created_at),
        confirmed_at=clock.from_db(b.confirmed_at),
        cancelled_at=clock.from_db(b.cancelled_at),
        payment_id=b.payment_id,
        refund_due=Money(b.refund_amount, b.currency) if b.refund_amount is not None else None,
        layovers=_layovers(segments),
    )


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
