"""The fast hold (issue 22) with fare buckets and passenger types (issue 21), on SQLite and PostgreSQL: the hold
answers from what it wrote (the same view as reading it back, fares and types included), a taken booking ref
writes nothing under it nor moves a bucket twice, and the statements a hold sends: a flat cabin's as before fare
buckets, and on PostgreSQL a bucketed cabin's as many (its seats sold from the buckets in one statement; SQLite
writes the buckets back in a second UPDATE)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from flightbook.contracts.flights import FareChanged, PassengerType
from flightbook.kernel.auth import Principal
from flightbook.kernel.db import is_postgres
from flightbook.kernel.money import Money
from flightbook.modules.flights.booking import bookings, seats
from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.models import BookingFare, BookingFlight, Passenger, SeatInventory, database
from tests.flights.builders import (UOW, add_airports, add_flight, booking_request, buckets_of, passenger,
                                    price_in_buckets, seats_left)

AHEAD = dt.timedelta(days=15, hours=6)  # the advance-purchase rule's 100 % band: a seat costs its bucket's price
TODAY = dt.date.today()


def _family() -> list:
    return [passenger(0), passenger(1),
            passenger(2, first_name="Kid", date_of_birth=TODAY - dt.timedelta(days=7 * 365)),
            passenger(3, first_name="Baby", date_of_birth=TODAY - dt.timedelta(days=200))]


def _bucketed():
    add_airports("LHR", "JFK")
    flight = add_flight(departs_in=AHEAD)
    price_in_buckets(flight, [(10000, 1), (20000, 2), (30000, 5)])
    return flight


def test_a_bucketed_familys_hold_answers_what_reading_it_back_shows(system):
    flight = _bucketed()
    held = bookings.hold_seats(UOW, 7, booking_request(flight.id, _family()), bookings.BookingRules())
    assert held == bookings.get_booking(held.ref)
    assert [p.type for p in held.passengers] == [PassengerType.ADULT, PassengerType.ADULT, PassengerType.CHILD,
                                                 PassengerType.INFANT]
    # adults: 100.00 (bucket 0) and 200.00 (bucket 1); the child 75 % of 200.00; the infant 10 % of the first adult's
    assert [f.fare.amount for f in held.fares] == [10000, 20000, 15000, 1000]
    assert held.total.amount == 46000 and held.flights[0].fare.amount == 10000
    assert buckets_of(flight.id) == [(10000, 0, 1), (20000, 0, 2), (30000, 5, 5)]
    rows = BookingFare.select().where(BookingFare.booking == held.ref).order_by(BookingFare.passenger)
    assert [(r.bucket, r.bucket_price, r.amount) for r in rows] == [(0, 10000, 10000), (1, 20000, 20000),
                                                                    (1, 20000, 15000), (None, None, 1000)]


def test_a_taken_ref_on_a_bucketed_cabin_writes_nothing_under_it_and_sells_each_seat_once(system, monkeypatch):
    flight = _bucketed()
    first = bookings.hold_seats(UOW, 1, booking_request(flight.id), bookings.BookingRules())
    offered = iter([first.ref, "ZZZZZ2"])
    monkeypatch.setattr(bookings.refs, "new_ref", lambda: next(offered))
    second = bookings.hold_seats(UOW, 2, booking_request(flight.id, 2), bookings.BookingRules())
    assert second.ref == "ZZZZZ2" and second == bookings.get_booking("ZZZZZ2")
    assert second.total.amount == 40000
    assert bookings.get_booking(first.ref) == first
    assert Passenger.select().where(Passenger.booking == first.ref).count() == 1
    assert BookingFare.select().where(BookingFare.booking == first.ref).count() == 0  # adults: the leg says it
    assert _leg_buckets(first.ref) == [(0, 10000)] and _leg_buckets("ZZZZZ2") == [(1, 20000)]
    assert buckets_of(flight.id) == [(10000, 0, 1), (20000, 0, 2), (30000, 5, 5)] and seats_left(flight.id) == 5


def _leg_buckets(ref: str) -> list:
    return [(leg.seat_bucket, leg.seat_price) for leg in BookingFlight.select().where(BookingFlight.booking == ref)]


def test_the_statements_a_hold_sends_flat_as_before_fare_buckets_and_bucketed_as_many_on_postgresql(system):
    add_airports("LHR", "JFK")
    flat = add_flight(departs_in=AHEAD)
    roomy = add_flight(departs_in=AHEAD)
    price_in_buckets(roomy, [(10000, 60), (20000, 30)])
    small = add_flight(departs_in=AHEAD)
    price_in_buckets(small, [(10000, 7), (20000, 9)])
    bucketed = _bucketed()
    rules = bookings.BookingRules()
    for _ in range(2):  # warm: memos, prepared statements; the open bucket found (the first sale), then sold from
        for flight in (flat, roomy, small, bucketed):
            bookings.hold_seats(UOW, 1, booking_request(flight.id), rules)
    sent = {}
    for flight in (flat, roomy, small, bucketed):
        with _Counted(database) as counted:
            bookings.hold_seats(UOW, 1, booking_request(flight.id, _family()), rules)
        sent[flight.id] = counted.statements
    if is_postgres(database):  # all prepared (BEGIN and COMMIT, not counted here, besides)
        assert sent[flat.id] == ["EXECUTE hold_read_legs", "EXECUTE hold_insert_booking", "EXECUTE seats_move"]
        # seats from the cheapest open bucket, which keeps more than the next seats' prices kept: one statement too
        # (migration 014)
        assert sent[roomy.id] == ["EXECUTE hold_read_legs", "EXECUTE hold_insert_booking",
                                  "EXECUTE seats_sell_from_open_bucket"]
        # a small bucket that stays open (5 seats left, 3 taken): one statement, dropping them from the next seats'
        # prices kept (migration 015)
        assert sent[small.id] == ["EXECUTE hold_read_legs", "EXECUTE hold_insert_booking",
                                  "EXECUTE seats_sell_from_ladder"]
        # across buckets (as read): fare_sell's statement alone
        assert sent[bucketed.id] == ["EXECUTE hold_read_legs", "EXECUTE hold_insert_booking",
                                     "EXECUTE seats_take_from_buckets"]
    else:  # SQLite has no data-modifying CTEs: the booking, its legs, passengers and fares in four INSERTs
        assert sent[flat.id] == ["SELECT f.id,"] + ["INSERT INTO"] * 4 + ["UPDATE seat_inventory"]
        assert sent[bucketed.id] == ["SELECT f.id,"] + ["INSERT INTO"] * 4 + ["UPDATE seat_inventory"] * 2


@pytest.mark.parametrize("buckets", [[(10000, 14), (15000, 3), (20000, 25), (30000, 4)],
                                     [(10000, 40), (15000, 3), (20000, 8), (30000, 4)]])
def test_every_sale_and_give_back_leaves_the_buckets_the_pricing_rules_say(system, buckets):
    """Parties of one to three sell a cabin out, a cancelled booking's seats going back to their (cheaper) bucket
    half way: after each, the buckets, the next seats' prices and the fare are what pricing.take and give_back make
    of the buckets before (on PostgreSQL, sales from the open bucket's figure, roomy or small, dropping the seats
    sold from the next seats' prices kept or not, and fare_sell's alike)."""
    add_airports("LHR", "JFK")
    flight = add_flight(departs_in=AHEAD)
    price_in_buckets(flight, buckets)
    rules, expected, refs = bookings.BookingRules(), _state(flight.id), []
    for n in [1, 2, 3] * 15:
        if seats_left(flight.id) < n:
            break
        held = bookings.hold_seats(UOW, 7, booking_request(flight.id, n), rules)
        expected, sold = pricing.take(expected, n)
        assert [f.fare.amount for f in held.fares] == [price for _, price in sold]
        refs.append((held.ref, [bucket for bucket, _ in sold]))
        assert _state(flight.id) == expected and _shown(flight.id) == _shown_by_rules(expected)
        if len(refs) == 8:
            ref, buckets = refs[1]
            bookings.cancel_booking(UOW, ref, Principal(kind="user", user_id=7), rules)
            expected = pricing.give_back(expected, buckets)
            assert _state(flight.id) == expected and _shown(flight.id) == _shown_by_rules(expected)
    assert seats_left(flight.id) == sum(s.left for s in expected) < 3


def _state(flight_id: int) -> list:
    return pricing.parse_state(SeatInventory.get(flight=flight_id, cabin="economy").buckets)


def _shown(flight_id: int) -> tuple:
    """The next nine seats' prices search shows and the fare; the ladder kept (up to 27 prices on PostgreSQL, which
    the in-place sale drops sold seats from) must be the next seats' prices, however many it keeps."""
    row = SeatInventory.get(flight=flight_id, cabin="economy")
    state = pricing.parse_state(row.buckets)
    kept = row.next_fares.split()
    assert kept == pricing.ladder_text([(s.price, s.left) for s in state], len(kept)).split()
    assert len(kept) >= min(pricing.MAX_SEATED, sum(s.left for s in state))
    return " ".join(kept[:pricing.MAX_SEATED]), row.fare_amount


