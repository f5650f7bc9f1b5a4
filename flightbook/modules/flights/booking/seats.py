"""Seat inventory: every seat a booking takes, gives back or wins back moves by the one conditional UPDATE
below, so no interleaving of buyers, sweepers and late payments can sell a seat a cabin lacks."""
from __future__ import annotations

from flightbook.kernel.sql import Statement
from flightbook.modules.flights.models import BookingFlight, Passenger, SeatInventory, database

# One conditional UPDATE, never read-then-write, so two buyers cannot both take the last seat; giving seats
# back (``taken`` < 0) passes the same condition trivially, the table's CHECK caps it at capacity. Prepared:
# it is the hot row's statement.
_MOVE_SEATS = Statement("seats_move", lambda d: """UPDATE seat_inventory SET seats_left = seats_left - {taken}
WHERE flight_id = {flight_id} AND cabin = {cabin} AND seats_left >= {taken}""")


def _move_seats(flight_id: int, cabin: str, taken: int) -> bool:
    return _MOVE_SEATS.run(database, flight_id=flight_id, cabin=cabin, taken=taken).rowcount == 1


def take_seats(flight_ids: list[int], cabin: str, n: int) -> int | None:
    """Take ``n`` seats of ``cabin`` on each flight; the id of the first flight that has too few (the caller
    rolls back), or None. Flights go in id order so two return bookings over the same pair lock the rows
    alike and cannot deadlock; take seats last in a transaction, so the hot row stays locked briefly."""
    for flight_id in sorted(flight_ids):
        if not _move_seats(flight_id, cabin, n):
            return flight_id
    return None


def release_seats(flight_ids: list[int], cabin: str, n: int) -> None:
    """Give ``n`` seats of ``cabin`` back on each flight, in the same id order as they were taken."""
    for flight_id in sorted(flight_ids):
        _move_seats(flight_id, cabin, -n)


def seats_of(ref: str) -> tuple[list[int], int]:
    """The flights a booking holds seats on and how many seats it holds on each (one per passenger)."""
    n = Passenger.select().where(Passenger.booking == ref).count()
    flight_ids = [s.flight_id for s in BookingFlight.select(BookingFlight.flight).where(BookingFlight.booking == ref)]
    return flight_ids, n


def seats_left(flight_id: int, cabin: str) -> int:
    return SeatInventory.get((SeatInventory.flight == flight_id) & (SeatInventory.cabin == cabin)).seats_left
