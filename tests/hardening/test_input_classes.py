"""Input that used to end in a 500, as classes: control characters in any string, dates at the edge of the
calendar, values of the wrong JSON type, paths that are not Latin-1, malformed webhook bodies. Every one is
a 4xx with the JSON error shape (API) or a readable page (web), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import register_and_login
from tests.payments.fake_stripe import WEBHOOK_SECRET, sign

NUL = "a\x00b"


def assert_json_4xx(resp):
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    assert set(resp.json["error"]) >= {"code", "message"}


@pytest.mark.parametrize("bad", [NUL, "line\x1bbreak", "x\x7f"])
def test_control_characters_in_any_string_are_refused(api, bad):
    assert_json_4xx(api.get("/api/places/search", params={"q": bad}))
    assert_json_4xx(api.post("/api/users/login", json={"username": bad, "password": "whatever1"}))
    assert_json_4xx(api.post("/api/users/login", json={"username": "someone", "password": bad}))
    assert_json_4xx(api.post("/api/users/register", json={"username": bad, "email": "a@example.com",
                                                          "password": "long-enough-pw", "first_name": "A",
                                                          "last_name": "B"}))
    traveller = register_and_login(api)
    assert_json_4xx(traveller.get(f"/api/tickets/AB{bad}"))
    assert_json_4xx(traveller.post(f"/api/tickets/AB{bad}/cancel"))
    assert_json_4xx(traveller.get("/api/messages", params={"booking_ref": bad}))
    assert_json_4xx(traveller.post("/api/payments/create-intent", json={"booking_ref": bad}))
    assert_json_4xx(traveller.get("/api/loyalty/bookings/" + bad + "/points"))
    assert_json_4xx(traveller.post("/api/flights/book", json={
        "outbound_flight_id": 1, "cabin": "economy", "contact_email": "a@example.com",
        "passengers": [{"first_name": bad, "last_name": "B", "date_of_birth": "1990-01-01"}]}))


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2200-01-01"])
def test_dates_beyond_what_the_schedule_holds_are_refused(api, day):
    params = {"origin": "LHR", "destination": "JFK", "date": day}
    assert_json_4xx(api.get("/api/flights/search", params=params))
    assert_json_4xx(api.get("/api/flights/search", params={**params, "date": "2030-01-01", "return_date": day}))
    assert_json_4xx(api.get("/api/flights/calendar", params={"origin": "LHR", "destination": "JFK",
                                                             "from": day, "to": day}))
    assert_json_4xx(api.get("/api/gateway/flights/search", params=params))


def test_search_pages_with_far_dates_are_readable_pages(client, api):
    for day in ("9999-12-31", "0001-01-01"):
        resp = client.simulate_get("/flights", params={"origin": "LHR", "destination": "JFK", "date": day})
        assert resp.status_code < 500, resp.status_code
        resp = client.simulate_get("/flights/month", params={"origin": "LHR", "destination": "JFK", "date": day})
        assert resp.status_code < 500, resp.status_code


@pytest.mark.parametrize("path", ["/api/gateway/tickets/\u20ac", "/api/gateway/\u4e2d\u6587", "/api/tickets/\u20ac",
                                  "/api/gateway/tickets/\U0001f600/cancel"])
def test_paths_beyond_latin_1_are_4xx(api, path):
    traveller = register_and_login(api)
    assert_json_4xx(traveller.get(path))


def _csrf(client):
    page = client.simulate_get("/login")
    cookie = page.cookies["fb_session"].value
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return cookie, token


@pytest.mark.parametrize("path", ["/login", "/register", "/logout"])
@pytest.mark.parametrize("value", [["a", "b"], 12, {"x": 1}, None, True, NUL])
def test_forms_posted_as_json_with_wrong_types_are_4xx(client, path, value):
    cookie, token = _csrf(client)
    body = {"csrf_token": token, "username": value, "password": value, "email": value, "first_name": value,
            "last_name": value, "next": value}
    resp = client.simulate_post(path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                                      "Cookie": f"fb_session={cookie}"})
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])


@pytest.fixture
def env(env):
    return {**env, "FLIGHTBOOK_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.mark.parametrize("payload", [b"{}", b"[]", b"1", b'"x"', b"null", b'{"type": 3}',
                                     b'{"id": "evt_1", "type": "payment_intent.succeeded"}',
                                     b'{"id": "evt_2", "type": "payment_intent.succeeded", "data": []}',
                                     b'{"id": "evt_3", "type": "charge.refunded", "data": {"object": 5}}',
                                     b'{"id": "evt_4", "type": "payment_intent.succeeded", '
                                     b'"data": {"object": {"id": 7, "metadata": []}}}',
                                     b"\xff\xfe"])
def test_a_signed_webhook_with_a_malformed_body_is_a_400(api, payload):
    resp = api.client.simulate_post("/api/payments/webhook", body=payload,
                                    headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)})
    assert resp.status_code == 400, (resp.status_code, resp.text)
    assert_json_4xx(resp)


@pytest.mark.parametrize("path", ["/login", "/register", "/logout", "/bookings/ABC123/cancel", "/bookings/ABC123/pay",
                                  "/book", "/book/passengers"])
@pytest.mark.parametrize("body", ['{"csrf_token": Infinity}', "{", "[1, 2]", "\xff"])
def test_forms_with_a_body_that_cannot_be_read_are_4xx(client, path, body):
    resp = client.simulate_post(path, body=body, headers={"Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])