def _shown_by_rules(state: list) -> tuple:
    return pricing.ladder_text([(s.price, s.left) for s in state]), pricing.next_price(state) or state[-1].price


def test_seats_sold_from_the_buckets_between_the_read_and_the_seats_update_are_priced_as_sold(system, monkeypatch):
    """The hold prices the buckets as read and writes the booking before locking the seats' row; when others sold
    from the buckets meanwhile, what the seats UPDATE really sold is what the booking pays (or FareChanged)."""
    flight = _bucketed()
    real = bookings.take_seats

    def another_buyer_first(flight_ids, cabin, n, *rest):
        real(flight_ids, cabin, 1, *rest)  # the cheapest seat goes to someone else, after this hold read the buckets
        return real(flight_ids, cabin, n, *rest)
    monkeypatch.setattr(bookings, "take_seats", another_buyer_first)
    with _Counted(database) as counted:
        held = bookings.hold_seats(UOW, 7, booking_request(flight.id, _family()), bookings.BookingRules())
    if is_postgres(database):  # written again in one statement, the seats' row locked meanwhile
        last_seats = max(i for i, sql in enumerate(counted.statements) if sql == "EXECUTE seats_take_from_buckets")
        assert [sql for sql in counted.statements[last_seats + 1:] if sql.startswith("EXECUTE")] == \
            ["EXECUTE hold_reprice"]
    # as read: 100.00 + 200.00 + child 150.00 + infant 10.00; as sold: 200.00 + 200.00 + child 75 % of 300.00
    assert [f.fare.amount for f in held.fares] == [20000, 20000, 22500, 2000]
    assert held.total.amount == 64500 and held == bookings.get_booking(held.ref)
    rows = BookingFare.select().where(BookingFare.booking == held.ref).order_by(BookingFare.passenger)
    assert [(r.bucket, r.bucket_price) for r in rows] == [(1, 20000), (1, 20000), (2, 30000), (None, None)]
    assert buckets_of(flight.id) == [(10000, 0, 1), (20000, 0, 2), (30000, 4, 5)]

    other = _bucketed()  # read at 100.00, sold at 200.00: more than the client saw, so nothing is held
    with pytest.raises(FareChanged) as refused:
        bookings.hold_seats(UOW, 8, dataclasses.replace(booking_request(other.id), expected_total=Money(10000, "USD")),
                            bookings.BookingRules())
    assert refused.value.details["total"] == {"amount": 20000, "currency": "USD"}
    assert buckets_of(other.id) == [(10000, 1, 1), (20000, 2, 2), (30000, 5, 5)] and seats_left(other.id) == 8
    assert BookingFare.select().where(BookingFare.flight_id == other.id).count() == 0


