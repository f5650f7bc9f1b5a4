"""The admin console in one process (its contracts through the real HTTP API, its pages through the gateway):
cancelling a flight with bookings in every state through the saga, twice; cancelling a booking for a
traveller with the refund chosen; blocking a login; adjusting points; the audit; and that a traveller's
token or cookie gets nothing from /admin or the admin API."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from flightbook.kernel import clock
from flightbook.modules.flights.models import Booking
from tests.conftest import register_and_login
from tests.e2e.test_saga import (FARE, Saga, account, book, give_points, history, hold_points, lapse, me, new_flight,
                                 pay, payments_of, status)
from tests.flights.builders import seats_left

ADMIN_PASSWORD = "admin pass phrase"


@pytest.fixture
def saga(system):
    saga = Saga(system)
    yield saga
    saga.close()


@pytest.fixture
def as_loyalty(api, service_token):
    return api.as_user(service_token(caller="payments", audience="loyalty"))


@pytest.fixture
def admin(system, api):
    system.parts["flights"].contract.create_admin("boss", ADMIN_PASSWORD)
    resp = api.post("/api/users/login", json={"username": "boss", "password": ADMIN_PASSWORD})
    assert resp.status_code == 200, resp.text
    return api.as_user(resp.json["token"])


def _state(traveller, refs) -> dict:
    """Everything the cancellation may change, per booking: status, payments with their refunds, points."""
    return {ref: (status(traveller, ref),
                  [(p["amount"], p["refunded_amount"], len(p["refunds"])) for p in payments_of(traveller, ref)],
                  history(traveller, ref)) for ref in refs}


def test_cancelling_a_flight_cancels_every_booking_once_with_everything_back_and_twice_changes_nothing(
        system, saga, api, admin, as_loyalty):
    flight = new_flight(seats=50)
    travellers = [register_and_login(api) for _ in range(4)]
    for t in travellers:
        give_points(as_loyalty, me(t), 3_000_000)
    kinds: dict[str, str] = {}
    owner: dict[str, object] = {}

    def add(kind: str, t) -> str:
        ref = book(t, flight)
        kinds[ref], owner[ref] = kind, t
        return ref

    for i in range(20):
        t = travellers[i % 4]
        kind = ("held", "held_points", "card", "card", "cash_points", "cash_points", "points_only", "points_only",
                "cancelled_held", "cancelled_paid", "expired", "card", "cash_points", "points_only", "held",
                "card", "cash_points", "points_only", "cancelled_paid", "expired")[i]
        ref = add(kind, t)
        if kind == "held_points":
            hold_points(t, ref, 2000)
        elif kind == "card":
            assert pay(t, ref).status_code == 200
        elif kind == "cash_points":
            hold_points(t, ref, 3000)
            assert pay(t, ref).status_code == 200
        elif kind == "points_only":
            hold_points(t, ref, FARE)
            assert pay(t, ref, number=None).status_code == 200
        elif kind == "cancelled_held":
            assert t.post(f"/api/tickets/{ref}/cancel").status_code == 200
        elif kind == "cancelled_paid":
            assert pay(t, ref).status_code == 200
            saga.settle()
            assert t.post(f"/api/tickets/{ref}/cancel").status_code == 200
        elif kind == "expired":
            lapse(ref)
    saga.settle()
    assert Counter(kinds.values())["card"] == 4 and len(kinds) == 20
    before = {ref: _state(owner[ref], [ref])[ref] for ref in kinds}
    balances = {me(t): account(t)["balance"] for t in travellers}

    resp = admin.post(f"/api/admin/flights/dated/{flight.id}/cancel", json={"reason": "aircraft grounded"})
    assert resp.status_code == 200, resp.text
    open_before = sum(k in ("held", "held_points", "card", "cash_points", "points_only") for k in kinds.values())
    assert resp.json == {"flight_id": flight.id, "cancelled": open_before, "already_closed": 20 - open_before,
                         "newly_cancelled": True}
    saga.settle()
    assert seats_left(flight.id) == 50
    after = {ref: _state(owner[ref], [ref])[ref] for ref in kinds}
    for ref, kind in kinds.items():
        state, payments, points = after[ref]
        if kind == "expired":
            assert state == "EXPIRED" and payments == [] and points == []
            continue
        assert state == "CANCELLED", (ref, kind)
        if kind in ("card", "cash_points", "cancelled_paid"):
            (paid,) = [p for p in payments]
            amount, refunded, refunds = paid
            expected = amount if kind != "cancelled_paid" else before[ref][1][0][1]  # a traveller's own: as it was
            assert (refunded, refunds) == (expected, 1), (ref, kind, payments)
        if kind == "points_only":
            assert payments == [(0, 0, 0)]
        if kind in ("card", "cash_points", "points_only", "held_points", "held", "cancelled_held"):
            assert sum(points for _, points in points) == 0, (ref, kind, points)  # earned back, redeemed returned
        if kind == "cash_points":
            assert [k for k, _ in points] == ["REDEEM", "EARN", "REVERSAL"], points
    for t in travellers:  # the seed points stay, all else went back
        assert account(t)["balance"] == account(t)["available"]
    assert saga.backlog() == 0

    again = admin.post(f"/api/admin/flights/dated/{flight.id}/cancel", json={"reason": "aircraft grounded"})
    assert again.status_code == 200, again.text
    assert again.json == {"flight_id": flight.id, "cancelled": 0, "already_closed": 20, "newly_cancelled": False}
    saga.settle()
    assert {ref: _state(owner[ref], [ref])[ref] for ref in kinds} == after
    assert seats_left(flight.id) == 50
    audit = admin.get("/api/admin/flights/audit").json["entries"]
    assert [(e["action"], e["target"], e["reason"], e["admin_username"]) for e in audit] == [
        ("flight.cancel", f"flight {flight.id}", "aircraft grounded", "boss")]
    assert audit[0]["details"]["bookings_cancelled"] == open_before
    booked = travellers[0].post("/api/flights/book", json={"outbound_flight_id": flight.id, "cabin": "economy",
                                                           "contact_email": "a@example.com", "passengers": [
                                                               {"first_name": "A", "last_name": "B",
                                                                "date_of_birth": "1990-01-01"}]})
    assert booked.status_code == 409 and booked.json["error"]["code"] == "flight_cancelled"
    del balances


def test_an_admin_cancels_a_booking_for_the_traveller_with_a_full_refund_after_the_cutoff(
        system, saga, traveller, admin):
    flight = new_flight(departs_in=dt.timedelta(hours=5))  # inside the 24 h cut-off: the fare rule gives 0 %
    ref = book(traveller, flight)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    bad = admin.post(f"/api/admin/flights/bookings/{ref}/cancel", json={"full_refund": True})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "reason"
    resp = admin.post(f"/api/admin/flights/bookings/{ref}/cancel",
                      json={"full_refund": True, "reason": "missed connection, our fault"})
    assert resp.status_code == 200, resp.text
    assert resp.json["status"] == "CANCELLED" and resp.json["refund_due"]["amount"] == FARE
    saga.settle()
    (payment,) = payments_of(traveller, ref)
    assert payment["refunded_amount"] == FARE and len(payment["refunds"]) == 1
    (entry,) = admin.get("/api/admin/flights/audit", params={"target": f"booking {ref}"}).json["entries"]
    assert entry["details"]["full_refund"] is True and entry["details"]["refund_percent"] == 100
    events = admin.get(f"/api/admin/flights/bookings/{ref}/events").json["events"]
    assert [e["topic"] for e in events] == ["booking.confirmed", "booking.cancelled"]
    found = admin.get("/api/admin/flights/bookings", params={"q": "lovelace"}).json["bookings"]
    assert ref in [b["ref"] for b in found]


def test_blocking_a_login_and_adjusting_points_are_recorded_and_never_go_below_zero(system, api, traveller, admin):
    user_id = me(traveller)
    username = traveller.get("/api/users/me").json["username"]
    resp = admin.post(f"/api/admin/flights/users/{user_id}/block", json={"blocked": True, "reason": "fraud check"})
    assert resp.status_code == 200 and resp.json["blocked"] is True
    login = api.post("/api/users/login", json={"username": username, "password": "correct horse battery"})
    assert login.status_code == 403 and login.json["error"]["code"] == "login_blocked"
    assert admin.post(f"/api/admin/flights/users/{user_id}/block",
                      json={"blocked": False, "reason": "cleared"}).json["blocked"] is False
    assert api.post("/api/users/login", json={"username": username, "password": "correct horse battery"}).status_code == 200

    up = admin.post(f"/api/admin/loyalty/accounts/{user_id}/adjust", json={"points": 1500, "reason": "goodwill"})
    assert up.status_code == 200 and up.json["balance"] == 1500
    too_far = admin.post(f"/api/admin/loyalty/accounts/{user_id}/adjust", json={"points": -1501, "reason": "typo"})
    assert too_far.status_code == 409
    down = admin.post(f"/api/admin/loyalty/accounts/{user_id}/adjust", json={"points": -500, "reason": "typo"})
    assert down.status_code == 200 and down.json["balance"] == 1000
    rows = traveller.get(f"/api/loyalty/history/{user_id}").json["transactions"]
    assert [(t["kind"], t["points"], t["note"]) for t in rows] == [("ADJUST", -500, "typo"), ("ADJUST", 1500, "goodwill")]
    lots = admin.get(f"/api/admin/loyalty/accounts/{user_id}/lots").json["lots"]
    assert [(lot["source"], lot["points"], lot["remaining"]) for lot in lots] == [("ADJUST", 1500, 1000)]
    audit = admin.get("/api/admin/loyalty/audit").json["entries"]
    assert [(e["action"], e["details"]["points"]) for e in audit] == [("points.adjust", -500), ("points.adjust", 1500)]
    assert [e["action"] for e in admin.get("/api/admin/flights/audit").json["entries"]] == ["user.unblock",
                                                                                            "user.block"]


ADMIN_API = [("GET", "/api/admin/flights/dated?origin=LHR"), ("GET", "/api/admin/flights/overview?today=2026-01-01"),
             ("GET", "/api/admin/flights/users?q=a"), ("GET", "/api/admin/flights/audit"),
             ("GET", "/api/admin/flights/events"), ("POST", "/api/admin/flights/events/retry"),
             ("POST", "/api/admin/flights/users/1/block"), ("GET", "/api/admin/loyalty/audit"),
             ("POST", "/api/admin/loyalty/accounts/1/adjust"), ("GET", "/api/admin/payments/events"),
             ("GET", "/api/admin/payments/declines?since=2026-01-01T00:00:00Z")]


def test_a_travellers_token_gets_nothing_from_the_admin_api(system, api, traveller, service_token):
    body = {"blocked": True, "reason": "x", "points": 5}
    for method, path in ADMIN_API:
        path, _, query = path.partition("?")
        params = dict(p.split("=") for p in query.split("&")) if query else None
        resp = (traveller.get(path, params=params) if method == "GET" else traveller.post(path, json=body))
        assert resp.status_code == 403 and resp.json["error"]["code"] == "admin_only", (path, resp.text)
        anon = api.get(path, params=params) if method == "GET" else api.post(path, json=body)
        assert anon.status_code == 401, path
        as_service = api.as_user(service_token(caller="gateway", audience="flights"))
        if path.startswith("/api/admin/flights"):  # a service is not an admin either
            resp = as_service.get(path, params=params) if method == "GET" else as_service.post(path, json=body)
            assert resp.status_code == 403, path


def test_an_id_no_row_can_have_is_no_such_thing_not_a_fault(admin):
    """Found by fuzzing the admin API with an admin's token: Falcon's int converter passes any size of number,
    and one too large for the database was a 500."""
    for too_large in (2 ** 63, 60148492755682403024896):
        for path in (f"/api/admin/flights/dated/{too_large}", f"/api/admin/flights/users/{too_large}",
                     f"/api/admin/flights/users/{too_large}/bookings"):
            resp = admin.get(path)
            assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found", (path, resp.text)
        resp = admin.post(f"/api/admin/flights/dated/{too_large}/cancel", json={"reason": "x"})
        assert resp.status_code == 404, resp.text
        resp = admin.post(f"/api/admin/flights/users/{too_large}/block", json={"blocked": True, "reason": "x"})
        assert resp.status_code == 404, resp.text
    assert admin.get("/api/admin/flights/dated/0").status_code == 404


# --- the pages, through the gateway in process ------------------------------------------------------------

def _sign_in(client, username: str, password: str) -> dict:
    """A browser's session cookie after logging in through the login form."""
    page = client.simulate_get("/login")
    cookies = {"fb_session": page.cookies["fb_session"].value}
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.simulate_post("/login", cookies=cookies, body=f"csrf_token={csrf}&username={username}&password={password.replace(' ', '+')}&next=/",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 303, resp.text
    return {"fb_session": resp.cookies["fb_session"].value}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


ADMIN_PAGES = ["/admin", "/admin/flights?q=LHR", "/admin/bookings?q=x", "/admin/travellers?q=", "/admin/loyalty",
               "/admin/events", "/admin/audit", "/admin/overview/bookings.csv"]


def test_the_pages_are_for_admins_only_and_every_change_asks_first(system, client, api, saga, admin):
    traveller = register_and_login(api, "pagetraveller")
    flight = new_flight()
    ref = book(traveller, flight)
    assert pay(traveller, ref).status_code == 200
    saga.settle()
    for path in ADMIN_PAGES:
        assert client.simulate_get(path.split("?")[0]).status_code == 303  # signed out: the login page
    cookie = _sign_in(client, "pagetraveller", "correct horse battery")
    for path in ADMIN_PAGES + [f"/admin/flights/{flight.id}", f"/admin/bookings/{ref}"]:
        path, _, q = path.partition("?")
        resp = client.simulate_get(path, query_string=q, cookies=cookie)
        assert resp.status_code == 404 and "Page not found" in resp.text or "no page" in resp.text, path
    assert client.simulate_post(f"/admin/flights/{flight.id}/cancel", cookies=cookie).status_code in (403, 404)

    boss = _sign_in(client, "boss", ADMIN_PASSWORD)
    for path in ADMIN_PAGES:
        path, _, q = path.partition("?")
        resp = client.simulate_get(path, query_string=q, cookies=boss)
        assert resp.status_code == 200, (path, resp.text[:500])
    overview = client.simulate_get("/admin", cookies=boss).text
    assert overview.count("<svg class=\"chart\"") == 5 and "/admin/overview/load.csv" in overview
    csv_text = client.simulate_get("/admin/overview/bookings.csv", cookies=boss).text
    lines = csv_text.splitlines()
    assert lines[0] == "day,confirmed,not_confirmed" and len(lines) == 31
    assert lines[-1] == f"{clock.now().date().isoformat()},1,0"

    page = client.simulate_get(f"/admin/flights/{flight.id}", cookies=boss)
    assert page.status_code == 200 and ref in page.text and 'data-sold>1<' in page.text
    confirm = client.simulate_get(f"/admin/flights/{flight.id}/cancel", cookies=boss)
    assert confirm.status_code == 200 and "1 open booking(s)" in confirm.text and "data-confirm-form" in confirm.text
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    no_csrf = client.simulate_post(f"/admin/flights/{flight.id}/cancel", cookies=boss, headers=form,
                                   body="reason=storm")
    assert no_csrf.status_code == 403 and Booking.get_by_id(ref).status == "CONFIRMED"
    no_reason = client.simulate_post(f"/admin/flights/{flight.id}/cancel", cookies=boss, headers=form,
                                     body=f"csrf_token={_csrf(confirm.text)}&reason=")
    assert no_reason.status_code == 400 and Booking.get_by_id(ref).status == "CONFIRMED"
    done = client.simulate_post(f"/admin/flights/{flight.id}/cancel", cookies=boss, headers=form,
                                body=f"csrf_token={_csrf(confirm.text)}&reason=storm")
    assert done.status_code == 303 and Booking.get_by_id(ref).status == "CANCELLED"
    saga.settle()
    booking_page = client.simulate_get(f"/admin/bookings/{ref}", cookies=boss).text
    assert "booking.cancelled" in booking_page and "payment.refunded" in booking_page, booking_page
    audit_page = client.simulate_get("/admin/audit", cookies=boss).text
    assert "flight.cancel" in audit_page and "boss" in audit_page and "storm" in audit_page


def test_a_blocked_traveller_is_told_so_on_the_login_form_with_their_username_kept(system, client, api, admin):
    traveller = register_and_login(api, "blockedone")
    assert admin.post(f"/api/admin/flights/users/{me(traveller)}/block",
                      json={"blocked": True, "reason": "fraud check"}).status_code == 200
    page = client.simulate_get("/login")
    resp = client.simulate_post("/login", cookies={"fb_session": page.cookies["fb_session"].value},
                                headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body=f"csrf_token={_csrf(page.text)}&username=blockedone"
                                     "&password=correct+horse+battery&next=/")
    assert resp.status_code == 403, resp.text
    assert 'id="login-title"' in resp.text and "This account is blocked" in resp.text
    assert 'name="username" type="text" value="blockedone"' in resp.text


@pytest.mark.parametrize("module", ["flights", "loyalty", "payments"])
def test_each_http_client_implements_every_method_of_its_contract(module):
    """A Protocol's method with only a docstring answers None: a client that forgot one would look fine."""
    import importlib
    import inspect

    contract = importlib.import_module(f"flightbook.contracts.{module}")
    protocol = getattr(contract, f"{module.capitalize()}Contract")
    client = importlib.import_module(f"flightbook.modules.{module}.client").Client
    names = [n for n, _ in inspect.getmembers(protocol, inspect.isfunction) if not n.startswith("_")]
    missing = [n for n in names if next(c for c in client.__mro__ if n in c.__dict__) is protocol]
    assert missing == []


def test_tiers_are_edited_with_their_history_and_dead_letters_retried(system, saga, traveller, admin):
    from flightbook.kernel import outbox as kout

    tiers = {t["name"]: t for t in traveller.get("/api/loyalty/tiers").json["tiers"]}
    top = max(tiers.values(), key=lambda t: t["threshold"])
    resp = admin.post(f"/api/admin/loyalty/tiers/{top['name']}",
                      json={"threshold": top["threshold"] + 1000, "multiplier_permille": 2500, "reason": "promo"})
    assert resp.status_code == 200, resp.text
    changed = {t["name"]: t for t in resp.json["tiers"]}[top["name"]]
    assert (changed["threshold"], changed["multiplier_permille"]) == (top["threshold"] + 1000, 2500)
    assert admin.post("/api/admin/loyalty/tiers/nosuch", json={"threshold": 1, "multiplier_permille": 1000,
                                                               "reason": "x"}).status_code == 404
    assert traveller.post(f"/api/admin/loyalty/tiers/{top['name']}", json={
        "threshold": 1, "multiplier_permille": 1000, "reason": "x"}).status_code == 403
    (entry,) = admin.get("/api/admin/loyalty/audit", params={"target": f"tier {top['name']}"}).json["entries"]
    assert entry["details"]["was_threshold"] == top["threshold"] and entry["details"]["threshold"] == top["threshold"] + 1000

    ref = book(traveller, new_flight())
    assert traveller.post(f"/api/tickets/{ref}/cancel").status_code == 200  # booking.cancelled, to each subscriber
    saga.settle()
    t = kout.tables(system.parts["flights"].database)
    with kout.event_connection(system.parts["flights"].database):
        killed = t.OutboxDelivery.update(status=kout.DEAD, attempts=5, last_error="boom").where(
            t.OutboxDelivery.status == kout.DELIVERED).execute()
    assert killed >= 1
    report = admin.get("/api/admin/flights/events").json
    assert len(report["dead_letters"]) == killed and report["dead_letters"][0]["last_error"] == "boom"
    assert admin.post("/api/admin/flights/events/retry", json={}).json == {"retried": killed}
    saga.settle()
    assert admin.get("/api/admin/flights/events").json["dead_letters"] == []
    assert ref


def test_the_overview_figures_are_kept_and_refreshed_only_while_admins_look(system, admin, traveller):
    from flightbook.modules.flights.console import overview as console_overview

    flights = system.parts["flights"].contract
    console_overview._watched.update(at=float("-inf"), asks=set())
    assert flights.refresh_admin_figures() == 0  # nobody looked: the job reads nothing
    today = clock.now().date()
    first = admin.get("/api/admin/flights/overview", params={"today": today.isoformat()}).json
    assert first["days"][-1]["bookings"] == 0
    ref = book(traveller, new_flight())
    again = admin.get("/api/admin/flights/overview", params={"today": today.isoformat()}).json
    assert again["days"][-1]["bookings"] == 1, "today's bookings are read each time"
    assert flights.refresh_admin_figures() == 1
    console_overview._watched["at"] -= console_overview.WATCHED_SECONDS + 1
    assert flights.refresh_admin_figures() == 0
    assert ref
