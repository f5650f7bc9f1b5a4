"""The hardening holds against real gunicorn processes in one process (SQLite) and four services (PostgreSQL):
bad input is a 4xx, a stranger's booking ref reads as unknown, logins are throttled by the traveller's address
(passed on by the gateway), logout ends a copied web cookie within seconds and the refresh at once."""
from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import pytest
import requests

from tests.e2e.deployments import Deployment, eventually

pytestmark = pytest.mark.slow
PASSWORD = "hardening-password"


@pytest.fixture(scope="module", params=["one_process", "four_services"])
def deployment(request, tmp_path_factory, worker):
    running = Deployment(request.param, tmp_path_factory.mktemp(request.param), f"hard_{worker}",
                         FLIGHTBOOK_LOGIN_MAX_FAILURES_PER_USERNAME=3).start()
    yield running
    running.stop()


def _api(deployment) -> str:
    return deployment.url + "/api/gateway"


def _sign_up(deployment) -> tuple[str, dict]:
    name = f"h{uuid.uuid4().hex[:12]}"
    created = requests.post(_api(deployment) + "/users/register", timeout=30, json={
        "username": name, "email": f"{name}@example.com", "password": PASSWORD, "first_name": "Ada",
        "last_name": "Lovelace"})
    assert created.status_code == 201, created.text
    login = requests.post(_api(deployment) + "/users/login", json={"username": name, "password": PASSWORD},
                          timeout=30)
    assert login.status_code == 200, login.text
    return name, login.json()


def _held_booking(deployment, token: str) -> str:
    date = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    found = requests.get(_api(deployment) + "/flights/search", timeout=30,
                         params={"origin": "LHR", "destination": "JFK", "date": date}).json()
    booked = requests.post(_api(deployment) + "/flights/book", timeout=30, headers={"Authorization": f"Bearer {token}"},
                           json={"outbound_id": found["outbound"][0]["id"], "cabin": "economy",
                                 "contact_email": "ada@example.com",
                                 "passengers": [{"first_name": "Ada", "last_name": "L",
                                                 "date_of_birth": "1990-01-01"}]})
    assert booked.status_code == 201, booked.text
    return booked.json()["ref"]


@pytest.mark.parametrize("method, path, kwargs", [
    ("GET", "/places/search", {"params": {"q": "a\x00b"}}),
    ("GET", "/flights/search", {"params": {"origin": "LHR", "destination": "JFK", "date": "9999-12-31"}}),
    ("GET", "/tickets/%E2%82%AC", {}),
    ("POST", "/users/login", {"json": {"username": "a\x00", "password": "b\x00"}}),
    ("POST", "/users/register", {"json": {"username": ["x"], "password": 5}}),
    ("POST", "/users/login", {"data": b"{" + b" " * (1 << 20) + b"}", "headers": {"Content-Type": "application/json"}}),
])
def test_bad_input_is_a_json_4xx_with_the_security_headers(deployment, method, path, kwargs):
    resp = requests.request(method, _api(deployment) + path, timeout=30, **kwargs)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:200])
    assert set(resp.json()["error"]) >= {"code", "message"}
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["Referrer-Policy"]


def test_a_strangers_booking_ref_reads_as_unknown(deployment):
    _, owner = _sign_up(deployment)
    ref = _held_booking(deployment, owner["token"])
    _, stranger = _sign_up(deployment)
    auth = {"Authorization": f"Bearer {stranger['token']}"}
    for path, body in (("/loyalty/redeem", {"user_id": stranger["user"]["id"], "points": 100}),
                       ("/payments/create-intent", {})):
        theirs = requests.post(_api(deployment) + path, json={**body, "booking_ref": ref}, headers=auth, timeout=30)
        unknown = requests.post(_api(deployment) + path, json={**body, "booking_ref": "ZZ99ZZ"}, headers=auth,
                                timeout=30)
        assert theirs.status_code == unknown.status_code == 404, (theirs.text, unknown.text)
        assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"]


def test_logins_are_throttled_per_username_through_the_gateway(deployment):
    name, _ = _sign_up(deployment)
    for _ in range(3):
        wrong = requests.post(_api(deployment) + "/users/login", json={"username": name, "password": "nope-nope"},
                              timeout=30)
        assert wrong.status_code == 401
    locked = requests.post(_api(deployment) + "/users/login", json={"username": name, "password": PASSWORD},
                           timeout=30)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_logout_ends_the_refresh_at_once_and_a_copied_web_cookie_within_seconds(deployment):
    name, login = _sign_up(deployment)
    out = requests.post(_api(deployment) + "/users/logout", headers={"Authorization": f"Bearer {login['token']}"},
                        timeout=30)
    assert out.status_code == 204
    refresh = requests.post(_api(deployment) + "/users/refresh", json={"refresh_token": login["refresh_token"]},
                            timeout=30)
    assert refresh.status_code == 401

    browser = requests.Session()
    page = browser.get(deployment.url + "/login", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    signed_in = browser.post(deployment.url + "/login", data={"username": name, "password": PASSWORD,
                                                               "csrf_token": csrf}, timeout=30)
    assert signed_in.status_code == 200 and "/login" not in signed_in.url
    copy = dict(browser.cookies)
    before = requests.get(deployment.url + "/bookings", cookies=copy, timeout=30, allow_redirects=False)
    assert before.status_code == 200
    page = browser.get(deployment.url + "/", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert browser.post(deployment.url + "/logout", data={"csrf_token": csrf}, timeout=30).status_code == 200
    started = time.monotonic()
    eventually(lambda: requests.get(deployment.url + "/bookings", cookies=copy, timeout=30,
                                    allow_redirects=False).status_code == 303, timeout=10)
    assert time.monotonic() - started <= 6.5  # the gateway's workers remember a session's liveness for 5 s at most
