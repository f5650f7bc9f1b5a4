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
from typing import Callable, Mapping, NamedTuple

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
# open bucket open only lowers its seats-left figure, at the place in the buckets where the hold read it, on the
# condition that the buckets before it are still as read (all sold out: so it is still the cheapest open bucket, at
# the price the hold was written with), leaving the fare as it is: when the bucket keeps more than all the next
# seats' prices kept (``next_fares``, up to LADDER_SEATS: fare_sell's), those stay as they are too; when it keeps
# fewer, the party's seats are dropped from the front of ``next_fares`` as long as the nine search shows stay (or it
# holds every seat left), so a small bucket sells in place as well. Neither sells anything, nor locks the row, when
# the buckets moved otherwise (see ``take_seats``). Any other sale (across buckets, the last seats of one) is the
# third statement: fare_sell reads the buckets once and says everything the sale writes, keeping the seats sold in
# ``last_sale`` to return them. Each waits for the row and decides on its latest buckets.
LADDER_SEATS = 27  # the next seats' prices fare_sell keeps (migration 015)
_OPEN_FIGURE = "split_part(substr(buckets, {at}), ':', 1)"
_LOWER_OPEN_FIGURE = f"""seats_left = seats_left - {{n}},
    buckets = overlay(buckets PLACING ({_OPEN_FIGURE}::int - {{n}})::text FROM {{at}} FOR length({_OPEN_FIGURE}))"""
_SOLD_IN_PLACE = f"""WHERE flight_id = {{flight_id}} AND cabin = {{cabin}} AND seats_left >= {{n}}
    AND left(buckets, {{at}} - 1) = {{before}} AND {_OPEN_FIGURE}::int >= {{n}} + {{keeps}}"""
_SELL_FROM_OPEN_BUCKET = Statement("seats_sell_from_open_bucket", lambda d: f"""UPDATE seat_inventory
SET {_LOWER_OPEN_FIGURE}
{_SOLD_IN_PLACE} RETURNING 1""")
_SELL_FROM_LADDER = Statement("seats_sell_from_ladder", lambda d: f"""UPDATE seat_inventory
SET {_LOWER_OPEN_FIGURE}, next_fares = array_to_string((string_to_array(next_fares, ' '))[{{n}} + 1:], ' ')
{_SOLD_IN_PLACE}
    AND length(next_fares) - length(replace(next_fares, ' ', '')) + 1 >= least({{n}} + {{shown}}, seats_left)
RETURNING 1""")
_TAKE_FROM_BUCKETS = Statement("seats_take_from_buckets", lambda d: """UPDATE seat_inventory
SET seats_left = seats_left - {n}, (buckets, last_sale, next_fares, fare_amount, open_at) =
    (SELECT s.after, s.sold, s.ladder, s.next_fare, s.open_at FROM fare_sell(buckets, {n}) s)
WHERE flight_id = {flight_id} AND cabin = {cabin} AND seats_left >= {n} RETURNING last_sale""")


class AsRead(NamedTuple):
    """A bucketed cabin as a hold read it: its buckets and the next seats' prices kept (``next_fares``)."""
    buckets: str
    next_fares: str


class OpenBucket(NamedTuple):
    """The cheapest open bucket of a cabin's buckets as read: its index (in selling order), price and seats left,
    and where its seats-left figure starts in the buckets' text (from 1, as SQL counts) after what comes before it."""
    bucket: int
    price: int
    left: int
    at: int
    before: str
    ladder: bool  # the next seats' prices kept, as read, let the sale drop its seats from them


def open_bucket(read: AsRead, n: int) -> OpenBucket | None:
    """The cheapest open bucket of the cabin as ``read``, if a sale of ``n`` seats from it leaves it open and may
    be made in place (see above)."""
    at, buckets = 1, read.buckets
    items = buckets.split(" ")
    for index, item in enumerate(items):
        price, left, _ = item.split(":")
        if left != "0":
            seats = int(left)
            if seats <= n:
                return None
            kept = read.next_fares.count(" ") + 1 if read.next_fares else 0
            ladder = kept >= n + pricing.MAX_SEATED or \
                kept >= seats + sum(int(later.split(":")[1]) for later in items[index + 1:])  # every seat left
            if seats < n + LADDER_SEATS and not ladder:
                return None
            return OpenBucket(index, int(price), seats, at + len(price) + 1, buckets[:at + len(price)], ladder)
        at += len(item) + 1
    return None


