"""Never oversell: many buyers at once, in threads (a connection each) and in separate processes,
on SQLite and PostgreSQL; books, cancels, confirms and expiries racing each other; connecting journeys
that share legs, held all or none in one fixed order; and fare buckets raced for, every booking paying exactly
its seats' bucket prices."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import threading

import pytest

from flightbook.contracts.flights import InvalidTransition, SeatsUnavailable
from flightbook.kernel import clock
from flightbook.kernel.auth import Principal
from flightbook.kernel.db import open_database
from flightbook.modules.flights import models
from flightbook.modules.flights.booking import bookings, states
from flightbook.modules.flights.models import Booking, Passenger
from tests.flights.builders import (UOW, add_airports, add_flight, add_leg, booking_request, buckets_of, itinerary,
                                    local, price_in_buckets, seats_left)

RULES = bookings.BookingRules()
ATTEMPTS = 200
CAPACITY = 50


def run_together(workers: int, work) -> list:
    """Run ``work(i)`` on ``workers`` threads released at once; each thread uses (and closes) its own
    connection. Returns what each returned; re-raises the first unexpected error."""
    start = threading.Barrier(workers)
    results, errors = [None] * workers, []

    def run(i):
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            models.database.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def book_repeatedly(flight_id: int, attempts: int, user_id: int) -> tuple[int, int]:
    held = sold_out = 0
    for _ in range(attempts):
        try:
            bookings.hold_seats(UOW, user_id, booking_request(flight_id), RULES)
            held += 1
        except SeatsUnavailable:
            sold_out += 1
    return held, sold_out


def held_passengers(flight_id: int, statuses=("HELD", "CONFIRMED")) -> int:
    return (Passenger.select().join(Booking)
            .join(models.BookingFlight, on=(models.BookingFlight.booking == Booking.ref))
            .where((models.BookingFlight.flight == flight_id) & Booking.status.in_(list(statuses))).count())


@pytest.mark.slow
def test_200_buyers_in_threads_get_exactly_the_50_seats(system):
    flight = add_flight(cabins={"economy": (CAPACITY, 12000)})
    workers = 25
    outcomes = run_together(workers, lambda i: book_repeatedly(flight.id, ATTEMPTS // workers, user_id=i + 1))
    assert sum(h for h, _ in outcomes) == CAPACITY
    assert sum(s for _, s in outcomes) == ATTEMPTS - CAPACITY
    assert seats_left(flight.id) == 0
    assert held_passengers(flight.id) == CAPACITY


def _book_in_a_process(url: str, flight_id: int, attempts: int, user_id: int, start, results) -> None:
    models.database.initialize(open_database(url))
    try:
        start.wait()
        results.put(book_repeatedly(flight_id, attempts, user_id))
    except BaseException as exc:  # noqa: BLE001 - the parent fails the test on it
        results.put(repr(exc))
    finally:
        models.database.close()


@pytest.mark.slow
def test_200_buyers_in_separate_processes_get_exactly_the_50_seats(system, settings):
    flight = add_flight(cabins={"economy": (CAPACITY, 12000)})
    models.database.close()
    ctx = multiprocessing.get_context("spawn")
    processes = 8
    start, results = ctx.Barrier(processes), ctx.Queue()
    children = [ctx.Process(target=_book_in_a_process,
                            args=(settings.databases["flights"], flight.id, ATTEMPTS // processes, i + 1,
                                  start, results)) for i in range(processes)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sum(h for h, _ in outcomes) == CAPACITY
    assert sum(s for _, s in outcomes) == ATTEMPTS - CAPACITY
    assert seats_left(flight.id) == 0
    assert held_passengers(flight.id) == CAPACITY


@pytest.mark.slow
def test_books_cancels_confirms_and_expiries_keep_inventory_exact(system):
    capacity = 40
    out = add_flight("LHR", "JFK", cabins={"economy": (capacity, 10000)})
    back = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=12), cabins={"economy": (capacity, 10000)})
    short_hold = bookings.BookingRules(hold_minutes=0)  # lapses at once: fodder for the sweeper
    stop = threading.Event()

    def traveller(i):
        rng = random.Random(i)
        me = Principal(kind="user", user_id=i + 1)
        for step in range(25):
            ret = back.id if rng.random() < 0.5 else None
            rules = short_hold if rng.random() < 0.3 else RULES
            try:
                ref = bookings.hold_seats(UOW, me.user_id, booking_request(out.id, rng.randint(1, 3),
                                                                     return_flight_id=ret), rules).ref
            except SeatsUnavailable:
                continue
            try:
                if rng.random() < 0.5:
                    bookings.confirm_booking(UOW, ref, f"pay-{i}-{step}")
                if rng.random() < 0.5:
                    bookings.cancel_booking(UOW, ref, me, RULES)
            except InvalidTransition:  # the sweeper expired it first
                pass

    def sweeper(_):
        swept = 0
        while not stop.is_set():
            swept += states.release_expired_holds(UOW)
        return swept

    sweeping = threading.Thread(target=lambda: run_together(2, sweeper))
    sweeping.start()
    try:
        run_together(8, traveller)
    finally:
        stop.set()
        sweeping.join(timeout=60)
    for flight in (out, back):
        assert seats_left(flight.id) == capacity - held_passengers(flight.id)
    assert Booking.select().where(Booking.status == "EXPIRED").count() > 0
    assert Booking.select().where(Booking.status == "CANCELLED").count() > 0
    states.release_expired_holds(UOW)
    for flight in (out, back):
        assert seats_left(flight.id) == capacity - held_passengers(flight.id)


@pytest.mark.slow
def test_sweeper_and_payment_racing_for_lapsing_holds_move_each_once(system):
    flight = add_flight(cabins={"economy": (30, 10000)})
    now = clock.now()
    refs = [bookings.hold_seats(UOW, 1, booking_request(flight.id, 2), RULES, now=now).ref for _ in range(15)]
    lapse = now + dt.timedelta(minutes=RULES.hold_minutes)
    confirmed = []

    def pay(_):
        for ref in refs:
            try:  # a payment that believes it is just in time
                bookings.confirm_booking(UOW, ref, f"pay-{ref}", now=lapse - dt.timedelta(seconds=1))
                confirmed.append(ref)
            except InvalidTransition:
                pass

    def sweep(_):
        return states.release_expired_holds(UOW, now=lapse)

    run_together(2, lambda i: pay(i) if i == 0 else sweep(i))
    statuses = {b.ref: b.status for b in Booking.select()}
    assert set(statuses.values()) <= {"CONFIRMED", "EXPIRED"}
    assert sorted(confirmed) == sorted(r for r, s in statuses.items() if s == "CONFIRMED")
    assert seats_left(flight.id) == 30 - 2 * len(confirmed)


@pytest.mark.slow
def test_connecting_journeys_sharing_legs_never_oversell_or_deadlock(system):
    """Journeys over shared legs, their flight ids both rising and falling in flying order, booked and cancelled
    at once: every booking gets all its legs or none, and each leg's seats match its bookings exactly."""
    add_airports("JFK", "ORD", "LAX", "BOS", "DEN")
    day = dt.date.today() + dt.timedelta(days=30)
    capacity = 12
    onward = add_leg("ORD", "LAX", local("ORD", day, "11:00"), 255, seats=capacity)  # the lowest id: shared by most
    from_new_york = add_leg("JFK", "ORD", local("JFK", day, "08:00"), 165, seats=capacity)
    from_boston = add_leg("BOS", "ORD", local("BOS", day, "08:00"), 150, seats=capacity)
    back_first = add_leg("LAX", "DEN", local("LAX", day + dt.timedelta(days=3), "07:00"), 150, seats=capacity)
    back_home = add_leg("DEN", "JFK", local("DEN", day + dt.timedelta(days=3), "11:30"), 240, seats=capacity)
    journeys = [  # (outbound, return): flying order against id order in most of them
        (itinerary(from_new_york, onward), None),
        (itinerary(from_boston, onward), None),
        (itinerary(onward), None),
        (itinerary(from_new_york, onward), itinerary(back_first, back_home)),
        (itinerary(from_new_york), None),
    ]
    legs = [onward, from_new_york, from_boston, back_first, back_home]

    def traveller(i):
        rng = random.Random(i)
        me = Principal(kind="user", user_id=i + 1)
        held = 0
        for _ in range(20):
            outbound_id, return_id = rng.choice(journeys)
            try:
                ref = bookings.hold_seats(UOW, me.user_id, booking_request(None, rng.randint(1, 3),
                                                                     outbound_id=outbound_id, return_id=return_id),
                                          RULES).ref
                held += 1
            except SeatsUnavailable:
                continue
            if rng.random() < 0.4:
                bookings.cancel_booking(UOW, ref, me, RULES)
        return held

    held = run_together(8, traveller)
    assert sum(held) > capacity  # cancellations gave seats back to later buyers
    for booking in Booking.select():
        outbound_id, return_id = _journey_of(booking.ref)
        assert (outbound_id, return_id) in journeys  # all of a journey's legs, never some
    for leg in legs:
        assert seats_left(leg.id) == capacity - held_passengers(leg.id)
    assert any(seats_left(leg.id) < capacity for leg in legs)


