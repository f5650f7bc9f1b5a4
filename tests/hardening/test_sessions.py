"""Sessions are revocable: short access tokens, a refresh token kept hashed and rotated on use (an old one used
again ends the session), logout over the API and on the web, a password change and ``revoke-sessions``.
SQLite and PostgreSQL."""
from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import falcon.testing
import pytest

from flightbook import wiring
from flightbook.modules.flights.models import UserSession
from tests.conftest import register_and_login

PASSWORD = "correct horse battery"


def _login(api, username):
    register_and_login(api, username, PASSWORD)
    resp = api.post("/api/users/login", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200
    return resp.json


def test_a_refresh_token_is_kept_hashed_rotated_and_ends_the_session_when_used_twice(api):
    first = _login(api, "rotor")
    assert first["refresh_token"] and UserSession.select().where(
        UserSession.refresh_hash.contains(first["refresh_token"].split(".")[1])).count() == 0
    second = api.post("/api/users/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json["refresh_token"] != first["refresh_token"]
    assert api.as_user(second.json["token"]).get("/api/users/me").status_code == 200
    reused = api.post("/api/users/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json["error"]["code"] == "session_ended"
    # the copy's reuse ended the whole session: the current refresh token is refused too
    assert api.post("/api/users/refresh", json={"refresh_token": second.json["refresh_token"]}).status_code == 401


def test_api_logout_ends_the_refresh_at_once(api):
    login = _login(api, "leaver")
    me = api.as_user(login["token"])
    assert me.post("/api/users/logout").status_code == 204
    assert api.post("/api/users/refresh", json={"refresh_token": login["refresh_token"]}).status_code == 401
    other = _login(api, "leaver2")
    assert api.post("/api/users/logout", json={"refresh_token": other["refresh_token"]}).status_code == 204
    assert api.post("/api/users/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401


def test_access_tokens_are_short_lived(system):
    token, expires_at = system.tokens.issue_user_token(1, "ada", False, "sid")
    assert expires_at - time.time() <= system.settings.access_token_minutes * 60 + 1
    assert system.tokens.verify(token).session_id == "sid"


def test_a_password_change_and_revoke_sessions_end_every_session(api, system):
    a, b = _login(api, "changer"), None
    b = api.post("/api/users/login", json={"username": "changer", "password": PASSWORD}).json
    resp = api.as_user(a["token"]).post("/api/users/password", json={"current_password": PASSWORD,
                                                                      "new_password": "another long one"})
    assert resp.status_code == 204
    for login in (a, b):
        assert api.post("/api/users/refresh", json={"refresh_token": login["refresh_token"]}).status_code == 401
    c = api.post("/api/users/login", json={"username": "changer", "password": "another long one"}).json
    assert wiring.flights_admin(system).revoke_sessions("changer") == 1
    assert api.post("/api/users/refresh", json={"refresh_token": c["refresh_token"]}).status_code == 401


def _web_login(client, username):
    page = client.simulate_get("/login")
    cookie = page.cookies["fb_session"].value
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.simulate_post("/login", body=urlencode({"username": username, "password": PASSWORD,
                                                         "csrf_token": token}),
                                headers={"Cookie": f"fb_session={cookie}",
                                         "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 303
    return resp.cookies["fb_session"].value


def _signed_in(client, cookie) -> bool:
    resp = client.simulate_get("/bookings", headers={"Cookie": f"fb_session={cookie}"})
    return resp.status_code == 200


def _csrf_of(client, cookie):
    page = client.simulate_get("/", headers={"Cookie": f"fb_session={cookie}"})
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_a_copy_of_the_web_cookie_stops_working_at_logout(api, client):
    register_and_login(api, "webber", PASSWORD)
    cookie = _web_login(client, "webber")
    assert _signed_in(client, cookie)
    copy = cookie
    resp = client.simulate_post("/logout", body=urlencode({"csrf_token": _csrf_of(client, cookie)}),
                                headers={"Cookie": f"fb_session={cookie}",
                                         "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 303
    assert not _signed_in(client, copy)  # this worker forgot the session at once; others within seconds


def test_the_web_ui_renews_an_expired_access_token_transparently(env, tmp_path):
    from flightbook.kernel.settings import Settings

    settings = Settings.from_env({**env, "FLIGHTBOOK_ACCESS_TOKEN_MINUTES": "1"})
    system = wiring.build_system(settings)
    try:
        system.tokens._ttl = 1  # an access token of one second: the next page has to renew it
        client = falcon.testing.TestClient(wiring.create_app(system))
        from tests.conftest import Api
        register_and_login(Api(client), "renewer", PASSWORD)
        cookie = _web_login(client, "renewer")
        time.sleep(2.1)
        resp = client.simulate_get("/bookings", headers={"Cookie": f"fb_session={cookie}"})
        assert resp.status_code == 200
        renewed = resp.cookies["fb_session"].value
        assert renewed != cookie and _signed_in(client, renewed)
        # another worker of the gateway, which never saw this renewal, refuses the old cookie once its
        # refresh token was used: the session is ended for whoever holds the copy
        other = wiring.build_system(settings)
        try:
            assert not _signed_in(falcon.testing.TestClient(wiring.create_app(other)), cookie)
        finally:
            other.close()
    finally:
        system.close()


@pytest.mark.parametrize("path", ["/api/users/refresh", "/api/users/logout"])
def test_bad_refresh_tokens_are_4xx(api, path):
    for body in ({"refresh_token": "nope"}, {"refresh_token": "a.b"}, {"refresh_token": 5}, {}):
        resp = api.post(path, json=body)
        # logging out a session that is not there is done already (204); a refresh of it is refused
        assert 400 <= resp.status_code < 500 or (path.endswith("logout") and resp.status_code == 204), resp.text
