"""Seat inventory: every seat a booking takes, gives back or wins back moves by the one conditional UPDATE
below, so no interleaving of buyers, sweepers and late payments can sell a seat a cabin lacks.

A cabin priced in fare buckets keeps its buckets in the same row ('price:left:size' each, cheapest first). The
seats UPDATE locks the row (PostgreSQL; SQLite holds its write lock) and returns the buckets as they stand, so
the seats are sold from the cheapest open buckets and the buckets written back in the same transaction, by an
UPDATE conditional on the buckets read: two buyers can neither sell one bucket's seat twice nor miss a price
rise. On PostgreSQL a hold sells a bucketed cabin's seats inside the seats UPDATE itself (``take_seats``), so the
hot row stays locked about as long as a flat cabin's. A cabin priced flat (no buckets) sells every seat at its one
fare."""
from __future__ import annotations

from collections import defaultdict
from types import MappingProxyType
from typing import Callable, Collection, Mapping, NamedTuple

from flightbook.kernel.db import is_postgres
from flightbook.kernel.sql import Statement
from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.catalogue.pricing import BucketState
from flightbook.modules.flights.models import BookingFare, BookingFlight, Passenger, SeatInventory, database

# One conditional UPDATE, never read-then-write, so two buyers cannot both take the last seat; giving seats
# back (``taken`` < 0) passes the same condition trivially, the table's CHECK caps it at capacity. The row it
# returns is locked until the transaction ends: its buckets are this transaction's to move. Prepared, as the
# write-back below: they are the hot row's statements.
_MOVE_SEATS = Statement("seats_move", lambda d: """UPDATE seat_inventory SET seats_left = seats_left - {taken}
WHERE flight_id = {flight_id} AND cabin = {cabin} AND seats_left >= {taken} RETURNING buckets, fare_amount""")
_STORE_BUCKETS = Statement("seats_store_buckets", lambda d: """UPDATE seat_inventory
SET buckets = {after}, next_fares = {ladder}, fare_amount = {fare_amount}, open_at = NULL
WHERE flight_id = {flight_id} AND cabin = {cabin} AND buckets = {read}""")  # the next sale finds the open bucket


class SoldSeat(NamedTuple):
    bucket: int | None  # index of its bucket in selling order; None in a cabin priced flat
    price: int  # its bucket's price (or the flat fare), before the advance-purchase rule and passenger shares


def _move_seats(flight_id: int, cabin: str, taken: int) -> tuple | None:
    """(the buckets, the fare) of the row once moved, or None when it has too few seats."""
    rows = _MOVE_SEATS.rows(database, flight_id=flight_id, cabin=cabin, taken=taken)
    return rows[0] if rows else None


def _store_buckets(flight_id: int, cabin: str, read: str, after: list[BucketState]) -> None:
    """Write the buckets back (and the next seats' prices search shows), on the condition they are still
    those read: under the row lock they are, so a miss is a broken invariant and rolls everything back."""
    ladder = [(s.price, s.left) for s in after]
    moved = _STORE_BUCKETS.run(database, flight_id=flight_id, cabin=cabin, read=read,
                               after=pricing.state_text(after), ladder=pricing.ladder_text(ladder),
                               fare_amount=pricing.next_price(after) or after[-1].price).rowcount
    if moved != 1:
        raise RuntimeError(f"the fare buckets of flight {flight_id} {cabin} moved under a locked row")


# PostgreSQL, a cabin priced in buckets (migrations 014 and 015): whatever is done while the hot row is locked is paid
# for by every buyer queued on it, so a sale does as little there as a flat cabin's. A sale that leaves the cheapest
# open bucket open only lowers its seats-left figure where ``open_at`` says it is (the fare stays as it is): when the
# bucket keeps more than all the next seats' prices kept (``next_fares``, up to LADDER_SEATS: fare_sell's), those
# stay as they are too; when it keeps fewer, the party's seats are dropped from the front of ``next_fares`` as long
# as the nine search shows stay (or it holds every seat left), so a small bucket sells in place as well. Both are
# conditional on the fare the buckets were read at: a hold sold its seats at the price it was written with, or
# nothing was sold and the row is not locked (see ``take_seats``). Any other sale (across buckets, the last seats of
# one, where is not known) is the third statement: fare_sell reads the buckets once and says everything the sale
# writes, keeping the seats sold in ``last_sale`` to return them. Each waits for the row and decides on its latest
# buckets.
LADDER_SEATS = 27  # the next seats' prices fare_sell keeps (migration 015)
_LOWER_OPEN_FIGURE = """seats_left = seats_left - {n}, buckets = overlay(buckets
    PLACING (split_part(substr(buckets, open_at), ':', 1)::int - {n})::text
    FROM open_at FOR length(split_part(substr(buckets, open_at), ':', 1)))"""
