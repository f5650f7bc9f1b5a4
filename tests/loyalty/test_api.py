"""The loyalty HTTP API: shapes, access control and bad input (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.payments.builders import held_booking


@pytest.fixture
def as_service(api, service_token):
    return api.as_user(service_token(caller="payments", audience="loyalty"))


def _me(traveller) -> int:
    return traveller.get("/api/users/me").json["id"]


def _earn(as_service, user_id, ref, amount=10000, currency="USD"):
    return as_service.post("/api/loyalty/earn", json={"user_id": user_id, "booking_ref": ref, "amount": amount,
                                                      "currency": currency})


def test_tiers_are_public_and_ascending(api):
    resp = api.get("/api/loyalty/tiers")
    assert resp.status_code == 200
    assert [(t["name"], t["threshold"], t["multiplier"]) for t in resp.json["tiers"]] == [
        ("Blue", 0, 1.0), ("Silver", 25000, 1.25), ("Gold", 50000, 1.5), ("Platinum", 100000, 2.0)]


def test_account_exists_from_the_first_call(traveller):
    user_id = _me(traveller)
    resp = traveller.get(f"/api/loyalty/account/{user_id}")
    assert resp.status_code == 200
    assert resp.json == {"user_id": user_id, "balance": 0, "available": 0, "tier": "Blue", "qualifying_points": 0,
                         "next_tier": "Silver", "points_to_next_tier": 25000, "expiring_soon": 0}


def test_account_is_for_that_user_an_admin_or_a_service(api, traveller, as_service, system):
    user_id = _me(traveller)
    admin = api.as_user(system.tokens.issue_user_token(999, "boss", True)[0])
    assert api.get(f"/api/loyalty/account/{user_id}").status_code == 401
    assert api.as_user(system.tokens.issue_user_token(user_id + 1, "other", False)[0]).get(
        f"/api/loyalty/account/{user_id}").status_code == 403
    assert admin.get(f"/api/loyalty/account/{user_id}").status_code == 200
    assert as_service.get(f"/api/loyalty/account/{user_id}").status_code == 200
    assert traveller.get("/api/loyalty/account/abc").status_code == 400


def test_earn_redeem_commit_and_history_over_http(traveller, as_service):
    user_id = _me(traveller)
    ref, other_ref = held_booking(traveller)["ref"], held_booking(traveller)["ref"]
    earned = _earn(as_service, user_id, "ab12cd")
    assert earned.status_code == 200 and earned.json == {"user_id": user_id, "booking_ref": "AB12CD", "points": 1000}
    assert _earn(as_service, user_id, "AB12CD").json["points"] == 1000  # idempotent
    hold = traveller.post("/api/loyalty/redeem", json={"user_id": user_id, "points": 600, "booking_ref": ref})
    assert hold.status_code == 201
    assert hold.json["status"] == "PENDING" and hold.json["value"] == {"amount": 600, "currency": "USD"}
    too_much = traveller.post("/api/loyalty/redeem", json={"user_id": user_id, "points": 500, "booking_ref": other_ref})
    assert too_much.status_code == 409
    assert too_much.json["error"]["code"] == "insufficient_points" and too_much.json["error"]["balance"] == 1000
    live = as_service.get(f"/api/loyalty/bookings/{ref}/hold")
    assert live.json["hold"]["hold_id"] == hold.json["hold_id"]
    for _ in range(2):
        committed = as_service.post(f"/api/loyalty/holds/{hold.json['hold_id']}/commit")
        assert committed.status_code == 200 and committed.json["status"] == "COMMITTED"
    history = traveller.get(f"/api/loyalty/history/{user_id}", params={"per_page": 1})
    assert history.status_code == 200 and history.json["total"] == 2
    assert [(t["kind"], t["points"], t["balance_after"]) for t in history.json["transactions"]] == [
        ("REDEEM", -600, 400)]
    reversed_ = as_service.post("/api/loyalty/reversals", json={"booking_ref": ref})
    assert reversed_.status_code == 200 and reversed_.json["points_returned"] == 600
    assert traveller.get(f"/api/loyalty/account/{user_id}").json["balance"] == 1000


def test_service_only_endpoints_refuse_travellers(traveller):
    user_id = _me(traveller)
    assert _earn(traveller, user_id, "AB12CD").status_code == 403
    assert traveller.post("/api/loyalty/holds/ph_x/commit").status_code == 403
    assert traveller.post("/api/loyalty/holds/ph_x/release").status_code == 403
    assert traveller.post("/api/loyalty/reversals", json={"booking_ref": "AB12CD"}).status_code == 403
    assert traveller.get("/api/loyalty/bookings/AB12CD/hold").status_code == 403


def test_redeem_is_for_that_traveller_only(traveller, as_service, system, api):
    user_id = _me(traveller)
    _earn(as_service, user_id, "AB12CD")
    other = api.as_user(system.tokens.issue_user_token(user_id + 1, "other", False)[0])
    body = {"user_id": user_id, "points": 100, "booking_ref": "XY98ZW"}
    assert other.post("/api/loyalty/redeem", json=body).status_code == 403
    assert as_service.post("/api/loyalty/redeem", json=body).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"points": 100, "booking_ref": "AB12CD"}, "user_id"),
    ({"user_id": "me", "points": 100, "booking_ref": "AB12CD"}, "user_id"),
    ({"points": 0, "booking_ref": "AB12CD"}, "points"),
    ({"points": 1.5, "booking_ref": "AB12CD"}, "points"),
    ({"points": 100}, "booking_ref"),
    ({"points": 100, "booking_ref": "AB12CD", "currency": "usd"}, "currency"),
    ({"points": 150, "booking_ref": "AB12CD", "currency": "JPY"}, "points"),
])
def test_bad_redeems_are_400s_that_name_the_field(traveller, body, field):
    user_id = _me(traveller)
    if body.get("booking_ref") == "AB12CD":
        body = {**body, "booking_ref": held_booking(traveller)["ref"]}
    resp = traveller.post("/api/loyalty/redeem", json={"user_id": user_id, **body} if "user_id" not in body
                          and field != "user_id" else body)
    assert resp.status_code == 400, resp.text
    assert resp.json["error"]["field"] == field


def test_bad_earns_and_unknown_holds(as_service):
    assert as_service.post("/api/loyalty/earn", json={"user_id": 1, "booking_ref": "A", "amount": -5,
                                                      "currency": "USD"}).status_code == 400
    assert as_service.post("/api/loyalty/earn", json={"user_id": 1, "booking_ref": "A", "amount": 5}).status_code == 400
    assert as_service.post("/api/loyalty/earn", json=None).status_code == 400
    missing = as_service.post("/api/loyalty/holds/ph_nope/commit")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "hold_not_found"
    assert as_service.post("/api/loyalty/reversals", json={}).status_code == 400


def test_points_are_held_only_against_the_travellers_own_booking(api, traveller, as_service):
    """Someone else's booking ref reads exactly like an unknown one, and their booking is left alone."""
    from tests.conftest import register_and_login

    owner = register_and_login(api)
    theirs = held_booking(owner, fare=30000)["ref"]
    user_id = _me(traveller)
    _earn(as_service, user_id, "EARN01", amount=100000)
    stranger = traveller.post("/api/loyalty/redeem", json={"user_id": user_id, "points": 500, "booking_ref": theirs})
    unknown = traveller.post("/api/loyalty/redeem", json={"user_id": user_id, "points": 500, "booking_ref": "ZZ99ZZ"})
    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json["error"]["code"] == unknown.json["error"]["code"] == "booking_not_found"
    assert stranger.json["error"]["message"].replace(theirs, "?") == unknown.json["error"]["message"].replace(
        "ZZ99ZZ", "?")
    assert as_service.get(f"/api/loyalty/bookings/{theirs}/hold").json["hold"] is None
    intent = owner.post("/api/payments/create-intent", json={"booking_ref": theirs})
    assert intent.status_code == 201 and (intent.json["amount"], intent.json["currency"]) == (30000, "USD"), intent.text
    _earn(as_service, _me(owner), "EARN02", amount=100000)
    mine = owner.post("/api/loyalty/redeem", json={"user_id": _me(owner), "points": 500, "booking_ref": theirs})
    assert mine.status_code == 201, mine.text  # the owner's own hold is not blocked by a stranger's


def test_a_strangers_booking_ref_in_create_intent_reads_as_unknown(api, traveller):
    from tests.conftest import register_and_login

    theirs = held_booking(register_and_login(api))["ref"]
    stranger = traveller.post("/api/payments/create-intent", json={"booking_ref": theirs})
    unknown = traveller.post("/api/payments/create-intent", json={"booking_ref": "ZZ99ZZ"})
    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json["error"]["code"] == unknown.json["error"]["code"]
    assert stranger.json["error"]["message"].replace(theirs, "?") == unknown.json["error"]["message"].replace(
        "ZZ99ZZ", "?")
