"""Intents and card payments through the HTTP API, with mockbank, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from flightbook.modules.payments.banking import pan_hash
from flightbook.modules.payments.models import BankCard, Payment, PaymentIntent
from tests.conftest import register_and_login
from tests.payments.builders import CARDS, GOOD_CARD, card, create_intent, held_booking, pay


def balance(number: str) -> int:
    return BankCard.get_by_id(pan_hash(number)).balance


def test_intent_amount_comes_from_the_booking(system, traveller):
    booking = held_booking(traveller, fare=31000, passengers=2)
    resp = traveller.post("/api/payments/create-intent", json={"booking_ref": booking["ref"], "amount": 1})
    assert resp.status_code == 201, resp.text
    assert resp.json["booking_ref"] == booking["ref"]
    assert (resp.json["amount"], resp.json["currency"]) == (62000, "USD")
    assert resp.json["status"] == "requires_payment_method" and resp.json["id"].startswith("pi_")


def test_creating_an_intent_again_returns_the_open_one(system, traveller):
    booking = held_booking(traveller)
    first = create_intent(traveller, booking["ref"])
    second = create_intent(traveller, booking["ref"].lower())
    assert first.status_code == second.status_code == 201
    assert second.json["id"] == first.json["id"]
    assert PaymentIntent.select().count() == 1


def test_no_intent_for_someone_elses_or_a_missing_or_a_paid_booking(system, api, traveller):
    booking = held_booking(traveller)
    other = register_and_login(api)
    assert create_intent(other, booking["ref"]).status_code == 404
    assert create_intent(traveller, "ZZZZZZ").status_code == 404
    assert create_intent(api, booking["ref"]).status_code == 401
    assert traveller.post("/api/payments/create-intent", json={}).status_code == 400
    intent = create_intent(traveller, booking["ref"]).json
    assert pay(traveller, intent["id"]).status_code == 200
    again = create_intent(traveller, booking["ref"])
    assert again.status_code == 409 and again.json["error"]["code"] == "booking_not_payable"


def test_good_card_pays_debits_the_card_and_confirms_the_booking(system, traveller):
    booking = held_booking(traveller, fare=25000)
    intent = create_intent(traveller, booking["ref"]).json
    before = balance(GOOD_CARD)
    resp = pay(traveller, intent["id"])
    assert resp.status_code == 200, resp.text
    body = resp.json
    assert body["status"] == "succeeded" and (body["amount"], body["currency"]) == (25000, "USD")
    assert body["card"]["brand"] == "visa" and body["card"]["last4"] == "4242"
    assert balance(GOOD_CARD) == before - 25000
    ticket = traveller.get(f"/api/tickets/{booking['ref']}").json
    assert ticket["status"] == "CONFIRMED" and ticket["payment_id"] == body["id"]


@pytest.mark.parametrize("code", sorted(CARDS))
def test_each_decline_is_a_402_with_its_failure_code_and_the_intent_stays_payable(system, traveller, code):
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    resp = pay(traveller, intent["id"], card(CARDS[code]))
    assert resp.status_code == 402, resp.text
    assert resp.json["status"] == "failed" and resp.json["failure_code"] == code
    assert resp.json["error"]["code"] == code and resp.json["error"]["message"]
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["status"] == "HELD"
    retry = pay(traveller, intent["id"], card())
    assert retry.status_code == 200 and retry.json["status"] == "succeeded"
    assert [p.status for p in Payment.select().order_by(Payment.created_at)] == ["failed", "succeeded"]


def test_a_card_past_its_expiry_date_is_expired(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    resp = pay(traveller, intent["id"], card(exp_month=1, exp_year=2020))
    assert resp.status_code == 402 and resp.json["failure_code"] == "expired_card"


def test_a_charge_beyond_the_balance_is_insufficient_funds_and_leaves_it(system, traveller):
    debit_card = "4000056655665556"  # seeded with 500.00
    first = create_intent(traveller, held_booking(traveller, fare=40000)["ref"]).json
    assert pay(traveller, first["id"], card(debit_card)).status_code == 200
    second = create_intent(traveller, held_booking(traveller, fare=20000)["ref"]).json
    resp = pay(traveller, second["id"], card(debit_card))
    assert resp.status_code == 402 and resp.json["failure_code"] == "insufficient_funds"
    assert balance(debit_card) == 10000


def test_bad_payment_requests_are_400s_that_name_the_field(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    for field, value in [("number", "abc"), ("cvc", "12"), ("exp_month", 13), ("exp_year", "soon"),
                         ("number", None)]:
        resp = pay(traveller, intent["id"], card(**{field: value}))
        assert resp.status_code == 400, (field, resp.text)
        assert resp.json["error"]["field"] == f"card.{field}"
    no_key = traveller.post("/api/payments/process", json={"intent_id": intent["id"], "card": card()})
    assert no_key.status_code == 400 and no_key.json["error"]["field"] == "Idempotency-Key"
    assert pay(traveller, "pi_nope").status_code == 404
    assert Payment.select().count() == 0


def test_a_traveller_cannot_pay_someone_elses_intent(system, api, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    other = register_and_login(api)
    assert pay(other, intent["id"]).status_code == 404
    assert pay(api, intent["id"]).status_code == 401


def test_a_paid_intent_is_not_charged_again_with_a_new_key(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    assert pay(traveller, intent["id"]).status_code == 200
    before = balance(GOOD_CARD)
    again = pay(traveller, intent["id"])
    assert again.status_code == 409 and again.json["error"]["code"] == "intent_already_paid"
    assert balance(GOOD_CARD) == before