_SOLD_IN_PLACE = """WHERE flight_id = {flight_id} AND cabin = {cabin} AND seats_left >= {n} AND fare_amount = {price}
    AND split_part(substr(buckets, open_at), ':', 1)::int >= {n} + {keeps}"""
_OPEN_BUCKET_INDEX = """RETURNING length(substr(buckets, 1, open_at)) - length(replace(substr(buckets, 1, open_at), ' ', '')),
    fare_amount"""
_SELL_FROM_OPEN_BUCKET = Statement("seats_sell_from_open_bucket", lambda d: f"""UPDATE seat_inventory
SET {_LOWER_OPEN_FIGURE}
{_SOLD_IN_PLACE}
{_OPEN_BUCKET_INDEX}""")
_SELL_FROM_LADDER = Statement("seats_sell_from_ladder", lambda d: f"""UPDATE seat_inventory
SET {_LOWER_OPEN_FIGURE}, next_fares = array_to_string((string_to_array(next_fares, ' '))[{{n}} + 1:], ' ')
{_SOLD_IN_PLACE}
    AND length(next_fares) - length(replace(next_fares, ' ', '')) + 1 >= least({{n}} + {{shown}}, seats_left)
{_OPEN_BUCKET_INDEX}""")
_TAKE_FROM_BUCKETS = Statement("seats_take_from_buckets", lambda d: """UPDATE seat_inventory
SET seats_left = seats_left - {n}, (buckets, last_sale, next_fares, fare_amount, open_at) =
    (SELECT s.after, s.sold, s.ladder, s.next_fare, s.open_at FROM fare_sell(buckets, {n}) s)
WHERE flight_id = {flight_id} AND cabin = {cabin} AND seats_left >= {n} RETURNING last_sale""")


def _open_bucket(read: str, n: int) -> BucketState | None:
    """The cheapest open bucket of the buckets as ``read``, if a sale of ``n`` seats from it leaves it open."""
    bucket = next((s for s in pricing.parse_state(read) if s.left > 0), None)
    return bucket if bucket is not None and bucket.left > n else None


def _sell_in_place(flight_id: int, cabin: str, n: int, bucket: BucketState) -> list[SoldSeat] | None:
    """The seats sold from the cheapest open bucket, read as ``bucket``, at its price; None when the row says
    otherwise (nothing sold, nothing locked). A bucket read as roomy may have fewer seats by now: the second
    statement tries it then."""
    rows = []
    if bucket.left >= n + LADDER_SEATS:
        rows = _SELL_FROM_OPEN_BUCKET.rows(database, flight_id=flight_id, cabin=cabin, n=n, price=bucket.price,
                                           keeps=LADDER_SEATS)
    if not rows:
        rows = _SELL_FROM_LADDER.rows(database, flight_id=flight_id, cabin=cabin, n=n, price=bucket.price, keeps=1,
                                      shown=pricing.MAX_SEATED)
    if not rows:
        return None
    index, price = rows[0]
    return [SoldSeat(index, price)] * n


def _take_from_buckets(flight_id: int, cabin: str, n: int) -> list[SoldSeat] | None:
    """The seats fare_sell sold (each bucket's index and price), or None when too few are left."""
    rows = _TAKE_FROM_BUCKETS.rows(database, flight_id=flight_id, cabin=cabin, n=n)
    if not rows:
        return None
    return [SoldSeat(int(bucket), int(price)) for bucket, price in (seat.split(":") for seat in rows[0][0].split())]


