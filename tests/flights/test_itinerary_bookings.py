"""Booking a journey by its itinerary id from search, on both backends: every leg's seats in one go or none,
the connection rules checked again (a forged id is a 4xx, never a 500), each leg and layover in the booking,
and cancel and expiry giving back every leg."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from flightbook.contracts.flights import FlightQuery, SeatsUnavailable
from flightbook.kernel import clock
from flightbook.kernel.auth import Principal
from flightbook.modules.flights.booking import bookings, states
from flightbook.modules.flights.catalogue import search
from flightbook.modules.flights.models import Booking, BookingFlight, Flight, SeatInventory
from tests.flights.builders import (UOW, add_airports, add_leg, booking_body, booking_request, itinerary, local,
                                    passenger, seats_left)

DAY = dt.date.today() + dt.timedelta(days=20)
BACK = DAY + dt.timedelta(days=5)


@pytest.fixture
def trip(system):
    """JFK-ORD-LAX out on DAY (lands 09:45 in Chicago, leaves 11:00), LAX-DEN-JFK back on BACK."""
    add_airports("JFK", "ORD", "LAX", "DEN")
    return {"out": [add_leg("JFK", "ORD", local("JFK", DAY, "08:00"), 165, fare=15000, seats=9),
                    add_leg("ORD", "LAX", local("ORD", DAY, "11:00"), 255, fare=21000, seats=9)],
            "back": [add_leg("LAX", "DEN", local("LAX", BACK, "07:00"), 150, fare=12000, seats=9),
                     add_leg("DEN", "JFK", local("DEN", BACK, "11:30"), 240, fare=17000, seats=9)]}


def _body(outbound_id: str, passengers: int = 1, **changes) -> dict:
    body = booking_body(0, passengers, **changes)
    del body["outbound_flight_id"]
    return {**body, "outbound_id": outbound_id}


def test_the_option_id_from_search_books_every_leg_and_the_ticket_lists_legs_and_layovers(trip, traveller, api):
    found = api.get("/api/flights/search", params={"origin": "JFK", "destination": "LAX", "date": DAY.isoformat(),
                                                   "return_date": BACK.isoformat(), "passengers": "2"}).json
    out_id, back_id = found["outbound"][0]["id"], found["return"][0]["id"]
    assert out_id == itinerary(*trip["out"]) and back_id == itinerary(*trip["back"])
    resp = traveller.post("/api/flights/book", json=_body(out_id, 2, return_id=back_id))
    assert resp.status_code == 201, resp.text
    booking = resp.json
    assert booking["total"] == {"amount": 2 * (15000 + 21000 + 12000 + 17000), "currency": "USD"}
    assert booking["total"]["amount"] == found["outbound"][0]["total"]["amount"] + found["return"][0]["total"]["amount"]
    assert [(f["origin"], f["destination"], f["direction"]) for f in booking["flights"]] == [
        ("JFK", "ORD", "outbound"), ("ORD", "LAX", "outbound"), ("LAX", "DEN", "return"), ("DEN", "JFK", "return")]
    assert booking["layovers"] == [{"direction": "outbound", "airport": "ORD", "minutes": 75},
                                   {"direction": "return", "airport": "DEN", "minutes": 60}]
    assert len(booking["fares"]) == 8
    assert all(seats_left(f.id) == 7 for f in trip["out"] + trip["back"])
    expires = clock.from_db(dt.datetime.fromisoformat(booking["hold_expires_at"].rstrip("Z")))
    assert expires <= clock.from_db(trip["out"][0].departs_at)


def test_cancel_and_expiry_give_every_leg_back(trip):
    legs = trip["out"] + trip["back"]
    request = _request(itinerary(*trip["out"]), 3, return_id=itinerary(*trip["back"]))
    held = bookings.hold_seats(UOW, 1, request, bookings.BookingRules())
    assert all(seats_left(f.id) == 6 for f in legs)
    bookings.cancel_booking(UOW, held.ref, _principal(1), bookings.BookingRules())
    assert all(seats_left(f.id) == 9 for f in legs)
    lapsing = bookings.hold_seats(UOW, 1, request, bookings.BookingRules(hold_minutes=0))
    assert all(seats_left(f.id) == 6 for f in legs)
    assert states.release_expired_holds(UOW, now=clock.now() + dt.timedelta(seconds=1)) == 1
    assert Booking.get(Booking.ref == lapsing.ref).status == "EXPIRED"
    assert all(seats_left(f.id) == 9 for f in legs)


def test_a_leg_without_the_seats_makes_the_whole_journey_409_naming_it(trip, traveller):
    first, second = trip["out"]
    SeatInventory.update(seats_left=1).where(SeatInventory.flight == second.id).execute()
    resp = traveller.post("/api/flights/book", json=_body(itinerary(first, second), 2))
    assert resp.status_code == 409, resp.text
    error = resp.json["error"]
    assert error["code"] == "seats_unavailable"
    assert (error["flight_id"], error["flight_number"], error["leg"], error["field"], error["seats_left"]) == (
        second.id, second.flight_number, 2, "outbound_id", 1)
    assert second.flight_number in error["message"] and "leg 2" in error["message"]
    assert seats_left(first.id) == 9 and seats_left(second.id) == 1 and Booking.select().count() == 0


def test_the_hold_itself_names_the_leg_it_could_not_get(trip, monkeypatch):
    """The seats go between the early check and the UPDATE: the conditional UPDATE decides, all or none."""
    first, second = trip["out"]
    checked = bookings.bookable_legs

    def sold_meanwhile(*args, **kwargs):
        legs = checked(*args, **kwargs)
        SeatInventory.update(seats_left=1).where(SeatInventory.flight == second.id).execute()
        return legs
    monkeypatch.setattr(bookings, "bookable_legs", sold_meanwhile)
    with pytest.raises(SeatsUnavailable) as short:
        bookings.hold_seats(UOW, 1, _request(itinerary(first, second), 2), bookings.BookingRules())
    assert short.value.details["flight_id"] == second.id and short.value.details["leg"] == 2
    assert seats_left(first.id) == 9 and Booking.select().count() == 0 and BookingFlight.select().count() == 0


FORGED = [
    ("not an id", "abc", 400, "invalid_itinerary"),
    ("empty parts", "12--13", 400, "invalid_itinerary"),
    ("too many legs", "1-2-3-4", 400, "invalid_itinerary"),
    ("a flight twice", "{a}-{a}", 400, "invalid_itinerary"),
    ("a number too big", "99999999999999999999", 400, "invalid_itinerary"),
    ("an unknown flight", "{a}-987654321", 400, "invalid_itinerary"),
    ("legs out of order", "{b}-{a}", 400, "invalid_itinerary"),
    ("legs that do not meet", "{a}-{c}", 400, "invalid_itinerary"),
    ("not a string", 12, 400, "invalid"),
]


@pytest.mark.parametrize("what, forged, status, code", FORGED, ids=[f[0] for f in FORGED])
def test_a_forged_itinerary_is_a_4xx_and_takes_no_seat(trip, traveller, what, forged, status, code):
    a, b = trip["out"]
    c = trip["back"][1]
    value = forged.format(a=a.id, b=b.id, c=c.id) if isinstance(forged, str) else forged
    resp = traveller.post("/api/flights/book", json=_body(value))
    assert resp.status_code == status, resp.text
    assert resp.json["error"]["code"] == code and resp.json["error"]["field"] == "outbound_id"
    assert Booking.select().count() == 0 and all(seats_left(f.id) == 9 for f in trip["out"] + trip["back"])


def test_flights_that_break_the_connection_rules_are_refused_at_booking(trip, traveller):
    add_airports("BOS")
    first, _ = trip["out"]
    tight = add_leg("ORD", "LAX", local("ORD", DAY, "10:15"), 255)  # 30 min: below the 45 at ORD
    overnight = add_leg("ORD", "LAX", local("ORD", DAY + dt.timedelta(days=1), "08:00"), 255)  # 22 h on the ground
    boston = add_leg("ORD", "BOS", local("ORD", DAY, "11:00"), 140)  # New York to Boston through Chicago
    for second, reason in ((tight, "the connection there takes at least 45 min"), (overnight, "longer than 12 h"),
                           (boston, "too far out of the way")):
        resp = traveller.post("/api/flights/book", json=_body(itinerary(first, second)))
        assert resp.status_code == 400, resp.text
        assert resp.json["error"]["code"] == "invalid_itinerary" and reason in resp.json["error"]["message"]
    assert Booking.select().count() == 0


def test_the_flight_ids_of_before_still_book_a_direct_flight_and_mixing_the_two_is_refused(trip, traveller):
    first, second = trip["out"]
    resp = traveller.post("/api/flights/book", json=booking_body(first.id))
    assert resp.status_code == 201 and [f["id"] for f in resp.json["flights"]] == [first.id]
    assert resp.json["layovers"] == []
    both = traveller.post("/api/flights/book", json={**booking_body(first.id), "outbound_id": str(first.id)})
    assert both.status_code == 400 and both.json["error"]["field"] == "outbound_id"
    neither = traveller.post("/api/flights/book", json={k: v for k, v in booking_body(first.id).items()
                                                        if k != "outbound_flight_id"})
    assert neither.status_code == 400 and neither.json["error"]["field"] == "outbound_id"
    again = traveller.post("/api/flights/book", json=_body(itinerary(first, second),
                                                          return_id=itinerary(first)))
    assert again.status_code == 400 and again.json["error"]["field"] == "return_id"


def test_a_departed_first_leg_is_409_and_a_way_back_before_arrival_is_400(trip, traveller):
    first, second = trip["out"]
    Flight.update(departs_at=clock.to_db(clock.now() - dt.timedelta(hours=1)),
                  arrives_at=clock.to_db(clock.now() + dt.timedelta(minutes=105))) \
        .where(Flight.id == first.id).execute()
    gone = traveller.post("/api/flights/book", json=_body(itinerary(first)))
    assert gone.status_code == 409 and gone.json["error"]["code"] == "flight_departed"
    early_back = add_leg("LAX", "ORD", local("LAX", DAY, "12:00"), 240)  # before the outbound lands at 13:15
    resp = traveller.post("/api/flights/book", json=_body(str(second.id), return_id=str(early_back.id)))
    assert resp.status_code == 400 and resp.json["error"]["field"] == "return_id", resp.text


def test_what_search_offers_is_what_booking_accepts(trip):
    """Every itinerary a search shows books, at the search's total."""
    for max_stops in (0, 1, 2):
        result = search.search_flights(UOW, FlightQuery("JFK", "LAX", DAY, return_date=BACK, max_stops=max_stops))
        for outbound in result.outbound:
            for back in result.inbound:
                held = bookings.hold_seats(UOW, 1, _request(outbound.id, 1, return_id=back.id),
                                           bookings.BookingRules())
                assert held.total == outbound.total + back.total
                bookings.cancel_booking(UOW, held.ref, _principal(1), bookings.BookingRules())


def _request(outbound_id: str, passengers: int = 1, **changes):
    return booking_request(None, passengers, outbound_id=outbound_id, **changes)


def _principal(user_id: int) -> Principal:
    return Principal(kind="user", user_id=user_id)


def test_the_hold_answers_what_reading_the_booking_back_shows(trip):
    """The hold answers from what it wrote, without reading it back: the same view, field for field."""
    people = [passenger(0, gender="F"), passenger(1, first_name="Émile"), passenger(2)]
    request = booking_request(0, people)
    request = dataclasses.replace(request, outbound_flight_id=None, outbound_id=itinerary(*trip["out"]),
                                  return_id=itinerary(*trip["back"]))
    held = bookings.hold_seats(UOW, 7, request, bookings.BookingRules())
    assert held == bookings.get_booking(held.ref)
    assert [(p.first_name, p.gender) for p in held.passengers] == [("Ada0", "F"), ("Émile", None), ("Ada2", None)]
    assert len(held.flights) == 4 and len(held.layovers) == 2 and len(held.fares) == 12
