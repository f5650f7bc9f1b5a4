"""Failed logins are throttled per username (from any address) and per client address, in flights' database;
a success resets the count and a lockout never outlasts its window. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.kernel import clock
from flightbook.modules.flights.models import LoginThrottle
from tests.conftest import register_and_login

PASSWORD = "correct horse battery"


@pytest.fixture
def env(env):
    return {**env, "FLIGHTBOOK_LOGIN_MAX_FAILURES_PER_USERNAME": "4", "FLIGHTBOOK_LOGIN_MAX_FAILURES_PER_ADDRESS": "7"}


def _login(client, username, password, address="10.0.0.1", path="/api/users/login", headers=None):
    return client.simulate_post(path, json={"username": username, "password": password}, remote_addr=address,
                                headers=headers)


def test_a_username_is_locked_after_its_failures_from_any_address_with_retry_after(api, client):
    register_and_login(api, "victim", PASSWORD)
    for i in range(4):
        assert _login(client, "victim", "wrong-password", address=f"10.0.1.{i}").status_code == 401
    locked = _login(client, "victim", PASSWORD, address="10.9.9.9")
    assert locked.status_code == 429 and locked.json["error"]["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert _login(client, "victim", PASSWORD, path="/api/gateway/users/login").status_code == 429
    assert _login(client, "someone-else", "wrong-password", address="10.9.9.9").status_code == 401


def test_a_success_resets_the_count(api, client):
    register_and_login(api, "forgetful", PASSWORD)
    for _ in range(2):
        for _ in range(3):
            assert _login(client, "forgetful", "wrong-password").status_code == 401
        assert _login(client, "forgetful", PASSWORD).status_code == 200
    assert LoginThrottle.select().count() == 0


def test_an_address_is_locked_after_its_failures_for_any_username(api, client):
    register_and_login(api, "bystander", PASSWORD)
    for i in range(7):
        assert _login(client, f"guess{i}", "wrong-password", address="10.6.6.6").status_code == 401
    assert _login(client, "bystander", PASSWORD, address="10.6.6.6").status_code == 429
    assert _login(client, "bystander", PASSWORD, address="10.7.7.7").status_code == 200


def test_an_unsigned_client_address_header_is_not_believed(api, client):
    for i in range(7):
        forged = {"X-Client-Address": f"10.1.1.{i} 0000"}
        assert _login(client, f"guess{i}", "wrong", address="10.5.5.5", headers=forged).status_code == 401
    assert _login(client, "guess-more", "wrong", address="10.5.5.5").status_code == 429


def test_a_login_through_the_gateway_in_process_counts_against_the_callers_own_address(api, client):
    register_and_login(api, "gated", PASSWORD)
    forged = {"X-Client-Address": "10.3.3.3 0000"}
    for i in range(7):
        assert _login(client, f"probe{i}", "wrong", address="10.4.4.4", path="/api/gateway/users/login",
                      headers=forged).status_code == 401
    assert _login(client, "gated", PASSWORD, address="10.4.4.4").status_code == 429
    assert _login(client, "gated", PASSWORD, address="10.3.3.3", path="/api/gateway/users/login").status_code == 200


def test_a_lockout_ends_with_its_window(api, client):
    register_and_login(api, "patient", PASSWORD)
    for _ in range(4):
        _login(client, "patient", "wrong-password")
    assert _login(client, "patient", PASSWORD).status_code == 429
    row = LoginThrottle.get_by_id("user:patient")
    started, until = clock.from_db(row.first_failure_at), clock.from_db(row.locked_until)
    assert until - started == dt.timedelta(minutes=15)  # never longer than the window
    hour_ago = clock.now() - dt.timedelta(hours=1)
    LoginThrottle.update(first_failure_at=clock.to_db(hour_ago),
                         locked_until=clock.to_db(hour_ago + dt.timedelta(minutes=15))).execute()
    assert _login(client, "patient", PASSWORD).status_code == 200


def test_the_login_page_says_to_wait(api, client):
    import re
    from urllib.parse import urlencode

    register_and_login(api, "webby", PASSWORD)
    for _ in range(4):
        _login(client, "webby", "wrong-password")
    page = client.simulate_get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = urlencode({"username": "webby", "password": PASSWORD, "csrf_token": token})
    resp = client.simulate_post("/login", body=form,
                                headers={"Cookie": f"fb_session={page.cookies['fb_session'].value}",
                                         "Content-Type": "application/x-www-form-urlencoded"},
                                remote_addr="10.0.0.1")
    assert resp.status_code == 429 and "Too many failed logins" in resp.text and resp.headers["Retry-After"]