def test_a_hold_whose_open_bucket_moved_since_read_is_priced_again_before_the_seats_row_is_locked(system,
                                                                                                   monkeypatch):
    """PostgreSQL's in-place sale is conditional on the buckets as read: when another buyer emptied the open bucket
    meanwhile, it sells nothing and locks nothing; the hold reads the buckets again, rewrites its price and takes
    the seats from them: the booking pays the seats' own prices, written before the row was locked."""
    add_airports("LHR", "JFK")
    flight = add_flight(departs_in=AHEAD)
    price_in_buckets(flight, [(10000, 3), (20000, 30)])
    rules = bookings.BookingRules()
    bookings.hold_seats(UOW, 1, booking_request(flight.id), rules)  # fare_sell: the next 27 prices kept
    real = bookings.take_seats

    def another_buyer_first(flight_ids, cabin, n, *rest):
        real(flight_ids, cabin, 2)  # the open bucket's last two seats go to someone else after this hold read it
        return real(flight_ids, cabin, n, *rest)
    monkeypatch.setattr(bookings, "take_seats", another_buyer_first)
    with _Counted(database) as counted:
        held = bookings.hold_seats(UOW, 7, booking_request(flight.id), rules)
    if is_postgres(database):
        sent = [sql for sql in counted.statements if sql.startswith("EXECUTE")]
        mine = sent[sent.index("EXECUTE seats_sell_from_ladder"):]  # after the other buyer's sale
        assert mine == ["EXECUTE seats_sell_from_ladder", "EXECUTE seats_buckets_now", "EXECUTE hold_reprice",
                        "EXECUTE seats_sell_from_open_bucket"]
    assert [f.fare.amount for f in held.fares] == [20000] and held.total.amount == 20000
    assert held == bookings.get_booking(held.ref)
    assert _leg_buckets(held.ref) == [(1, 20000)] and seats.seats_of(held.ref) == {flight.id: [1]}
    assert buckets_of(flight.id) == [(10000, 0, 3), (20000, 29, 30)]
    assert _shown(flight.id) == _shown_by_rules(_state(flight.id))


