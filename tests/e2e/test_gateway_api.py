"""/api/gateway/<path> answers exactly as /api/<path> of the part that owns it (one-process mode here;
tests/e2e/test_journey.py runs the same calls against four services)."""
import pytest

from tests.conftest import register_and_login


@pytest.mark.parametrize("path, params", [
    ("/places/search", {"q": ""}),
    ("/places/search", {"q": "x" * 101}),
    ("/flights/search", {"origin": "JFK"}),
    ("/tickets/NOSUCH", None),
])
def test_gateway_errors_match_the_owner(api, path, params):
    direct = api.get("/api" + path, params=params)
    via = api.get("/api/gateway" + path, params=params)
    assert direct.status_code >= 400
    assert (via.status_code, via.json) == (direct.status_code, direct.json)


def test_unknown_gateway_path_is_a_json_404(api):
    resp = api.get("/api/gateway/nope")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"


def test_gateway_passes_the_token_and_request_id_on(api):
    traveller = register_and_login(api, "via-gateway")
    direct = traveller.get("/api/users/me")
    via = traveller.get("/api/gateway/users/me", headers={"X-Request-ID": "trace-me-1"})
    assert via.status_code == 200 and via.json == direct.json
    assert via.headers["X-Request-ID"] == "trace-me-1"
    assert api.get("/api/gateway/users/me").status_code == 401


def test_gateway_post_round_trip(api):
    body = {"username": "gw-user", "email": "gw@example.com", "password": "long-enough-pw",
            "first_name": "Gate", "last_name": "Way"}
    created = api.post("/api/gateway/users/register", json=body)
    assert created.status_code == 201 and created.json["username"] == "gw-user"
    again = api.post("/api/gateway/users/register", json=body)
    assert again.status_code == 409 and again.json["error"]["code"] == "username_taken"
