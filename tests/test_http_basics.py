"""Kernel behaviour every part shares: JSON errors, request ids, health and readiness."""


def test_health_and_ready(api):
    assert api.get("/health").json == {"status": "ok"}
    ready = api.get("/ready")
    assert ready.status_code == 200 and ready.json["status"] == "ready"
    assert set(ready.json["databases"]) >= {"flights"}


def test_request_id_is_echoed_or_made_up(api):
    given = api.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = api.get("/health")
    assert len(made.headers["X-Request-ID"]) == 32


def test_unknown_route_is_a_json_404(api):
    resp = api.get("/api/nope")
    assert resp.status_code == 404
    assert set(resp.json["error"]) == {"code", "message"}


def test_malformed_json_is_a_json_400(client):
    resp = client.simulate_post("/api/users/login", body="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "code" in resp.json["error"]


def test_service_token_is_refused_where_a_traveller_is_needed(api, service_token):
    resp = api.get("/api/users/me", headers={"Authorization": f"Bearer {service_token(audience='flights')}"})
    assert resp.status_code == 403
