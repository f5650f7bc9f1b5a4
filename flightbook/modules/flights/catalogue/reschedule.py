"""An admin moves a dated flight: its departure and arrival move together (the duration stays), its bookings
keep their seats, and the travellers of its confirmed bookings are told (FlightRescheduled)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee as pw

from flightbook.contracts.flights import (BookingStatus, Direction, FlightDeparted, FlightNotFound, FlightRescheduled,
                                          RescheduledFlight)
from flightbook.kernel import clock
from flightbook.kernel.errors import Conflict, ValidationError
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking.views import local_time
from flightbook.modules.flights.models import Airport, Booking, BookingFlight, Flight


def _origin_zone(flight: Flight) -> ZoneInfo:
    airport = Airport.get_or_none(Airport.iata == flight.origin)
    try:
        return ZoneInfo(airport.tz) if airport is not None else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def new_departure(flight: Flight, departs_local: dt.datetime | None, delay_minutes: int | None) -> dt.datetime:
    """The new departure (aware UTC): ``departs_local`` read in the origin's zone, or the old one moved by
    ``delay_minutes``. A wall-clock time that the zone skips (clocks going forward) is refused."""
    if (departs_local is None) == (delay_minutes is None):
        raise ValidationError("departs", "give the new local departure or a delay in minutes, not both")
    if delay_minutes is not None:
        if delay_minutes == 0 or abs(delay_minutes) > 7 * 24 * 60:
            raise ValidationError("delay", "must be a number of minutes other than 0, at most a week either way")
        return clock.from_db(flight.departs_at) + dt.timedelta(minutes=delay_minutes)
    assert departs_local is not None
    zone = _origin_zone(flight)
    wall = departs_local.replace(tzinfo=None, second=0, microsecond=0)
    moment = wall.replace(tzinfo=zone).astimezone(clock.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != wall:
        raise ValidationError("departs", f"{wall:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks skip it)")
    return moment


def _keeps_order(flight: Flight, departs_at: dt.datetime, arrives_at: dt.datetime) -> None:
    """Every booking on the flight still goes out before it comes back."""
    ours = BookingFlight.select(BookingFlight.booking).where(BookingFlight.flight == flight.id)
    others = (BookingFlight.select(BookingFlight, Flight).join(Flight)
              .where(BookingFlight.booking.in_(ours) & (BookingFlight.flight != flight.id)))
    mine = BookingFlight.select().where(BookingFlight.flight == flight.id)
    direction_here = {seg.booking_ref: seg.direction for seg in mine}
    for seg in others:
        here = direction_here.get(seg.booking_ref)
        if here == Direction.OUTBOUND and seg.direction == Direction.RETURN:
            clash = arrives_at > clock.from_db(seg.flight.departs_at)
        elif here == Direction.RETURN and seg.direction == Direction.OUTBOUND:
            clash = clock.from_db(seg.flight.arrives_at) > departs_at
        else:
            clash = False
        if clash:
            raise Conflict(f"booking {seg.booking_ref} would come back before it got there: flight "
                           f"{seg.flight.flight_number} is on it too", code="bookings_out_of_order",
                           booking_ref=seg.booking_ref)


def reschedule_flight(uow: UnitOfWork, flight_id: int, departs_local: dt.datetime | None = None,
                      delay_minutes: int | None = None, now: dt.datetime | None = None) -> RescheduledFlight:
    now = now or clock.now()
    flight = Flight.get_or_none(Flight.id == flight_id) if isinstance(flight_id, int) and flight_id > 0 else None
    if flight is None:
        raise FlightNotFound(f"no flight {flight_id}")
    was = clock.from_db(flight.departs_at)
    if was <= now:
        raise FlightDeparted(f"flight {flight.flight_number} of {flight.service_date} has departed: it cannot move")
    departs_at = new_departure(flight, departs_local, delay_minutes)
    if departs_at <= now:
        raise ValidationError("departs", "must be in the future")
    arrives_at = departs_at + dt.timedelta(minutes=flight.duration_minutes)
    zone = _origin_zone(flight)
    if departs_at == was:
        return _result(flight, was, departs_at, arrives_at, zone, 0, moved=False)
    with uow.transaction():
        _keeps_order(flight, departs_at, arrives_at)
        try:
            with uow.database.atomic():  # a savepoint: the clash below is a 409, not a broken transaction
                moved = Flight.update(departs_at=clock.to_db(departs_at), arrives_at=clock.to_db(arrives_at),
                                      service_date=departs_at.astimezone(zone).date()).where(
                    (Flight.id == flight.id) & (Flight.departs_at == flight.departs_at)).execute()
        except pw.IntegrityError:
            raise Conflict(f"flight {flight.flight_number} already flies on {departs_at.astimezone(zone).date()}",
                           code="flight_date_taken") from None
        if not moved:
            raise Conflict(f"flight {flight.flight_number} was moved meanwhile; look again", code="flight_moved")
        # a hold cannot outlast the departure it is for (as when it was made)
        held = BookingFlight.select(BookingFlight.booking).where(BookingFlight.flight == flight.id)
        Booking.update(hold_expires_at=clock.to_db(departs_at)).where(
            Booking.ref.in_(held) & (Booking.status == BookingStatus.HELD)
            & (Booking.hold_expires_at > clock.to_db(departs_at))).execute()
        confirmed = [b.ref for b in Booking.select(Booking.ref).join(BookingFlight, on=(BookingFlight.booking == Booking.ref))
                     .where((BookingFlight.flight == flight.id) & (Booking.status == BookingStatus.CONFIRMED))
                     .order_by(Booking.ref)]
        uow.publish(FlightRescheduled(flight_id=flight.id, flight_number=flight.flight_number, origin=flight.origin,
                                      destination=flight.destination, was_departs_at=was, departs_at=departs_at,
                                      arrives_at=arrives_at, booking_refs=confirmed))
    return _result(flight, was, departs_at, arrives_at, zone, len(confirmed), moved=True)


def _result(flight: Flight, was: dt.datetime, departs_at: dt.datetime, arrives_at: dt.datetime, zone: ZoneInfo,
            told: int, moved: bool) -> RescheduledFlight:
    destination = Airport.get_or_none(Airport.iata == flight.destination)
    return RescheduledFlight(flight_id=flight.id, flight_number=flight.flight_number, origin=flight.origin,
                             destination=flight.destination, was_departs_local=local_time(was, zone.key),
                             departs_local=local_time(departs_at, zone.key),
                             arrives_local=local_time(arrives_at, destination.tz if destination else None),
                             bookings_told=told, moved=moved)
