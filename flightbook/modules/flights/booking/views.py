"""Bookings as the contract shows them: rows of a page of bookings -> BookingViews (legs in flying order, the
layovers between them), in a few queries."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flightbook.contracts.flights import (BookedFlight, BookedLayover, BookingStatus, BookingView, Direction, FareLine,
                                          PassengerInput, PassengerType)
from flightbook.kernel import clock
from flightbook.kernel.money import Money
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
        fares[f.booking_ref].append(f)
    codes = {c for segs in segments.values() for s in segs for c in (s.flight.origin, s.flight.destination)}
    zones = {a.iata: a.tz for a in Airport.select(Airport.iata, Airport.tz).where(Airport.iata.in_(list(codes)))}
    return [_view(b, sorted(segments[b.ref], key=_flying_order), passengers[b.ref], fares[b.ref], zones)
            for b in bookings]


def _flying_order(seg: BookingFlight):
    """Outbound legs, then the return's, each in the order they fly."""
    return _DIRECTION_ORDER.get(seg.direction, 9), clock.from_db(seg.flight.departs_at)


def _layovers(segments: list[BookingFlight]) -> list[BookedLayover]:
    return [BookedLayover(direction=Direction(a.direction), airport=a.flight.destination,
                          minutes=int((clock.from_db(b.flight.departs_at) - clock.from_db(a.flight.arrives_at))
                                      .total_seconds() // 60))
            for a, b in zip(segments, segments[1:]) if a.direction == b.direction]


def _booked_flight(seg: BookingFlight, zones: dict) -> BookedFlight:
    f = seg.flight
    departs_at, arrives_at = clock.from_db(f.departs_at), clock.from_db(f.arrives_at)
    return BookedFlight(
        id=f.id, direction=Direction(seg.direction), flight_number=f.flight_number, airline=f.airline,
        origin=f.origin, destination=f.destination, departs_at=departs_at, arrives_at=arrives_at,
        departs_local=local_time(departs_at, zones.get(f.origin)),
        arrives_local=local_time(arrives_at, zones.get(f.destination)),
        duration_minutes=f.duration_minutes, fare=Money(seg.fare_amount, seg.currency))


def _fare_lines(segments: list[BookingFlight], n: int, fares: list[BookingFare]) -> list[FareLine]:
    """What each passenger pays for each flight (a booking made before passenger types: the leg's one fare)."""
    if not fares:
        return [FareLine(passenger=i, flight_id=s.flight_id, fare=Money(s.fare_amount, s.currency))
                for i in range(n) for s in segments]
    order = {s.flight_id: k for k, s in enumerate(segments)}
    return [FareLine(passenger=f.passenger, flight_id=f.flight_id, fare=Money(f.amount, f.currency))
            for f in sorted(fares, key=lambda f: (f.passenger, order.get(f.flight_id, 9)))]


def _view(b: Booking, segments: list[BookingFlight], passengers: list[Passenger], fares: list[BookingFare],
          zones: dict) -> BookingView:
    return BookingView(
        ref=b.ref, user_id=b.user_id, status=BookingStatus(b.status), cabin=b.cabin, contact_email=b.contact_email,
        flights=[_booked_flight(s, zones) for s in segments],
        passengers=[PassengerInput(p.first_name, p.last_name, _date(p.date_of_birth), p.gender,
                                   PassengerType(p.passenger_type)) for p in passengers],
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