def _journey_of(ref: str) -> tuple[str, str | None]:
    rows = (models.BookingFlight.select(models.BookingFlight, models.Flight).join(models.Flight)
            .where(models.BookingFlight.booking == ref).order_by(models.Flight.departs_at))
    out = [r.flight_id for r in rows if r.direction == "outbound"]
    back = [r.flight_id for r in rows if r.direction == "return"]
    return "-".join(map(str, out)), ("-".join(map(str, back)) or None)


#: five buckets of ten seats, 100.00 to 500.00 (booked 15 days ahead: the advance-purchase rule's 100 %)
BUCKETS = [(10000, 10), (20000, 10), (30000, 10), (40000, 10), (50000, 10)]
FIFTEEN_DAYS = dt.timedelta(days=15, hours=6)


def _bucketed_flight():
    add_airports()
    flight = add_flight(departs_in=FIFTEEN_DAYS)
    price_in_buckets(flight, BUCKETS)
    return flight


def buy_in_parties(flight_id: int, attempts: int, user_id: int, cancel_share: float = 0.0) -> tuple[int, int]:
    """Parties of 1-3 adults until the cabin is full; some cancel again (their seats back to their buckets)."""
    rng = random.Random(user_id)
    me = Principal(kind="user", user_id=user_id)
    held = sold_out = 0
    for _ in range(attempts):
        try:
            ref = bookings.hold_seats(UOW, user_id, booking_request(flight_id, rng.randint(1, 3)), RULES).ref
            held += 1
        except SeatsUnavailable:
            sold_out += 1
            continue
        if rng.random() < cancel_share:
            bookings.cancel_booking(UOW, ref, me, RULES)
    return held, sold_out