def take_seats(flight_ids: list[int], cabin: str, n: int,
               in_buckets: Mapping[int, str] = MappingProxyType({}), placed: Collection[int] = (),
               moved: Callable[[int], str | None] | None = None) -> tuple[int | None, dict[int, list[SoldSeat]]]:
    """Take ``n`` seats of ``cabin`` on each flight, cheapest open bucket first: (the id of the first flight that
    has too few, for the caller to roll back, or None; each flight's seats sold, in selling order). Flights go
    in id order so two return bookings over the same pair lock the rows alike and cannot deadlock; take seats
    last in a transaction, so the hot row stays locked briefly. ``in_buckets``: the flights read as priced in
    buckets (their buckets as read), whose seats PostgreSQL sells in one statement, or two when the buckets
    moved since they were read (a cabin never turns from flat to buckets); ``placed``: those of them whose open
    bucket's place was known (``open_at``), whose seats may be sold in place. ``moved(flight_id)``: called, while
    this has locked no row yet, when the first flight's buckets are found to have moved (others bought or gave
    seats back since they were read), to price the hold again before any row is locked; it returns the buckets it
    read (None: the open bucket's place not known), from which the seats are taken again, so a hold's re-pricing
    does not keep the hot row locked."""
    sold: dict[int, list[SoldSeat]] = {}
    one_statement = is_postgres(database)
    for flight_id in sorted(flight_ids):
        if n and one_statement and flight_id in in_buckets:
            taken, bucket = None, _open_bucket(in_buckets[flight_id], n) if flight_id in placed else None
            if bucket is not None:
                taken = _sell_in_place(flight_id, cabin, n, bucket)
                if taken is None and moved is not None and not sold:  # moved since read; nothing locked yet
                    fresh = moved(flight_id)
                    bucket = _open_bucket(fresh, n) if fresh is not None else None
                    taken = _sell_in_place(flight_id, cabin, n, bucket) if bucket is not None else None
            if taken is None:
                taken = _take_from_buckets(flight_id, cabin, n)
            if taken is None:
                return flight_id, sold
            sold[flight_id] = taken
            continue
        row = _move_seats(flight_id, cabin, n) if n else ("", 0)
        if row is None:
            return flight_id, sold
        buckets, fare = row
        if not buckets:
            sold[flight_id] = [SoldSeat(None, fare)] * n
            continue
        after, pairs = pricing.take(pricing.parse_state(buckets), n)
        _store_buckets(flight_id, cabin, buckets, after)
        sold[flight_id] = [SoldSeat(bucket, price) for bucket, price in pairs]
    return None, sold


def buckets_now(flight_id: int, cabin: str) -> tuple[str, bool]:
    """A cabin's buckets as they stand (a plain read: no lock), and whether its open bucket's place is known."""
    buckets, placed = _BUCKETS_NOW.rows(database, flight_id=flight_id, cabin=cabin)[0]
    return buckets, bool(placed)


_BUCKETS_NOW = Statement("seats_buckets_now", lambda d: """SELECT buckets, open_at IS NOT NULL FROM seat_inventory
WHERE flight_id = {flight_id} AND cabin = {cabin}""")


def release_seats(seats: dict[int, list[int | None]], cabin: str) -> None:
    """Give seats of ``cabin`` back (flight id -> the bucket of each seat), in the same id order as they were
    taken, each to the bucket it was sold from."""
    for flight_id in sorted(seats):
        buckets = seats[flight_id]
        if not buckets:
            continue
        row = _move_seats(flight_id, cabin, -len(buckets))
        if row is not None and row[0]:
            back = pricing.give_back(pricing.parse_state(row[0]), [-1 if b is None else b for b in buckets])
            _store_buckets(flight_id, cabin, row[0], back)


def seats_of(ref: str) -> dict[int, list[int | None]]:
    """The seats a booking holds: flight id -> the bucket of each (one per adult and child; an infant has
    none). A booking made before fare buckets holds one seat per passenger, of no recorded bucket."""
    seats: dict[int, list[int | None]] = defaultdict(list)
    fares: list[tuple] = list(BookingFare.select(BookingFare.flight_id, BookingFare.bucket, BookingFare.passenger,
                                                 BookingFare.bucket_price)
                              .where(BookingFare.booking == ref).tuples())  # type: ignore[arg-type]
    if fares:
        for flight_id, bucket, _, bucket_price in fares:
            if bucket_price is not None:  # a seat (an infant's row has none)
                seats[flight_id].append(bucket)
        return dict(seats)
    n = Passenger.select().where(Passenger.booking == ref).count()
    return {s.flight_id: [None] * n
            for s in BookingFlight.select(BookingFlight.flight).where(BookingFlight.booking == ref)}


def rebook_seats(ref: str, sold: dict[int, list[SoldSeat]]) -> None:
    """Record the buckets a late payment won an expired booking's seats back from (its price stays)."""
    for flight_id, seats in sold.items():
        rows = (BookingFare.select().where((BookingFare.booking == ref) & (BookingFare.flight_id == flight_id)
                                           & BookingFare.bucket_price.is_null(False))
                .order_by(BookingFare.passenger))
        for row, seat in zip(list(rows), seats):
            BookingFare.update(bucket=seat.bucket, bucket_price=seat.price).where(
                (BookingFare.booking == ref) & (BookingFare.passenger == row.passenger)
                & (BookingFare.flight_id == flight_id)).execute()


def seats_left(flight_id: int, cabin: str) -> int:
    return SeatInventory.get((SeatInventory.flight == flight_id) & (SeatInventory.cabin == cabin)).seats_left
