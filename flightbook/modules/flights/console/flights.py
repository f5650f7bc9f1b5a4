"""Dated flights as an admin sees them, and cancelling one: every open booking on it cancelled with
everything paid given back, through the same BookingCancelled the saga follows for a traveller."""
from __future__ import annotations

import datetime as dt
from typing import Any

import peewee as pw

from flightbook.contracts.flights import (MAX_ADMIN_ROWS, AdminFlight, AdminFlightDetail, CabinLoad,
                                          FlightCancellationResult, FlightDeparted, FlightNotFound)
from flightbook.kernel import clock
from flightbook.kernel.auth import Principal
from flightbook.kernel.db import is_postgres
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking import bookings
from flightbook.modules.flights.booking.states import CONFIRMED, HELD, expire_if_lapsed, find
from flightbook.modules.flights.booking.views import booking_views, local_time
from flightbook.modules.flights.console import audit
from flightbook.modules.flights.models import (Airport, Booking, BookingFlight, Flight, FlightCancellation,
                                               SeatDayChange, SeatDayLoad, SeatInventory)


def find_flights(origin: str | None, destination: str | None, date: dt.date | None, number: str | None,
                 limit: int) -> list[AdminFlight]:
    query = Flight.select()
    if origin:
        query = query.where(Flight.origin == origin.upper())
    if destination:
        query = query.where(Flight.destination == destination.upper())
    if date:
        query = query.where(Flight.service_date == date)
    if number:
        query = query.where(Flight.flight_number == number.upper().replace(" ", ""))
    rows = list(query.order_by(Flight.departs_at, Flight.id).limit(min(limit, MAX_ADMIN_ROWS)))
    return admin_flights(rows)


def admin_flights(rows: list[Flight]) -> list[AdminFlight]:
    if not rows:
        return []
    ids = [f.id for f in rows]
    cabins: dict[int, list[CabinLoad]] = {i: [] for i in ids}
    for inv in SeatInventory.select().where(SeatInventory.flight.in_(ids)):
        cabins[inv.flight_id].append(CabinLoad(cabin=inv.cabin, capacity=inv.capacity, seats_left=inv.seats_left,
                                               sold=inv.capacity - inv.seats_left,
                                               fare=Money(inv.fare_amount, inv.currency)))
    order = {"first": 0, "business": 1, "economy": 2}
    cancelled = {c.flight_id: clock.from_db(c.cancelled_at)
                 for c in FlightCancellation.select().where(FlightCancellation.flight_id.in_(ids))}
    codes = {c for f in rows for c in (f.origin, f.destination)}
    zones = {a.iata: a.tz for a in Airport.select(Airport.iata, Airport.tz).where(Airport.iata.in_(list(codes)))}
    return [AdminFlight(id=f.id, flight_number=f.flight_number, airline=f.airline, origin=f.origin,
                        destination=f.destination, service_date=_date(f.service_date),
                        departs_at=clock.from_db(f.departs_at), arrives_at=clock.from_db(f.arrives_at),
                        departs_local=local_time(clock.from_db(f.departs_at), zones.get(f.origin)),
                        arrives_local=local_time(clock.from_db(f.arrives_at), zones.get(f.destination)),
                        cabins=sorted(cabins[f.id], key=lambda c: order.get(c.cabin, 9)),
                        cancelled_at=cancelled.get(f.id))
            for f in rows]


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _flight(flight_id: int) -> Flight:
    flight = Flight.get_or_none(Flight.id == flight_id) if isinstance(flight_id, int) and flight_id > 0 else None
    if flight is None:
        raise FlightNotFound(f"no flight {flight_id}")
    return flight


def _booking_refs(flight_id: int):
    return BookingFlight.select(BookingFlight.booking).where(BookingFlight.flight == flight_id)


def flight_detail(flight_id: int) -> AdminFlightDetail:
    flight = _flight(flight_id)
    on_it = Booking.select().where(Booking.ref.in_(_booking_refs(flight.id)))
    rows = list(on_it.order_by(Booking.created_at.desc(), Booking.ref).limit(MAX_ADMIN_ROWS))
    return AdminFlightDetail(flight=admin_flights([flight])[0], bookings=booking_views(rows),
                             bookings_total=on_it.count())


def is_cancelled(flight_ids: list[int]) -> int | None:
    """The first of the flights an admin cancelled, if any."""
    row = FlightCancellation.select(FlightCancellation.flight_id).where(
        FlightCancellation.flight_id.in_(flight_ids)).first()
    return row.flight_id if row else None


