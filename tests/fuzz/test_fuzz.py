"""Generated bad input (hypothesis) at every route of every part, directly and through /api/gateway, and at
every HTML form with a valid CSRF token: no answer is a 5xx, every API error is a JSON ``{"error": {...}}``
with a 4xx, and nothing is left half-written. The routes are read from the app as the wiring builds it, so a
new endpoint is fuzzed without being listed here.

Default: a few thousand requests (CI). ``FLIGHTBOOK_FUZZ_EXAMPLES=5000`` (examples per test) for a long run.
"""
from __future__ import annotations

import json
import os
import re
from urllib.parse import quote, urlencode

import falcon
import falcon.testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightbook import wiring
from flightbook.modules.flights.models import Booking, BookingFlight
from flightbook.modules.loyalty.models import LoyaltyAccount, PointsLot
from tests.conftest import register_and_login
from tests.payments.builders import held_booking
from tests.payments.fake_stripe import WEBHOOK_SECRET, sign

EXAMPLES = int(os.environ.get("FLIGHTBOOK_FUZZ_EXAMPLES", "400"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("FLIGHTBOOK_FUZZ_EXAMPLES"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

#: names the parts read, so generated bodies and queries reach past "is required"
FIELDS = ["username", "password", "email", "first_name", "last_name", "q", "limit", "origin", "destination", "date",
          "return_date", "from", "to", "cabin", "passengers", "max_stops", "sort", "outbound_id", "return_id",
          "outbound_flight_id", "return_flight_id", "contact_email", "booking_ref", "user_id", "points", "currency",
          "amount", "intent_id", "card", "payment_id", "paid", "refund_percent", "page", "per_page", "refresh_token",
          "current_password", "new_password", "event_id", "topic", "source", "payload", "trip", "stops", "month",
          "next", "password_again", "p0_first_name", "p0_last_name", "p0_date_of_birth", "p0_gender", "use_points",
          "outbound", "return", "number", "exp_month", "exp_year", "cvc", "holder_name", "client_address"]

nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u2028", "\ud800", "😀", "€", "9999-12-31", "0001-01-01",
                     "2100-12-31", "1899-12-31", "-1", "0", "1e309", "NaN", "LHR", "JFK", "USD", "economy",
                     "x" * 5000, "%00", "../../etc/passwd", "<script>", "' OR 1=1 --", "AB12CD"]),
    st.from_regex(r"\A[0-9]{1,30}\Z"),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), nasty_text)
keys = st.sampled_from(FIELDS) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(keys, inner, max_size=5)), max_leaves=12)
bodies = st.one_of(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8), json_values)
queries = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), nasty_text, max_size=6)


def routes_of(system) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path template, its {params}) of every route the app has (static files aside)."""
    found = []
    original = falcon.App.add_route

    def recording(app, template, resource, **kwargs):
        for method in ("get", "post", "put", "delete", "patch"):
            if hasattr(resource, f"on_{method}"):
                found.append((method.upper(), template, tuple(re.findall(r"{(\w+)}", template))))
        return original(app, template, resource, **kwargs)

    falcon.App.add_route = recording
    try:
        wiring.create_app(system)
    finally:
        falcon.App.add_route = original
    return found


@pytest.fixture
def env(env):
    return {**env, "FLIGHTBOOK_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def world(system, client, api):
    """Routes, a signed-in traveller with a held booking, a service token and an admin's."""
    traveller = register_and_login(api)
    ref = held_booking(traveller)["ref"]
    return {"routes": routes_of(system), "traveller": traveller.token, "ref": ref,
            "service": system.tokens.issue_service_token("payments", "flights"),
            "admin": system.tokens.issue_user_token(999, "boss", True)[0]}


def _fill(template: str, params: tuple, values: list) -> str:
    path = template
    for name, value in zip(params, values):
        path = path.replace("{" + name + "}", quote(value.encode("utf-8", "surrogatepass"), safe="") or "x")
    return path


def _qs(fields: dict) -> str:
    """A query string or form body as a client could send it: lone surrogates go as their raw bytes."""
    return urlencode({str(k).encode("utf-8", "surrogatepass"): str(v).encode("utf-8", "surrogatepass")
                      for k, v in fields.items()})


def assert_sane(resp, where: str) -> None:
    assert resp.status_code < 500, f"{where} -> {resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400 and "/api/" in where.split("?")[0] and resp.status_code != 405:
        assert resp.headers.get("content-type", "").startswith("application/json"), where
        error = resp.json.get("error") if isinstance(resp.json, dict) else None
        assert isinstance(error, dict) and {"code", "message"} <= set(error), f"{where}: {resp.text[:300]}"


