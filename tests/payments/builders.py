"""Test data for payments: HELD bookings made through the real flights API, and card bodies."""
from __future__ import annotations

import datetime as dt
import itertools

from tests.flights.builders import add_airports, add_flight, booking_body

GOOD_CARD = "4242424242424242"
CARDS = {
    "card_declined": "4000000000000002",
    "insufficient_funds": "4000000000009995",
    "expired_card": "4000000000000069",
    "incorrect_cvc": "4000000000000127",
    "invalid_number": "4242424242424241",  # fails Luhn
}
_keys = itertools.count(1)


def held_booking(traveller, fare: int = 25000, passengers: int = 1, currency: str = "USD") -> dict:
    """A HELD booking of the traveller's, made through POST /api/flights/book."""
    add_airports("LHR", "JFK")
    flight = add_flight(cabins={"economy": (50, fare)}, currency=currency)
    resp = traveller.post("/api/flights/book", json=booking_body(flight.id, passengers=passengers))
    assert resp.status_code == 201, resp.text
    return resp.json


def card(number: str = GOOD_CARD, **overrides) -> dict:
    body = {"number": number, "exp_month": 12, "exp_year": dt.date.today().year + 3, "cvc": "123",
            "holder_name": "Ada Lovelace"}
    body.update(overrides)
    return body


def new_key() -> str:
    return f"key-{next(_keys)}"


def create_intent(traveller, booking_ref: str):
    return traveller.post("/api/payments/create-intent", json={"booking_ref": booking_ref})


def pay(traveller, intent_id: str, card_body: dict | None = None, key: str | None = None):
    return traveller.post("/api/payments/process", json={"intent_id": intent_id, "card": card_body or card()},
                          headers={"Idempotency-Key": key or new_key()})


def paid_booking(traveller, fare: int = 25000) -> tuple[dict, dict]:
    """(booking, payment response body) for a booking paid with the good card."""
    booking = held_booking(traveller, fare=fare)
    intent = create_intent(traveller, booking["ref"]).json
    resp = pay(traveller, intent["id"])
    assert resp.status_code == 200, resp.text
    return booking, resp.json


def user_id(traveller) -> int:
    return traveller.get("/api/users/me").json["id"]
