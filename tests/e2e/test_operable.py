"""Four services as an operator runs them: one trace per traveller request across every hop and event
delivery (console exporter), Prometheus metrics on each part behind a token, JSON logs with no secret."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.deployments import Deployment, eventually
from tests.e2e.test_journey import GOOD_CARD, paid_trip

pytestmark = pytest.mark.slow
TOKEN = "scrape-me-0123456789"
PARTS = ("gateway", "flights", "payments", "loyalty")


@pytest.fixture(scope="module")
def operated(tmp_path_factory, worker):
    running = Deployment("four_services", tmp_path_factory.mktemp("operable"), f"operable_{worker}",
                         OTEL_TRACES_EXPORTER="console", FLIGHTBOOK_LOG_FORMAT="json",
                         FLIGHTBOOK_METRICS_TOKEN=TOKEN).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def journey(operated):
    """A traveller who signed up, searched, booked and paid (their points arrive by event)."""
    traveller, booking, paid = paid_trip(operated.url, days_ahead=3)
    eventually(lambda: traveller.account()["balance"] > 0)
    return traveller, booking, paid


def lines(server) -> list[dict]:
    found = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


def spans(operated) -> list[dict]:
    return [entry for server in operated.servers.values() for entry in lines(server) if "context" in entry]


def log_lines(server) -> list[dict]:
    return [entry for entry in lines(server) if "level" in entry]


def test_one_trace_holds_the_payment_across_four_services_and_its_event_deliveries(operated, journey):
    gateway_lines = log_lines(operated.servers["gateway"])
    pay = [entry for entry in gateway_lines if entry.get("path") == "/api/gateway/payments/process"]
    assert pay and pay[-1]["trace_id"], gateway_lines[-5:]
    trace_id = "0x" + pay[-1]["trace_id"]

    def whole_trace():
        mine = [s for s in spans(operated) if s["context"]["trace_id"] == trace_id]
        services = {s["resource"]["attributes"]["service.name"] for s in mine}
        names = {s["name"] for s in mine}
        ids = {s["context"]["span_id"] for s in mine}
        # each process exports its spans in its own batches: wait until every parent has come out too
        whole = len([s for s in mine if s["parent_id"] not in ids]) == 1
        if whole and services >= {f"flightbook-{p}" for p in PARTS} and {"deliver booking.confirmed",
                                                                          "handle booking.confirmed"} <= names:
            return mine
        return None

    mine = eventually(whole_trace)
    names = {s["name"] for s in mine}
    assert "POST /api/payments/process" in names and "POST /api/tickets/{ref}/confirm" in names
    assert any(name.startswith("transaction ") for name in names)
    # every span but the gateway's first has its parent in the same trace
    ids = {s["context"]["span_id"] for s in mine}
    roots = [s for s in mine if s["parent_id"] not in ids]
    assert len(roots) == 1, [(r["name"], r["resource"]["attributes"]["service.name"], r["parent_id"], r["start_time"]) for r in roots]
    assert roots[0]["resource"]["attributes"]["service.name"] == "flightbook-gateway"


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(families: dict, name: str, **labels) -> float:
    family = families[name]
    return sum(sample.value for sample in family.samples
               if sample.name.endswith(("_total", "_count")) or sample.name == name
               if all(sample.labels.get(k) == v for k, v in labels.items()))


def test_each_part_serves_metrics_to_its_scraper_only(operated, journey):
    scraped = {}
    for part in PARTS:
        url = operated.servers[part].url + "/metrics"
        assert requests.get(url, timeout=10).status_code == 401
        answer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
        scraped[part] = _families(answer.text)
    gateway, flights, payments, loyalty = (scraped[p] for p in PARTS)
    assert _value(gateway, "flightbook_http_requests", route="/api/gateway/{path}", method="POST") >= 4
    assert _value(flights, "flightbook_http_requests", route="/api/flights/book", status="201") >= 1
    assert _value(flights, "flightbook_http_request_duration_seconds", route="/api/flights/search") >= 1
    assert _value(flights, "flightbook_bookings", state="held") >= 1
    assert _value(flights, "flightbook_bookings", state="confirmed") >= 1
    assert _value(flights, "flightbook_seats_sold", cabin="economy") >= 1
    assert _value(payments, "flightbook_payments", outcome="succeeded") >= 1
    assert _value(loyalty, "flightbook_points", movement="earned") >= 1
    assert _value(loyalty, "flightbook_saga_payment_to_points_seconds") >= 1
    assert _value(loyalty, "flightbook_events_applied", topic="booking.confirmed", outcome="applied") >= 1
    for part, families in (("flights", flights), ("payments", payments), ("loyalty", loyalty)):
        for name in ("flightbook_outbox_backlog", "flightbook_outbox_oldest_pending_seconds",
                     "flightbook_outbox_dead_letters"):
            assert [s for s in families[name].samples if s.labels["module"] == part], (part, name)


def test_logs_are_json_lines_per_request_and_event_with_no_secret(operated, journey):
    traveller, booking, paid = journey
    token = traveller.http.headers["Authorization"].split()[1]
    everything = "\n".join(server.log_path.read_text(errors="replace") for server in operated.servers.values())
    for secret in (GOOD_CARD["number"], GOOD_CARD["number"].replace(" ", ""), "journey-password", token):
        assert secret not in everything
    requests_seen = [e for s in operated.servers.values() for e in log_lines(s) if e["logger"] == "flightbook.requests"]
    assert requests_seen
    for entry in requests_seen:
        assert {"time", "level", "part", "route", "method", "status", "duration_ms", "request_id"} <= set(entry)
    book = [e for e in requests_seen if e["route"] == "/api/flights/book"]
    assert book and book[-1]["status"] == 201 and book[-1]["user_id"] == traveller.user_id and book[-1]["trace_id"]
    events = [e for e in log_lines(operated.servers["loyalty"]) if e["logger"] == "flightbook.events"]
    assert any(e["topic"] == "booking.confirmed" and e["outcome"] == "applied" and e["event_id"] for e in events)


def test_one_request_id_in_every_part_a_payment_reaches(operated, journey):
    """The gateway passes the traveller's X-Request-ID to payments, and payments to flights and loyalty:
    every part logs the payment under it and answers with it; the booking.confirmed event it caused is
    handled by loyalty under it too."""
    traveller = journey[0]
    date = (dt.date.today() + dt.timedelta(days=4)).isoformat()
    found = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK", "date": date})
    booking = traveller.book(found["outbound"][0]["id"], 1)
    intent = traveller.call("POST", "/payments/create-intent", 201, json={"booking_ref": booking["ref"]})
    request_id = f"pay-{uuid.uuid4().hex}"
    answer = traveller.http.post(traveller.api + "/payments/process", timeout=30,
                                 json={"intent_id": intent["id"], "card": GOOD_CARD},
                                 headers={"Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": request_id})
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == request_id
    seen = {part: [e for e in log_lines(operated.servers[part]) if e.get("request_id") == request_id]
            for part in PARTS}
    assert all(seen.values()), {part: len(lines) for part, lines in seen.items()}
    routes = {e.get("route") for part in PARTS for e in seen[part]}
    assert {"/api/payments/process", "/api/tickets/{ref}/confirm"} <= routes, routes
    eventually(lambda: [e for e in log_lines(operated.servers["loyalty"]) if e["logger"] == "flightbook.events"
                        and e["topic"] == "booking.confirmed" and e.get("request_id") == request_id])