def _sell_in_place(flight_id: int, cabin: str, n: int, bucket: OpenBucket) -> list[SoldSeat] | None:
    """The seats sold from the cheapest open bucket, read as ``bucket``, at its price; None when the row says
    otherwise (nothing sold, nothing locked). A bucket read as roomy may have fewer seats by now: the second
    statement tries it then."""
    rows = []
    where = dict(flight_id=flight_id, cabin=cabin, n=n, at=bucket.at, before=bucket.before)
    if bucket.left >= n + LADDER_SEATS:
        rows = _SELL_FROM_OPEN_BUCKET.rows(database, keeps=LADDER_SEATS, **where)
    if not rows and bucket.ladder:
        rows = _SELL_FROM_LADDER.rows(database, keeps=1, shown=pricing.MAX_SEATED, **where)
    return [SoldSeat(bucket.bucket, bucket.price)] * n if rows else None


def _take_from_buckets(flight_id: int, cabin: str, n: int) -> list[SoldSeat] | None:
    """The seats fare_sell sold (each bucket's index and price), or None when too few are left."""
    rows = _TAKE_FROM_BUCKETS.rows(database, flight_id=flight_id, cabin=cabin, n=n)
    if not rows:
        return None
    return [SoldSeat(int(bucket), int(price)) for bucket, price in (seat.split(":") for seat in rows[0][0].split())]


def take_seats(flight_ids: list[int], cabin: str, n: int,
               in_buckets: Mapping[int, AsRead] = MappingProxyType({}),
               moved: Callable[[int], AsRead] | None = None) -> tuple[int | None, dict[int, list[SoldSeat]]]:
    """Take ``n`` seats of ``cabin`` on each flight, cheapest open bucket first: (the id of the first flight that
    has too few, for the caller to roll back, or None; each flight's seats sold, in selling order). Flights go
    in id order so two return bookings over the same pair lock the rows alike and cannot deadlock; take seats
    last in a transaction, so the hot row stays locked briefly. ``in_buckets``: the flights read as priced in
    buckets (as read), whose seats PostgreSQL sells in one statement, or two when the buckets
    moved since they were read (a cabin never turns from flat to buckets). ``moved(flight_id)``: called, while
    this has locked no row yet, when the first flight's buckets are found to have moved (others bought or gave
    seats back since they were read), to price the hold again before any row is locked; it returns the buckets it
    read, from which the seats are taken again, so a hold's re-pricing does not keep the hot row locked."""
    sold: dict[int, list[SoldSeat]] = {}
    one_statement = is_postgres(database)
    for flight_id in sorted(flight_ids):
        if n and one_statement and flight_id in in_buckets:
            taken, bucket = None, open_bucket(in_buckets[flight_id], n)
            if bucket is not None:
                taken = _sell_in_place(flight_id, cabin, n, bucket)
                if taken is None and moved is not None and not sold:  # moved since read; nothing locked yet
                    bucket = open_bucket(moved(flight_id), n)
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


def buckets_now(flight_id: int, cabin: str) -> AsRead:
    """A cabin's buckets as they stand (a plain read: no lock)."""
    return AsRead(*_BUCKETS_NOW.rows(database, flight_id=flight_id, cabin=cabin)[0])


_BUCKETS_NOW = Statement("seats_buckets_now", lambda d: """SELECT buckets, next_fares FROM seat_inventory
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
    none). A booking of adults only keeps its seats' bucket on each leg (migration 016; None in a cabin priced flat,
    and in a booking made before fare buckets, which holds one seat per passenger)."""
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
    legs: list[tuple] = list(BookingFlight.select(BookingFlight.flight, BookingFlight.seat_bucket)
                             .where(BookingFlight.booking == ref).tuples())  # type: ignore[arg-type]
    return {flight_id: [bucket] * n for flight_id, bucket in legs}


def rebook_seats(ref: str, sold: dict[int, list[SoldSeat]]) -> None:
    """Record the buckets a late payment won an expired booking's seats back from (its price stays): on its fare
    rows, or, a booking of adults only that keeps them on its legs, there while each leg's seats came from one
    bucket (else as fare rows, each adult paying the leg's fare, as ``hold_sql`` writes them)."""
    if not BookingFare.select().where(BookingFare.booking == ref).exists():
        if all(seat == seats[0] for seats in sold.values() for seat in seats):
            for flight_id, seats in sold.items():
                BookingFlight.update(seat_bucket=seats[0].bucket,
                                     seat_price=seats[0].price if seats[0].bucket is not None else None).where(
                    (BookingFlight.booking == ref) & (BookingFlight.flight == flight_id)).execute()
            return
        legs = list(BookingFlight.select().where(BookingFlight.booking == ref))
        BookingFare.insert_many([dict(booking=ref, passenger=i, flight_id=leg.flight_id, bucket=seat.bucket,
                                      bucket_price=seat.price, amount=leg.fare_amount, currency=leg.currency)
                                 for leg in legs for i, seat in enumerate(sold[leg.flight_id])]).execute()
        BookingFlight.update(seat_bucket=None, seat_price=None).where(BookingFlight.booking == ref).execute()
        return
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