def test_adults_whose_seats_came_from_one_bucket_keep_it_on_the_leg_and_a_late_payment_records_where_they_came_from(
        system):
    """No fare rows for a party of adults whose seats on each flight came from one bucket: the leg keeps the bucket
    and its price (migration 016), the seats go back to it; seats won back by a late payment from one bucket move
    the leg's, from several are written as fare rows (the price paid stands)."""
    flight = _bucketed()
    rules = bookings.BookingRules()
    one = bookings.hold_seats(UOW, 7, booking_request(flight.id), rules)  # bucket 0
    two = bookings.hold_seats(UOW, 7, booking_request(flight.id, 2), rules)  # bucket 1, both
    three = bookings.hold_seats(UOW, 7, booking_request(flight.id, 2), rules)  # bucket 2
    assert [_leg_buckets(b.ref) for b in (one, two, three)] == [[(0, 10000)], [(1, 20000)], [(2, 30000)]]
    assert BookingFare.select().where(BookingFare.booking.in_([one.ref, two.ref, three.ref])).count() == 0
    assert [b.total.amount for b in (one, two, three)] == [10000, 40000, 60000]
    assert seats.seats_of(two.ref) == {flight.id: [1, 1]}
    assert bookings.get_booking(two.ref).fares == two.fares
    bookings.cancel_booking(UOW, two.ref, Principal(kind="user", user_id=7), rules)
    assert buckets_of(flight.id) == [(10000, 0, 1), (20000, 2, 2), (30000, 3, 5)]
    with database.atomic():
        seats.rebook_seats(three.ref, {flight.id: [seats.SoldSeat(1, 20000)] * 2})
    assert _leg_buckets(three.ref) == [(1, 20000)] and seats.seats_of(three.ref) == {flight.id: [1, 1]}
    with database.atomic():
        seats.rebook_seats(three.ref, {flight.id: [seats.SoldSeat(1, 20000), seats.SoldSeat(2, 30000)]})
    assert _leg_buckets(three.ref) == [(None, None)] and seats.seats_of(three.ref) == {flight.id: [1, 2]}
    rows = BookingFare.select().where(BookingFare.booking == three.ref).order_by(BookingFare.passenger)
    assert [(r.passenger, r.bucket, r.bucket_price, r.amount) for r in rows] == [(0, 1, 20000, 30000),
                                                                                 (1, 2, 30000, 30000)]
    assert bookings.get_booking(three.ref).fares == three.fares and bookings.get_booking(three.ref).total == three.total


