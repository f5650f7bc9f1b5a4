"""The fuzz over real HTTP: four services on PostgreSQL (gunicorn), every API route reached directly at the part
that serves it and through the gateway's /api/gateway, with generated bad input. No 5xx; JSON 4xx errors."""
from __future__ import annotations

import json

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from flightbook import wiring
from flightbook.kernel.settings import Settings
from tests.e2e.deployments import Deployment
from tests.fuzz.test_fuzz import FUZZ, _fill, _qs, bodies, nasty_text, queries, routes_of
from tests.payments.fake_stripe import WEBHOOK_SECRET

pytestmark = pytest.mark.slow
OWNER = {"users": "flights", "places": "flights", "flights": "flights", "tickets": "flights", "messages": "flights",
         "payments": "payments", "loyalty": "loyalty"}


@pytest.fixture(scope="module")
def services(tmp_path_factory, worker):
    running = Deployment("four_services", tmp_path_factory.mktemp("fuzz4"), f"fuzz_{worker}",
                         FLIGHTBOOK_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET).start()
    system = wiring.build_system(Settings.from_env(running.env))
    try:
        routes = [r for r in routes_of(system) if r[1].startswith("/api/") and not r[1].startswith(("/api/events", "/api/docs"))]
    finally:
        system.close()
    yield running, routes
    running.stop()


@FUZZ
@given(data=st.data())
def test_every_api_route_of_four_services_answers_bad_input_with_a_json_4xx(services, data):
    running, routes = services
    method, template, params = data.draw(st.sampled_from(routes))
    path = _fill(template, params, data.draw(st.lists(nasty_text, min_size=len(params), max_size=len(params))))
    first, second = (template.split("/") + [""])[2:4]
    # the admin API (/api/admin/<module>/...) is its module's, and the gateway does not pass it on
    admin = first == "admin"
    part = second if admin else OWNER[first]
    if not admin and data.draw(st.booleans()):
        url = running.url + "/api/gateway/" + path[len("/api/"):]
    else:
        url = running.servers[part].url + path
    body = json.dumps(data.draw(bodies)).encode() if method != "GET" else None
    resp = requests.request(method, url + "?" + _qs(data.draw(queries)), data=body, timeout=30,
                            headers={"Content-Type": "application/json"} if body else {})
    assert resp.status_code < 500, f"{method} {url} -> {resp.status_code}: {resp.text[:300]}"
    # gunicorn itself refuses a request line over its limit (4094 bytes) before any part sees it: no request id
    if resp.status_code >= 400 and resp.status_code != 405 and "X-Request-ID" in resp.headers:
        error = resp.json().get("error")
        assert isinstance(error, dict) and {"code", "message"} <= set(error), resp.text[:300]
