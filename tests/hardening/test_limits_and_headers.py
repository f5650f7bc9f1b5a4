"""Every part's answers carry the security headers; bodies over the limit are refused before they are read;
the embedded databases and FLIGHTBOOK_HOME are the owner's alone."""
from __future__ import annotations

import io
import json
import stat

import pytest

from flightbook import wiring
from flightbook.kernel.settings import Settings


@pytest.mark.parametrize("path", ["/health", "/api/nope", "/", "/login", "/api/places/search?q=lon",
                                  "/api/gateway/places/search?q=lon", "/static/site.css"])
def test_every_answer_says_nosniff_and_a_referrer_policy(api, path):
    resp = api.client.simulate_get(path.split("?")[0], query_string=path.partition("?")[2])
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/api/users/login", "/api/gateway/users/login", "/api/payments/webhook",
                                  "/api/loyalty/redeem"])
def test_a_body_over_the_limit_is_a_413_before_it_is_read(api, path):
    big = json.dumps({"username": "x" * (1 << 20), "password": "y"})
    resp = api.client.simulate_post(path, body=big, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json["error"]["code"] == "payload_too_large"


def test_the_limit_is_decided_on_content_length_without_reading(client):
    class Unreadable(io.RawIOBase):
        def read(self, size=-1):
            raise AssertionError("the body was read")

    resp = client.simulate_request("POST", "/api/users/login", headers={"Content-Type": "application/json",
                                                                         "Content-Length": str(20 << 20)},
                                   extras={"wsgi.input": Unreadable()})
    assert resp.status_code == 413


def test_a_chunked_body_is_read_only_up_to_the_limit(system):
    from flightbook.kernel.limits import PayloadTooLarge, RequestLimits, _LimitedInput

    stream = _LimitedInput(io.BytesIO(b"x" * 100), 10)
    assert stream.read(5) == b"xxxxx"
    with pytest.raises(PayloadTooLarge):
        stream.read()
    assert RequestLimits(10, 5)  # the middleware is built from the settings' two limits
    assert (system.settings.max_body_bytes, system.settings.max_form_bytes) == (1 << 20, 64 << 10)


def test_forms_have_their_own_smaller_limit(client, env, tmp_path):
    resp = client.simulate_post("/login", body="username=" + "x" * (65 << 10),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 413
    small = wiring.build_system(Settings.from_env({**env, "FLIGHTBOOK_MAX_BODY_BYTES": "100"}))
    try:
        import falcon.testing
        resp = falcon.testing.TestClient(wiring.create_app(small)).simulate_post(
            "/api/users/login", json={"username": "u" * 200, "password": "p"})
        assert resp.status_code == 413
    finally:
        small.close()


def test_the_embedded_databases_and_home_are_the_owners_alone(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    system = wiring.build_system(Settings.from_env({"FLIGHTBOOK_HOME": str(home)}))
    try:
        wiring.migrate(system)
    finally:
        system.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = sorted(home.iterdir())
    assert {f.name for f in files} >= {"flights.db", "payments.db", "loyalty.db", "secret_key"}
    for f in files:
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