def test_the_open_bucket_a_hold_sells_from_in_place_is_found_where_it_was_read():
    """(index, price, seats left, where its figure starts (from 1), the text before it, whether the sale may drop
    its seats from the next seats' prices kept); None where the sale would empty it (fare_sell's)."""
    from flightbook.modules.flights.booking.seats import AsRead, OpenBucket, open_bucket
    nine = " ".join(["100"] * 9)
    assert open_bucket(AsRead("100:5:5 200:9:9", nine), 2) is None  # nine kept, 2 + 9 needed: fare_sell
    ladder = " ".join(["100"] * 5 + ["200"] * 9)
    assert open_bucket(AsRead("100:5:5 200:9:9", ladder), 2) == OpenBucket(0, 100, 5, 5, "100:", True)
    assert open_bucket(AsRead("100:0:5 200:9:9", " ".join(["200"] * 9)), 3) == \
        OpenBucket(1, 200, 9, 13, "100:0:5 200:", True)  # all the seats left kept
    assert open_bucket(AsRead("100:0:5 2000:40:40", nine), 3) == OpenBucket(1, 2000, 40, 14, "100:0:5 2000:", False)
    assert open_bucket(AsRead("100:3:5 200:9:9", ladder), 3) is None  # it would empty the open bucket
    assert open_bucket(AsRead("100:0:5 200:0:9", ""), 1) is None


class _Counted:
    """The statements sent through ``db.execute_sql`` (their first two words), BEGIN and COMMIT aside."""

    def __init__(self, db):
        self.db = getattr(db, "obj", db)
        self.statements: list[str] = []

    def __enter__(self):
        original = self.db.execute_sql

        def counted(sql, params=None, *args, **kwargs):
            self.statements.append(" ".join(sql.split()[:2]))
            return original(sql, params, *args, **kwargs)
        self.db.execute_sql = counted
        return self

    def __exit__(self, *exc):
        del self.db.execute_sql


def test_adults_in_a_flat_cabin_write_what_a_hold_wrote_before_fare_buckets_and_read_the_same(system):
    add_airports("LHR", "JFK")
    flight = add_flight(departs_in=AHEAD, cabins={"economy": (9, 25000)})
    held = bookings.hold_seats(UOW, 7, booking_request(flight.id, 2), bookings.BookingRules())
    assert held == bookings.get_booking(held.ref)
    assert [f.fare.amount for f in held.fares] == [25000, 25000] and held.total.amount == 50000
    assert BookingFare.select().where(BookingFare.booking == held.ref).count() == 0  # the leg keeps the one fare
    family = bookings.hold_seats(UOW, 7, booking_request(flight.id, _family()), bookings.BookingRules())
    assert BookingFare.select().where(BookingFare.booking == family.ref).count() == 4  # a child's share differs
    assert seats_left(flight.id) == 4
    bookings.cancel_booking(UOW, held.ref, Principal(kind="user", user_id=7), bookings.BookingRules())
    assert seats_left(flight.id) == 6  # both seats back, one per passenger as before fare buckets