def assert_nothing_half_written() -> None:
    """A booking always has its flights; a loyalty balance is always what its lots hold."""
    orphans = Booking.select().where(~Booking.ref.in_(BookingFlight.select(BookingFlight.booking))).count()
    assert orphans == 0
    for account in LoyaltyAccount.select():
        lots = sum(lot.remaining for lot in PointsLot.select().where(PointsLot.account == account.user_id))
        assert account.balance == lots and 0 <= account.held <= account.balance


@FUZZ
@given(data=st.data())
def test_every_endpoint_of_every_part_answers_bad_input_with_a_json_4xx(client, world, data):
    method, template, params = data.draw(st.sampled_from([r for r in world["routes"] if r[1].startswith("/api")]))
    values = data.draw(st.lists(st.one_of(nasty_text, st.just(world["ref"])), min_size=len(params),
                                max_size=len(params)))
    path = _fill(template, params, values)
    via_gateway = data.draw(st.booleans()) and path.startswith("/api/") and not path.startswith("/api/events")
    if via_gateway:
        path = "/api/gateway/" + path[len("/api/"):]
    who = data.draw(st.sampled_from([None, "traveller", "service", "admin"]))
    headers = {"Authorization": f"Bearer {world[who]}"} if who else {}
    query = _qs(data.draw(queries))
    if method == "GET":
        resp = client.simulate_get(path, query_string=query, headers=headers)
    else:
        body = data.draw(bodies)
        raw = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
        if template.endswith("/webhook") and data.draw(st.booleans()):
            headers["Stripe-Signature"] = sign(raw)  # well signed, badly shaped
        if data.draw(st.booleans()):
            headers["Idempotency-Key"] = data.draw(nasty_text).encode("utf-8", "replace").decode("latin-1")
        resp = client.simulate_request(method, path, body=raw, headers=headers, query_string=query)
    assert_sane(resp, f"{method} {path}?{query}")


def _session(client, api, traveller_token=None):
    """A browser session (signed in when asked) and its CSRF token."""
    from tests.hardening.test_sessions import PASSWORD

    page = client.simulate_get("/login")
    cookie = page.cookies["fb_session"].value
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    if traveller_token:
        name = f"fuzzweb{abs(hash(traveller_token)) % 10 ** 8}"
        register_and_login(api, name, PASSWORD)
        resp = client.simulate_post("/login", body=urlencode({"username": name, "password": PASSWORD,
                                                              "csrf_token": csrf}),
                                    headers={"Cookie": f"fb_session={cookie}",
                                             "Content-Type": "application/x-www-form-urlencoded"})
        cookie = resp.cookies["fb_session"].value
        page = client.simulate_get("/", headers={"Cookie": f"fb_session={cookie}"})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return cookie, csrf


@pytest.fixture
def browsers(client, api, world):
    return {"anonymous": _session(client, api), "signed_in": _session(client, api, world["traveller"])}


@FUZZ
@given(data=st.data())
def test_every_page_and_form_answers_bad_input_without_a_5xx(client, world, browsers, data):
    pages = [r for r in world["routes"] if not r[1].startswith("/api") and r[1] not in ("/health", "/ready")]
    method, template, params = data.draw(st.sampled_from(pages))
    values = data.draw(st.lists(st.one_of(nasty_text, st.just(world["ref"])), min_size=len(params),
                                max_size=len(params)))
    path = _fill(template, params, values)
    cookie, csrf = browsers[data.draw(st.sampled_from(["anonymous", "signed_in"]))]
    headers = {"Cookie": f"fb_session={cookie}"}
    query = _qs(data.draw(queries))
    if method == "GET":
        resp = client.simulate_get(path, query_string=query, headers=headers)
    else:
        fields = data.draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
        fields["csrf_token"] = csrf
        if data.draw(st.booleans()):
            body = json.dumps(fields).encode()
            headers["Content-Type"] = "application/json"
        else:
            body = _qs({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        resp = client.simulate_request(method, path, body=body, headers=headers, query_string=query)
    assert_sane(resp, f"{method} {path}?{query}")


def test_after_the_fuzz_nothing_is_half_written(client, world, system):
    """The fuzzing above shares no database with this test; here the same kinds of bodies are thrown at the
    endpoints that write (book, redeem, pay, cancel) and the books are checked after each."""
    traveller = {"Authorization": f"Bearer {world['traveller']}", "Content-Type": "application/json"}

    @FUZZ
    @given(path=st.sampled_from(["/api/flights/book", "/api/loyalty/redeem", "/api/payments/create-intent",
                                 "/api/payments/process", f"/api/tickets/{world['ref']}/cancel",
                                 "/api/users/register"]),
           body=bodies)
    def writes(path, body):
        resp = client.simulate_post(path, body=json.dumps(body), headers=traveller)
        assert_sane(resp, path)
        assert_nothing_half_written()

    writes()
