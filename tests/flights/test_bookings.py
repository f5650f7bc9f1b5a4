"""Bookings through the HTTP API and the service layer, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from flightbook.contracts.flights import BookingStatus, FlightDeparted, HoldExpired
from flightbook.kernel import clock
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Forbidden
from flightbook.modules.flights.booking import bookings, states
from flightbook.modules.flights.models import Booking, Passenger, User
from tests.conftest import register_and_login
from tests.flights.builders import (UOW, add_airports, add_flight, booking_body, booking_request, passenger,
                                    passenger_body, seats_left)

REF = re.compile(r"^[A-HJ-NP-Z2-9]{6}$")


def _admin(api):
    user_api = register_and_login(api, "boss", password="admin-password")
    User.update(is_admin=True).where(User.username == "boss").execute()
    return api.as_user(api.post("/api/users/login", json={"username": "boss", "password": "admin-password"})
                       .json["token"])


def _confirm(api, service_token, ref, payment_id="pay_1"):
    return api.post(f"/api/tickets/{ref}/confirm", json={"payment_id": payment_id},
                    headers={"Authorization": f"Bearer {service_token()}"})


def test_traveller_holds_seats_and_gets_the_booking_back(system, traveller):
    add_airports()
    flight = add_flight(cabins={"economy": (50, 25000)})
    before = clock.now()
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=2))
    assert resp.status_code == 201, resp.text
    booking = resp.json
    assert REF.match(booking["ref"]) and booking["status"] == "HELD"
    assert booking["total"] == {"amount": 50000, "currency": "USD"}
    assert [f["fare"] for f in booking["fares"]] == [{"amount": 25000, "currency": "USD"}] * 2
    assert [p["first_name"] for p in booking["passengers"]] == ["Ada0", "Ada1"]
    assert booking["flights"][0]["id"] == flight.id and booking["flights"][0]["direction"] == "outbound"
    assert booking["flights"][0]["departs_local"].endswith(("+00:00", "+01:00"))  # Europe/London
    expires = clock.from_db(dt.datetime.fromisoformat(booking["hold_expires_at"].rstrip("Z")))
    assert dt.timedelta(minutes=14) < expires - before <= dt.timedelta(minutes=15, seconds=1)
    assert seats_left(flight.id) == 48
    again = traveller.get(f"/api/tickets/{booking['ref']}")
    assert again.status_code == 200 and again.json == booking
    assert traveller.get(f"/api/tickets/{booking['ref'].lower()}").json["ref"] == booking["ref"]


def test_return_booking_takes_seats_on_both_flights(system, traveller):
    out = add_flight("LHR", "JFK", cabins={"business": (8, 200000)})
    back = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=14), cabins={"business": (8, 180000)})
    resp = traveller.post("/api/flights/book", json=booking_body(out.id, passengers=3, cabin="business",
                                                                  return_flight_id=back.id))
    assert resp.status_code == 201, resp.text
    assert resp.json["total"]["amount"] == 3 * (200000 + 180000)
    assert [f["direction"] for f in resp.json["flights"]] == ["outbound", "return"]
    assert len(resp.json["fares"]) == 6
    assert seats_left(out.id, "business") == seats_left(back.id, "business") == 5


BAD_BOOKINGS = [
    # (what, body changes, status, field)
    ("unknown flight", {"outbound_flight_id": 987654}, 404, "outbound_flight_id"),
    ("flight id too big", {"outbound_flight_id": 2 ** 70}, 400, "outbound_flight_id"),
    ("cabin not sold", {"cabin": "first"}, 400, "cabin"),
    ("unknown cabin", {"cabin": "cargo"}, 400, "cabin"),
    ("no passengers", {"passengers": []}, 400, "passengers"),
    ("ten passengers", {"passengers": [passenger_body(i) for i in range(10)]}, 400, "passengers"),
    ("missing first name", {"passengers": [passenger_body(first_name="  ")]}, 400, "passengers[0].first_name"),
    ("missing last name", {"passengers": [passenger_body(), passenger_body(last_name=None)]}, 400,
     "passengers[1].last_name"),
    ("over-long name", {"passengers": [passenger_body(last_name="x" * 101)]}, 400, "passengers[0].last_name"),
    ("name not text", {"passengers": [passenger_body(first_name=42)]}, 400, "passengers[0].first_name"),
    ("born tomorrow", {"passengers": [passenger_body(date_of_birth=(dt.date.today() + dt.timedelta(days=2))
                                                     .isoformat())]}, 400, "passengers[0].date_of_birth"),
    ("not a date", {"passengers": [passenger_body(date_of_birth="10/12/1985")]}, 400,
     "passengers[0].date_of_birth"),
    ("passenger not an object", {"passengers": ["Ada"]}, 400, "passengers[0]"),
    ("bad email", {"contact_email": "nope"}, 400, "contact_email"),
]


@pytest.mark.parametrize("what,changes,status,field", BAD_BOOKINGS, ids=[c[0] for c in BAD_BOOKINGS])
def test_bad_booking_is_a_clear_4xx_and_takes_no_seat(system, traveller, what, changes, status, field):
    flight = add_flight(cabins={"economy": (50, 25000)})
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, **changes))
    assert resp.status_code == status, resp.text
    assert resp.json["error"]["field"] == field and resp.json["error"]["message"]
    assert seats_left(flight.id) == 50 and Booking.select().count() == 0


def test_departed_flight_and_wrong_return_are_refused(system, traveller):
    gone = add_flight(departs_in=dt.timedelta(hours=-1))
    resp = traveller.post("/api/flights/book", json=booking_body(gone.id))
    assert resp.status_code == 409 and resp.json["error"]["code"] == "flight_departed"
    out = add_flight("LHR", "JFK")
    elsewhere = add_flight("JFK", "CDG", departs_in=dt.timedelta(days=9))
    too_early = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=7, hours=2))  # before the outbound lands
    for back in (elsewhere, too_early, out):
        resp = traveller.post("/api/flights/book", json=booking_body(out.id, return_flight_id=back.id))
        assert resp.status_code == 400 and resp.json["error"]["field"] == "return_flight_id", resp.text
    assert seats_left(out.id) == 50 and Booking.select().count() == 0


def test_not_enough_seats_is_409_with_seats_left_and_takes_none(system, traveller):
    out = add_flight("LHR", "JFK", cabins={"economy": (9, 100)})
    back = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=10), cabins={"economy": (2, 100)})
    resp = traveller.post("/api/flights/book", json=booking_body(out.id, passengers=3, return_flight_id=back.id))
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "seats_unavailable"
    assert resp.json["error"]["seats_left"] == 2 and resp.json["error"]["flight_id"] == back.id
    assert seats_left(out.id) == 9 and seats_left(back.id) == 2


def test_booking_needs_a_signed_in_traveller(system, api, service_token):
    flight = add_flight()
    assert api.post("/api/flights/book", json=booking_body(flight.id)).status_code == 401
    as_service = api.post("/api/flights/book", json=booking_body(flight.id),
                          headers={"Authorization": f"Bearer {service_token()}"})
    assert as_service.status_code == 403
    assert seats_left(flight.id) == 50


def test_only_owner_admin_or_service_see_a_booking(system, api, traveller, service_token):
    flight = add_flight()
    ref = traveller.post("/api/flights/book", json=booking_body(flight.id)).json["ref"]
    stranger = register_and_login(api)
    assert stranger.get(f"/api/tickets/{ref}").status_code == 404
    assert stranger.post(f"/api/tickets/{ref}/cancel").status_code == 404
    admin = _admin(api)
    assert admin.get(f"/api/tickets/{ref}").json["ref"] == ref
    assert admin.post(f"/api/tickets/{ref}/cancel").status_code == 403
    assert traveller.get(f"/api/tickets/{ref}").json["status"] == "HELD" and seats_left(flight.id) == 49
    assert api.get(f"/api/tickets/{ref}", headers={"Authorization": f"Bearer {service_token()}"}).status_code == 200
    assert api.get(f"/api/tickets/{ref}").status_code == 401
    assert traveller.get("/api/tickets/NOSUCH").status_code == 404
    assert traveller.get("/api/tickets/bad!ref").status_code == 404


def test_traveller_lists_own_bookings_newest_first_by_page(system, api, traveller):
    flight = add_flight()
    refs = [traveller.post("/api/flights/book", json=booking_body(flight.id)).json["ref"] for _ in range(5)]
    register_and_login(api).post("/api/flights/book", json=booking_body(flight.id))
    first = traveller.get("/api/tickets", params={"per_page": 2})
    assert first.status_code == 200 and first.json["total"] == 5
    assert [b["ref"] for b in first.json["bookings"]] == refs[::-1][:2]
    last = traveller.get("/api/tickets", params={"per_page": 2, "page": 3}).json
    assert [b["ref"] for b in last["bookings"]] == refs[:1]
    assert traveller.get("/api/tickets", params={"page": 0}).status_code == 400


def test_cancelling_a_hold_gives_seats_back_and_only_once(system, traveller):
    flight = add_flight()
    ref = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=4)).json["ref"]
    assert seats_left(flight.id) == 46
    resp = traveller.post(f"/api/tickets/{ref}/cancel")
    assert resp.status_code == 200 and resp.json["status"] == "CANCELLED" and resp.json["refund_due"] is None
    assert seats_left(flight.id) == 50
    again = traveller.post(f"/api/tickets/{ref}/cancel")
    assert again.status_code == 409 and again.json["error"]["status"] == "CANCELLED"
    assert seats_left(flight.id) == 50


def test_confirm_is_for_services_and_idempotent(system, api, traveller, service_token):
    flight = add_flight()
    ref = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=2)).json["ref"]
    assert traveller.post(f"/api/tickets/{ref}/confirm", json={"payment_id": "pay_1"}).status_code == 403
    assert _confirm(api, service_token, "ZZZZZZ").status_code == 404
    first = _confirm(api, service_token, ref)
    assert first.status_code == 200, first.text
    assert first.json["status"] == "CONFIRMED" and first.json["payment_id"] == "pay_1"
    assert _confirm(api, service_token, ref).json == first.json
    other = _confirm(api, service_token, ref, payment_id="pay_2")
    assert other.status_code == 409 and other.json["error"]["status"] == "CONFIRMED"
    assert seats_left(flight.id) == 48


def test_cancelling_a_confirmed_booking_refunds_by_the_fare_rule(system, api, traveller, service_token):
    early = add_flight(departs_in=dt.timedelta(days=3), cabins={"economy": (10, 30000)})
    late = add_flight(departs_in=dt.timedelta(hours=5), cabins={"economy": (10, 30000)})
    refunds = {}
    for flight in (early, late):
        ref = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=2)).json["ref"]
        assert _confirm(api, service_token, ref).status_code == 200
        resp = traveller.post(f"/api/tickets/{ref}/cancel")
        assert resp.status_code == 200 and resp.json["status"] == "CANCELLED"
        refunds[flight.id] = resp.json["refund_due"]
        assert seats_left(flight.id) == 10
    assert refunds == {early.id: {"amount": 60000, "currency": "USD"}, late.id: {"amount": 0, "currency": "USD"}}


def test_expired_hold_gives_seats_back_and_cannot_be_confirmed(system, api, traveller, service_token):
    flight = add_flight()
    ref = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=3)).json["ref"]
    keep = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=1)).json["ref"]
    assert states.release_expired_holds(UOW) == 0
    Booking.update(hold_expires_at=clock.to_db(clock.now() - dt.timedelta(seconds=1))).where(
        Booking.ref == ref).execute()
    assert states.release_expired_holds(UOW) == 1
    assert states.release_expired_holds(UOW) == 0
    assert traveller.get(f"/api/tickets/{ref}").json["status"] == "EXPIRED"
    assert seats_left(flight.id) == 49
    resp = _confirm(api, service_token, ref)
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "hold_expired" and resp.json["error"]["status"] == "EXPIRED"
    assert traveller.get(f"/api/tickets/{keep}").json["status"] == "HELD"


def test_confirming_a_lapsed_hold_before_the_sweep_expires_it(system, api, traveller, service_token):
    flight = add_flight()
    ref = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=2)).json["ref"]
    Booking.update(hold_expires_at=clock.to_db(clock.now() - dt.timedelta(seconds=1))).where(
        Booking.ref == ref).execute()
    resp = _confirm(api, service_token, ref)
    assert resp.status_code == 409 and resp.json["error"]["status"] == "EXPIRED"
    assert seats_left(flight.id) == 50
    assert states.release_expired_holds(UOW) == 0


# --- through the service layer --------------------------------------------------------------

def test_hold_lasts_the_configured_minutes_but_never_past_departure(system):
    soon = add_flight(departs_in=dt.timedelta(minutes=10))
    later = add_flight()
    now = clock.now()
    rules = bookings.BookingRules(hold_minutes=30)
    assert bookings.hold_seats(UOW, 7, booking_request(later.id), rules, now=now).hold_expires_at == \
        now + dt.timedelta(minutes=30)
    assert bookings.hold_seats(UOW, 7, booking_request(soon.id), rules, now=now).hold_expires_at == \
        clock.from_db(soon.departs_at)


def test_late_cancellation_refunds_the_configured_share(system):
    flight = add_flight(departs_in=dt.timedelta(hours=10), cabins={"economy": (5, 10001)})
    owner = Principal(kind="user", user_id=3)
    rules = bookings.BookingRules(refund_cutoff_hours=24, late_refund_percent=50)
    ref = bookings.hold_seats(UOW, 3, booking_request(flight.id), rules).ref
    bookings.confirm_booking(UOW, ref, "pay_9")
    cancelled = bookings.cancel_booking(UOW, ref, owner, rules)
    assert cancelled.refund_due.amount == 5000  # half, rounded down to the cent
    assert Booking.get(Booking.ref == ref).refund_amount == 5000


def test_confirmed_booking_cannot_be_cancelled_after_departure(system):
    flight = add_flight(departs_in=dt.timedelta(hours=2))
    owner = Principal(kind="user", user_id=3)
    rules = bookings.BookingRules()
    ref = bookings.hold_seats(UOW, 3, booking_request(flight.id, passengers=2), rules).ref
    bookings.confirm_booking(UOW, ref, "pay_1")
    with pytest.raises(FlightDeparted):
        bookings.cancel_booking(UOW, ref, owner, rules, now=clock.now() + dt.timedelta(hours=3))
    assert bookings.get_booking(ref).status == BookingStatus.CONFIRMED
    assert seats_left(flight.id) == 48


def test_cancelling_a_lapsed_hold_reports_it_expired(system):
    flight = add_flight()
    owner = Principal(kind="user", user_id=5)
    ref = bookings.hold_seats(UOW, 5, booking_request(flight.id), bookings.BookingRules(hold_minutes=1)).ref
    with pytest.raises(HoldExpired) as caught:
        bookings.cancel_booking(UOW, ref, owner, bookings.BookingRules(), now=clock.now() + dt.timedelta(minutes=2))
    assert caught.value.details["status"] == "EXPIRED"
    assert seats_left(flight.id) == 50


def test_service_layer_checks_names_itself(system):
    flight = add_flight()
    request = booking_request(flight.id, passengers=[passenger(first_name="  Grace ", last_name=" Hopper ")])
    view = bookings.hold_seats(UOW, 1, request, bookings.BookingRules())
    assert (view.passengers[0].first_name, view.passengers[0].last_name) == ("Grace", "Hopper")
    assert Passenger.get(Passenger.booking == view.ref).first_name == "Grace"


# --- the expire-holds command ----------------------------------------------------------------

def test_expire_holds_command_releases_lapsed_holds_and_says_how_many(system, env, monkeypatch):
    from typer.testing import CliRunner

    import cli

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    flight = add_flight()
    rules = bookings.BookingRules()
    lapsed = [bookings.hold_seats(UOW, 1, booking_request(flight.id, 2), rules).ref for _ in range(2)]
    live = bookings.hold_seats(UOW, 1, booking_request(flight.id, 1), rules).ref
    Booking.update(hold_expires_at=clock.to_db(clock.now() - dt.timedelta(minutes=1))).where(
        Booking.ref.in_(lapsed)).execute()
    result = CliRunner().invoke(cli.app, ["expire-holds"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "released 2 expired seat holds"
    assert seats_left(flight.id) == 49 and bookings.get_booking(live).status == "HELD"
    assert CliRunner().invoke(cli.app, ["expire-holds"]).output.strip() == "released 0 expired seat holds"

    monkeypatch.setenv("FLIGHTBOOK_FLIGHTS_DATABASE", "postgresql://postgres@127.0.0.1:1/nowhere")
    result = CliRunner().invoke(cli.app, ["expire-holds"])
    assert result.exit_code != 0 and result.output.startswith("error: flights database unavailable")
    assert len(result.output.strip().splitlines()) == 1


def test_only_a_service_confirms_a_booking_in_process_as_over_http(system):
    flight = add_flight()
    held = bookings.hold_seats(UOW, 1, booking_request(flight.id), bookings.BookingRules())
    service = system.parts["flights"].contract
    with pytest.raises(Forbidden) as refused:
        service.confirm_booking(held.ref, "pay_1", caller=Principal(kind="user", user_id=1, username="u1"))
    assert refused.value.code == "service_only"
    assert service.confirm_booking(held.ref, "pay_1").status == BookingStatus.CONFIRMED


def test_a_taken_booking_ref_is_passed_over_and_nothing_is_written_under_it(system, monkeypatch):
    add_airports("LHR", "JFK")
    flight = add_flight(cabins={"economy": (9, 25000)})
    first = bookings.hold_seats(UOW, 1, booking_request(flight.id), bookings.BookingRules())
    offered = iter([first.ref, first.ref, "ZZZZZ2"])
    monkeypatch.setattr(bookings.refs, "new_ref", lambda: next(offered))
    second = bookings.hold_seats(UOW, 2, booking_request(flight.id, 2), bookings.BookingRules())
    assert second.ref == "ZZZZZ2" and second == bookings.get_booking("ZZZZZ2")
    assert bookings.get_booking(first.ref) == first  # untouched: no second set of legs or passengers under it
    assert Passenger.select().where(Passenger.booking == first.ref).count() == 1
    assert seats_left(flight.id) == 6
