"""Fares like an airline's through the API and the service: fare buckets, passenger types, the held price, on
SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import BookingStatus, FareChanged
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.booking import bookings, states
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.models import Booking, BookingFare, SeatInventory
from tests.flights.builders import (UOW, add_airports, add_flight, booking_body, booking_request, buckets_of,
                                    passenger, passenger_body, price_in_buckets, seats_left)

#: 15 days ahead: the advance-purchase rule's 100 % band (14-20 days), so a seat costs its bucket's price
AHEAD = dt.timedelta(days=15, hours=6)
TODAY = dt.date.today()


def _born(years: int, days: int = 0) -> str:
    return (TODAY - dt.timedelta(days=round(years * 365.25) + days)).isoformat()


def _family(adults: int = 2, children: int = 1, infants: int = 1) -> list[dict]:
    people = [passenger_body(i) for i in range(adults)]
    people += [passenger_body(10 + i, first_name=f"Kid{i}", date_of_birth=_born(7), type="child")
               for i in range(children)]
    people += [passenger_body(20 + i, first_name=f"Baby{i}", date_of_birth=_born(1), type="infant")
               for i in range(infants)]
    return people


def _bucketed(buckets=((10000, 2), (15000, 3), (30000, 5)), ahead=AHEAD):
    add_airports()
    flight = add_flight(departs_in=ahead)
    price_in_buckets(flight, list(buckets))
    return flight


def test_a_party_that_spans_two_buckets_pays_each_seats_own_price(system, traveller):
    flight = _bucketed()
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=3))
    assert resp.status_code == 201, resp.text
    assert resp.json["total"] == {"amount": 10000 + 10000 + 15000, "currency": "USD"}
    assert [f["fare"]["amount"] for f in resp.json["fares"]] == [10000, 10000, 15000]
    assert buckets_of(flight.id) == [(10000, 0, 2), (15000, 2, 3), (30000, 5, 5)]
    inventory = SeatInventory.get(flight=flight.id, cabin="economy")
    assert (inventory.seats_left, inventory.fare_amount) == (7, 15000)
    assert inventory.next_fares == "15000 15000 30000 30000 30000 30000 30000"


def test_children_and_infants_pay_their_shares_and_infants_take_no_seat(system, traveller):
    flight = _bucketed(((10000, 2), (20000, 8)))
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=_family(2, 1, 1)))
    assert resp.status_code == 201, resp.text
    booking = resp.json
    # adults take the cheapest seats; the child's is the next (75 % of 200.00); the infant pays 10 % of the
    # first adult's fare and sits on a lap
    assert [f["fare"]["amount"] for f in booking["fares"]] == [10000, 10000, 15000, 1000]
    assert booking["total"]["amount"] == 36000
    assert [p["type"] for p in booking["passengers"]] == ["adult", "adult", "child", "infant"]
    assert seats_left(flight.id) == 7


def test_without_a_type_the_date_of_birth_decides(system, traveller):
    flight = _bucketed(((10000, 10),))
    people = [passenger_body(0), passenger_body(1, first_name="Kid", date_of_birth=_born(5))]
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=people))
    assert resp.status_code == 201, resp.text
    assert [p["type"] for p in resp.json["passengers"]] == ["adult", "child"]
    assert resp.json["total"]["amount"] == 10000 + 7500


def test_a_date_of_birth_that_does_not_match_the_type_names_the_passenger_and_the_rule(system, traveller):
    flight = _bucketed()
    people = [passenger_body(0), passenger_body(1, first_name="Grace", last_name="Hopper", type="child")]
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=people))
    assert resp.status_code == 400
    error = resp.json["error"]
    assert error["field"] == "passengers[1].date_of_birth"
    assert "Grace Hopper (passenger 2)" in error["message"] and "a child is 2 to 11" in error["message"]
    assert buckets_of(flight.id)[0] == (10000, 2, 2) and Booking.select().count() == 0


def test_a_child_who_turns_twelve_before_the_flight_is_an_adult_that_day(system, traveller):
    flight = _bucketed()
    day = clock.from_db(flight.departs_at).date()
    twelve_that_week = day.replace(year=day.year - 12) - dt.timedelta(days=3)
    people = [passenger_body(0), passenger_body(1, date_of_birth=twelve_that_week.isoformat(), type="child")]
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=people))
    assert resp.status_code == 400 and "an adult" in resp.json["error"]["message"] \
        and "a child is 2 to 11" in resp.json["error"]["message"]


def test_an_infant_needs_an_adults_lap_and_an_adult_must_travel(system, traveller):
    flight = _bucketed()
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=_family(1, 0, 2)))
    assert resp.status_code == 400 and "one per adult" in resp.json["error"]["message"]
    alone = [passenger_body(0, first_name="Kid", date_of_birth=_born(8))]
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=alone))
    assert resp.status_code == 400 and "an adult" in resp.json["error"]["message"]
    resp = traveller.post("/api/flights/book", json=booking_body(
        flight.id, passengers=[passenger_body(0, type="senior")]))
    assert resp.status_code == 400 and resp.json["error"]["field"] == "passengers[0].type"


def test_a_price_that_rose_since_search_is_refused_with_the_new_total_and_nothing_held(system, traveller):
    flight = _bucketed()
    seen = {"amount": 20000, "currency": "USD"}  # two seats at 100.00, as search showed
    assert traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=1)).status_code == 201
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=2, expected_total=seen))
    assert resp.status_code == 409 and resp.json["error"]["code"] == "fare_changed"
    assert resp.json["error"]["total"] == {"amount": 25000, "currency": "USD"}
    assert resp.json["error"]["expected_total"] == seen
    assert buckets_of(flight.id)[:2] == [(10000, 1, 2), (15000, 3, 3)] and seats_left(flight.id) == 9
    ok = traveller.post("/api/flights/book", json=booking_body(
        flight.id, passengers=2, expected_total={"amount": 25000, "currency": "USD"}))
    assert ok.status_code == 201 and ok.json["total"]["amount"] == 25000
    bad = traveller.post("/api/flights/book", json=booking_body(flight.id, expected_total={"amount": "x"}))
    assert bad.status_code == 400 and bad.json["error"]["field"] == "expected_total"


def test_a_held_price_stands_and_an_expired_hold_gives_its_seats_back_to_their_buckets(system, traveller):
    flight = _bucketed()
    first = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=3)).json
    second = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=1)).json
    assert second["total"]["amount"] == 15000
    assert buckets_of(flight.id) == [(10000, 0, 2), (15000, 1, 3), (30000, 5, 5)]
    # the first hold lapses: its two 100.00 seats and one 150.00 seat go back where they came from
    later = clock.now() + dt.timedelta(minutes=16)
    Booking.update(hold_expires_at=clock.to_db(later + dt.timedelta(hours=1))).where(
        Booking.ref == second["ref"]).execute()
    assert states.release_expired_holds(UOW, later) == 1
    assert buckets_of(flight.id) == [(10000, 2, 2), (15000, 2, 3), (30000, 5, 5)]
    assert SeatInventory.get(flight=flight.id, cabin="economy").fare_amount == 10000
    assert traveller.get(f"/api/tickets/{first['ref']}").json["status"] == BookingStatus.EXPIRED
    # the second still costs what it was held at
    assert traveller.get(f"/api/tickets/{second['ref']}").json["total"]["amount"] == 15000


def test_a_cancelled_booking_gives_its_seats_back_to_their_buckets(system, traveller):
    flight = _bucketed()
    booking = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=_family(2, 1, 1))).json
    assert buckets_of(flight.id)[:2] == [(10000, 0, 2), (15000, 2, 3)]
    assert traveller.post(f"/api/tickets/{booking['ref']}/cancel").status_code == 200
    assert buckets_of(flight.id) == [(10000, 2, 2), (15000, 3, 3), (30000, 5, 5)]
    assert BookingFare.select().where(BookingFare.booking == booking["ref"]).count() == 4


def test_the_advance_purchase_rule_prices_a_late_booking_higher(system, traveller):
    flight = _bucketed(((10000, 10),), ahead=dt.timedelta(days=1, hours=6))
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=_family(1, 1, 1)))
    assert resp.status_code == 201, resp.text
    # 0-2 days before: 130 % (adult 130.00, child 75 % of it, infant 10 %)
    assert [f["fare"]["amount"] for f in resp.json["fares"]] == [13000, 9750, 1300]


def test_a_flat_cabin_keeps_its_one_fare_for_every_seat_and_every_day(system, traveller):
    add_airports()
    flight = add_flight(departs_in=dt.timedelta(days=1, hours=6), cabins={"economy": (5, 25000)})
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=_family(2, 1, 0)))
    assert resp.status_code == 201, resp.text
    assert [f["fare"]["amount"] for f in resp.json["fares"]] == [25000, 25000, 18750]
    assert SeatInventory.get(flight=flight.id, cabin="economy").buckets == ""
    assert traveller.post(f"/api/tickets/{resp.json['ref']}/cancel").status_code == 200
    assert seats_left(flight.id) == 5


def test_in_process_booking_meets_the_same_rules(system):
    flight = _bucketed()
    request = booking_request(flight.id, [passenger(0), passenger(1)], expected_total=Money(19999, "USD"))
    with pytest.raises(FareChanged) as raised:
        bookings.hold_seats(UOW, 1, request, BookingRules())
    assert raised.value.details["total"] == {"amount": 20000, "currency": "USD"}


def test_a_return_journey_is_priced_by_its_own_days_before_as_search_prices_it(system, traveller):
    out = _bucketed(((10000, 10),), ahead=dt.timedelta(days=1, hours=6))  # 130 %
    back = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=15, hours=6))
    price_in_buckets(back, [(20000, 10)])  # 100 %
    resp = traveller.post("/api/flights/book", json=booking_body(out.id, passengers=1, return_flight_id=back.id))
    assert resp.status_code == 201, resp.text
    assert resp.json["total"]["amount"] == 13000 + 20000


@pytest.mark.parametrize("state, n", [("100:2:2 150:3:3 300:5:5", 3), ("100:0:2 150:1:3 300:5:5", 4),
                                      ("100:1:2 150:0:3 300:9:9", 9), ("100:2:2", 2), ("100:0:2 150:5:5", 5),
                                      ("100:3:3 150:0:3 200:20:20", 1)])
def test_postgresqls_fare_sell_says_what_the_pricing_rules_say(system, state, n):
    from flightbook.kernel.db import is_postgres
    from flightbook.modules.flights import models
    from flightbook.modules.flights.catalogue import pricing
    if not is_postgres(models.database):
        pytest.skip("the function is PostgreSQL's (SQLite takes the seats with pricing.take)")
    after, sold = pricing.take(pricing.parse_state(state), n)
    row = models.database.execute_sql("SELECT after, sold, ladder, next_fare, open_at FROM fare_sell(%s, %s)",
                                      [state, n]).fetchone()
    assert row[0] == pricing.state_text(after)
    assert row[1] == " ".join(f"{bucket}:{price}" for bucket, price in sold)
    assert row[2] == pricing.ladder_text([(s.price, s.left) for s in after], 27)  # migration 015: 27 kept
    assert row[3] == (pricing.next_price(after) or after[-1].price)
    first_open = next((i for i, s in enumerate(after) if s.left > 0), None)
    if first_open is None:
        assert row[4] is None
    else:  # the cheapest open bucket's seats left start there
        assert row[0][row[4] - 1:].split(":")[0] == str(after[first_open].left)
        assert row[0][:row[4] - 1].count(" ") == first_open