def assert_paid_is_what_the_buckets_sold(flight_id: int) -> None:
    """What the live bookings pay adds up to the bucket prices of the seats sold, and no seat is oversold."""
    live = list(Booking.select().where(Booking.status.in_(["HELD", "CONFIRMED"])))
    state = buckets_of(flight_id)
    assert sum(b.total_amount for b in live) == sum(price * (size - left) for price, left, size in state)
    assert sum(size - left for _, left, size in state) == held_passengers(flight_id) == CAPACITY - seats_left(flight_id)
    assert all(0 <= left <= size for _, left, size in state)


@pytest.mark.slow
def test_buyers_racing_for_each_buckets_last_seats_pay_exactly_the_buckets_prices(system):
    flight = _bucketed_flight()
    outcomes = run_together(16, lambda i: buy_in_parties(flight.id, 12, user_id=i + 1, cancel_share=0.25))
    assert sum(h for h, _ in outcomes) > 0
    assert_paid_is_what_the_buckets_sold(flight.id)
    # and to the last seat: the rest sell out exactly, every bucket empty, the sum of every price paid
    run_together(8, lambda i: buy_in_parties(flight.id, 20, user_id=100 + i))
    assert seats_left(flight.id) == 0 and [left for _, left, _ in buckets_of(flight.id)] == [0] * 5
    assert_paid_is_what_the_buckets_sold(flight.id)
    assert sum(b.total_amount for b in Booking.select().where(Booking.status == "HELD")) == \
        sum(price * size for price, size in BUCKETS)


def _buy_in_a_process(url: str, flight_id: int, attempts: int, user_id: int, start, results) -> None:
    models.database.initialize(open_database(url))
    try:
        start.wait()
        results.put(buy_in_parties(flight_id, attempts, user_id, cancel_share=0.2))
    except BaseException as exc:  # noqa: BLE001 - the parent fails the test on it
        results.put(repr(exc))
    finally:
        models.database.close()


@pytest.mark.slow
def test_buyers_in_separate_processes_pay_exactly_the_buckets_prices(system, settings):
    flight = _bucketed_flight()
    models.database.close()
    ctx = multiprocessing.get_context("spawn")
    processes = 8
    start, results = ctx.Barrier(processes), ctx.Queue()
    children = [ctx.Process(target=_buy_in_a_process,
                            args=(settings.databases["flights"], flight.id, 15, i + 1, start, results))
                for i in range(processes)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert_paid_is_what_the_buckets_sold(flight.id)
    assert sum(s for _, s in outcomes) > 0  # the cabin filled up: the last buckets' seats were raced for


def test_confirming_at_once_with_the_same_payment_succeeds_for_each(system):
    """The payment's own request and the saga's PaymentSucceeded handler confirm together: both get the
    confirmed booking (the one that loses the conditional UPDATE finds its own payment there), one event."""
    flight = add_flight(cabins={"economy": (30, 10000)})
    for round_ in range(10):
        ref = bookings.hold_seats(UOW, 1, booking_request(flight.id, 1), RULES).ref
        views = run_together(4, lambda i: bookings.confirm_booking(UOW, ref, f"pay-{round_}"))
        assert {v.status for v in views} == {"CONFIRMED"}
        assert Booking.get(Booking.ref == ref).payment_id == f"pay-{round_}"
    clash = bookings.hold_seats(UOW, 1, booking_request(flight.id, 1), RULES).ref
    bookings.confirm_booking(UOW, clash, "pay-first")
    with pytest.raises(InvalidTransition, match="another payment"):
        bookings.confirm_booking(UOW, clash, "pay-second")
