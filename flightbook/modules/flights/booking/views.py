"""Bookings as the contract shows them: rows of a page of bookings -> BookingViews (legs in flying order, the
layovers between them), in a few queries."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flightbook.contracts.flights import (BookedFlight, BookedLayover, BookingStatus, BookingView, Direction, FareLine,
                                          PassengerInput)
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Statement
from flightbook.modules.flights.booking.checks import FlightRow
from flightbook.modules.flights.catalogue import airport_facts
from flightbook.modules.flights.models import Airport, Booking, BookingFlight, Flight, Passenger

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
    codes = {c for segs in segments.values() for s in segs for c in (s.flight.origin, s.flight.destination)}
    zones = {a.iata: a.tz for a in Airport.select(Airport.iata, Airport.tz).where(Airport.iata.in_(list(codes)))}
    return [_view(b, sorted(segments[b.ref], key=_flying_order), passengers[b.ref], zones) for b in bookings]


_BOOKING_COLUMNS = ("ref, user_id, status, cabin, contact_email, total_amount, currency, hold_expires_at, created_at, "
                    "confirmed_at, cancelled_at, payment_id, refund_amount")
#: one booking with its legs and their flights (a row per leg), then its passengers: two prepared round trips
_B_COLUMNS = ", ".join("b." + c for c in _BOOKING_COLUMNS.split(", "))
READ_BOOKING = Statement("booking_read", lambda d: f"""SELECT {_B_COLUMNS},
s.flight_id, s.direction, s.fare_amount, s.currency, f.flight_number, f.airline, f.origin, f.destination,
f.departs_at, f.arrives_at, f.duration_minutes
FROM booking b LEFT JOIN booking_flight s ON s.booking_ref = b.ref LEFT JOIN flight f ON f.id = s.flight_id
WHERE b.ref = {{ref}}""")
READ_PASSENGERS = Statement("booking_read_passengers", lambda d: """SELECT first_name, last_name, date_of_birth, gender
FROM passenger WHERE booking_ref = {ref} ORDER BY id""")


def read_booking(database, ref: str) -> tuple[int, BookingView] | None:
    """(its traveller's user id, the view) of booking ``ref``, read by two prepared statements; None: no such
    booking. The same view as ``booking_views`` makes of its row."""
    rows = READ_BOOKING.rows(database, ref=ref)
    if not rows:
        return None
    booking = _BookingRow(*rows[0][:13])
    segments = sorted((_Segment(r[13], r[14], r[15], r[16], FlightRow(r[13], r[17], r[18], r[19], r[20],
                                                                     clock.from_db(r[21]), clock.from_db(r[22]),
                                                                     r[23]))
                       for r in rows if r[13] is not None), key=_flying_order)
    passengers = [PassengerInput(*r) for r in READ_PASSENGERS.rows(database, ref=ref)]
    codes = {code for s in segments for code in (s.flight.origin, s.flight.destination)}
    zones = {code: facts.tz for code, facts in airport_facts.facts_for(database, codes).items()}
    return booking.user_id, _view(booking, segments, passengers, zones)


def held_view(database, ref: str, booking, legs: list, passengers: list[PassengerInput]) -> BookingView:
    """The view of a booking just held, made of what the hold wrote (``booking``: a ``hold_sql.NewBooking``,
    ``legs``: its ``checks.Leg`` in flying order) without reading it back; the same as ``booking_views`` reads."""
    segments = [_Segment(leg.flight.id, leg.direction, leg.fare.amount, leg.fare.currency, leg.flight) for leg in legs]
    codes = {code for leg in legs for code in (leg.flight.origin, leg.flight.destination)}
    zones = {code: facts.tz for code, facts in airport_facts.facts_for(database, codes).items()}
    row = _BookingRow(ref, booking.user_id, booking.status, booking.cabin, booking.contact_email,
                      booking.total_amount, booking.currency, booking.hold_expires_at, booking.created_at)
    return _view(row, segments, passengers, zones)


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


def _view(b: Any, segments: list[Any], passengers: list[Any], zones: dict) -> BookingView:
    """``b``: a Booking row or a ``_BookingRow``; ``segments``: BookingFlight rows joined to their Flight, or
    ``_Segment``s; ``passengers``: Passenger rows or PassengerInputs."""
    return BookingView(
        ref=b.ref, user_id=b.user_id, status=BookingStatus(b.status), cabin=b.cabin, contact_email=b.contact_email,
        flights=[_booked_flight(s, zones) for s in segments],
        passengers=[PassengerInput(p.first_name, p.last_name, _date(p.date_of_birth), p.gender)
                    for p in passengers],
        fares=[FareLine(passenger=i, flight_id=s.flight_id, fare=Money(s.fare_amount, s.currency))
               for i in range(len(passengers)) for s in segments],
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