def cancel_flight(uow: UnitOfWork, flight_id: int, admin: Principal, reason: str,
                  now: dt.datetime | None = None) -> FlightCancellationResult:
    """Close the flight to booking, then cancel each HELD or CONFIRMED booking on it in its own transaction,
    with the whole price due back (refund_percent 100: payments refunds the card's part, loyalty returns the
    points spent and takes back those earned). Bookings already CANCELLED or EXPIRED are left as they are, so
    a second run (or one that follows a crash half-way) finishes the work and changes nothing more."""
    now = now or clock.now()
    flight = _flight(flight_id)
    with uow.transaction():
        newly = FlightCancellation.get_or_none(FlightCancellation.flight_id == flight.id) is None
        if newly:
            if clock.from_db(flight.departs_at) <= now:
                raise FlightDeparted(f"flight {flight.flight_number} of {flight.service_date} has departed")
            FlightCancellation.insert(flight_id=flight.id, cancelled_at=clock.to_db(now), admin_id=admin.user_id,
                                      reason=reason).on_conflict_ignore().execute()
    cancelled = closed = 0
    for ref in [b.ref for b in Booking.select(Booking.ref).where(Booking.ref.in_(_booking_refs(flight.id)))
                .order_by(Booking.ref)]:
        expire_if_lapsed(uow, ref, now)
        with uow.transaction():
            booking = find(ref)
            if booking.status not in (HELD, CONFIRMED):
                closed += 1
                continue
            refund = Money(booking.total_amount, booking.currency) if booking.status == CONFIRMED else None
            if bookings.close(uow, booking, refund, 100 if refund is not None else 0, now, quiet=True):
                cancelled += 1
            else:
                closed += 1
    if newly or cancelled:
        with uow.transaction():
            audit.record(uow, admin, "flight.cancel", f"flight {flight.id}", reason, now,
                         flight_number=flight.flight_number, service_date=str(flight.service_date),
                         bookings_cancelled=cancelled)
    return FlightCancellationResult(flight_id=flight.id, cancelled=cancelled, already_closed=closed,
                                    newly_cancelled=newly)


def load_by_day(first: dt.date, last: dt.date) -> list[tuple[dt.date, str, int, int]]:
    """(service date, cabin, capacity, sold) of the flights from ``first`` to ``last``: each day's folded
    totals and the differences appended since (a few rows a day, read in one statement, so a fold that
    commits meanwhile is seen whole or not at all), not the inventory of every flight of those days."""
    parts = [model.select(model.service_date, model.cabin, model.capacity, model.seats_left)
             .where((model.service_date >= first) & (model.service_date <= last))
             for model in (SeatDayLoad, SeatDayChange)]
    both = parts[0].union_all(parts[1]).alias("seat_days")
    rows: Any = (pw.Select([both], [both.c.service_date, both.c.cabin, pw.fn.SUM(both.c.capacity),
                                    pw.fn.SUM(both.c.capacity - both.c.seats_left)])
                 .group_by(both.c.service_date, both.c.cabin).bind(SeatDayLoad._meta.database).tuples())
    return [(_date(day), cabin, int(capacity or 0), int(sold or 0)) for day, cabin, capacity, sold in rows]


#: the differences of ``{source}`` added to the days' totals (the WHERE keeps SQLite's parser from reading
#: ON CONFLICT as a join's ON)
_ADD_TO_TOTALS = """INSERT INTO seat_day_load (service_date, cabin, capacity, seats_left)
SELECT service_date, cabin, sum(capacity), sum(seats_left) FROM {source} WHERE {condition}
GROUP BY service_date, cabin
ON CONFLICT (service_date, cabin) DO UPDATE SET capacity = seat_day_load.capacity + excluded.capacity,
    seats_left = seat_day_load.seats_left + excluded.seats_left"""
_FOLD_POSTGRES = ("WITH moved AS (DELETE FROM seat_day_change RETURNING service_date, cabin, capacity, seats_left) "
                  + _ADD_TO_TOTALS.format(source="moved", condition="true"))


def fold_seat_days(uow: UnitOfWork) -> None:
    """The appended differences moved into the days' totals, in one transaction. On PostgreSQL the rows the
    DELETE takes are the rows it adds (a second fold at once waits, then finds them gone); SQLite's writers
    take turns, so there everything up to the highest id is folded."""
    database = SeatDayLoad._meta.database
    with uow.transaction():
        if is_postgres(database):
            database.execute_sql(_FOLD_POSTGRES)
            return
        newest = SeatDayChange.select(pw.fn.MAX(SeatDayChange.id)).scalar()
        if newest is not None:
            database.execute_sql(_ADD_TO_TOTALS.format(source="seat_day_change", condition=f"id <= {int(newest)}"))
            SeatDayChange.delete().where(SeatDayChange.id <= newest).execute()

