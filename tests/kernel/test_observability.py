"""/metrics in one process (and refusing it by configuration), the request log line in both formats, and
what never reaches a log line."""
from __future__ import annotations

import io
import json
import logging

import falcon.testing
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flightbook import wiring
from flightbook.kernel import observability, tracing
from flightbook.kernel.settings import Settings, SettingsError
from tests.conftest import make_env
from tests.payments.builders import card, create_intent, held_booking, pay


def _sample(text: str, name: str, **labels) -> float:
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_count_requests_by_route_and_the_business(api, traveller):
    before = api.get("/metrics").text
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    assert pay(traveller, intent["id"], card("4000000000000002")).status_code == 402
    assert pay(traveller, intent["id"], card(), key="good").status_code == 200
    answer = api.get("/metrics")
    assert answer.status_code == 200
    after = answer.text

    def grew(name, **labels):
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("flightbook_http_requests_total", route="/api/flights/book", method="POST", status="201") == 1
    assert grew("flightbook_http_requests_total", route="/api/payments/process", status="402") == 1
    assert grew("flightbook_http_request_duration_seconds_count", route="/api/payments/process") == 2
    assert grew("flightbook_bookings_total", state="held") == 1
    assert grew("flightbook_bookings_total", state="confirmed") == 1
    assert grew("flightbook_seats_sold_total", cabin="economy") == 1
    assert grew("flightbook_payments_total", outcome="succeeded") == 1
    assert grew("flightbook_payments_total", outcome="declined", code="card_declined") == 1
    # the events wait in the outboxes (no relay runs here): the backlog says so
    assert _sample(after, "flightbook_outbox_backlog", module="flights") >= 1
    assert _sample(after, "flightbook_outbox_oldest_pending_seconds", module="payments") >= 0
    assert 'flightbook_outbox_dead_letters{module="loyalty"}' in after
    # no raw path as a label: a booking reference is not a route
    assert booking["ref"] not in after


@pytest.fixture
def system_with(tmp_path, database_urls):
    built = []

    def make(**settings):
        system = wiring.build_system(Settings.from_env(make_env(tmp_path, database_urls, **settings)))
        built.append(system)
        return falcon.testing.TestClient(wiring.create_app(system))
    yield make
    for system in built:
        system.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_metrics_can_be_turned_off_or_put_behind_a_token(system_with):
    assert system_with(FLIGHTBOOK_METRICS="off").simulate_get("/metrics").status_code == 404
    guarded = system_with(FLIGHTBOOK_METRICS_TOKEN="s3cret-scrape")
    assert guarded.simulate_get("/metrics").status_code == 401
    assert guarded.simulate_get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.simulate_get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).status_code == 200
    with pytest.raises(SettingsError):
        Settings.from_env({"FLIGHTBOOK_METRICS": "maybe", "FLIGHTBOOK_HOME": "/tmp"})
    with pytest.raises(SettingsError):
        Settings.from_env({"FLIGHTBOOK_LOG_FORMAT": "xml", "FLIGHTBOOK_HOME": "/tmp"})


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def use(formatter):
        handler.setFormatter(formatter)
        return stream
    yield use
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_json_lines_per_request_carry_the_fields_and_no_secret(captured, api, traveller):
    stream = captured(observability.JsonFormatter())
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    assert pay(traveller, intent["id"], card("4242424242424242", cvc="987")).status_code == 200
    api.post("/api/users/login", json={"username": "nobody", "password": "hunter2-secret"})
    text = stream.getvalue()
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    paid = [e for e in entries if e.get("route") == "/api/payments/process"]
    assert paid and paid[0]["status"] == 200 and paid[0]["method"] == "POST" and paid[0]["part"] == "all"
    assert paid[0]["user_id"] and paid[0]["request_id"] and paid[0]["duration_ms"] >= 0
    for secret in ("4242424242424242", "hunter2-secret", traveller.token):
        assert secret not in text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_text_lines_say_the_same(captured, api):
    stream = captured(observability.TextFormatter())
    api.get("/health", headers={"X-Request-ID": "req-42"})
    line = stream.getvalue().strip().splitlines()[-1]
    assert "GET /health 200" in line and "request_id=req-42" in line and "duration_ms=" in line


def test_what_never_reaches_a_line():
    redacted = observability.redact(
        'card 4242 4242 4242 4242 and 378282246310005, Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl '
        'password=hunter2 {"token": "abc.def"} cvc=123 5555-5555-5555-4444 PASSWD: swordfish')
    for secret in ("4242 4242", "378282246310005", "eyJhbGciOi", "hunter2", "abc.def", "cvc=123", "5555-5555",
                   "swordfish"):
        assert secret not in redacted
    assert "[redacted-card]" in redacted
    assert observability.redact("booking K7Q2ZD for 2 passengers, 25000 USD") == \
        "booking K7Q2ZD for 2 passengers, 25000 USD"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_gateway_request_answered_in_process_is_one_line_and_one_count(captured, api):
    stream = captured(observability.JsonFormatter())
    before = api.get("/metrics").text
    answer = api.get("/api/gateway/places/search", params={"q": "lon"}, headers={"X-Request-ID": "through-gw-1"})
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "through-gw-1"
    after = api.get("/metrics").text
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    mine = [e for e in entries if e.get("request_id") == "through-gw-1" and e["logger"] == "flightbook.requests"]
    assert len(mine) == 1, mine
    assert mine[0]["path"] == "/api/gateway/places/search" and mine[0]["route"] == "/api/gateway/places/search"
    assert _sample(after, "flightbook_http_requests_total") - _sample(before, "flightbook_http_requests_total") == 1
    route = {"route": "/api/gateway/places/search", "status": "200"}  # the counters live as long as the process
    assert _sample(after, "flightbook_http_requests_total", **route) - _sample(before, "flightbook_http_requests_total",
                                                                               **route) == 1


@pytest.fixture
def exporter_none():
    tracing.configure("test", {"OTEL_TRACES_EXPORTER": "none"})
    yield
    tracing.configure("test", {"OTEL_SDK_DISABLED": "true"})


CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_with_no_exporter_a_request_continues_the_callers_trace_in_its_line(exporter_none, captured, api):
    stream = captured(observability.JsonFormatter())
    api.get("/health", headers={"traceparent": CALLER, "X-Request-ID": "no-exporter-1"})
    line = [json.loads(text) for text in stream.getvalue().splitlines() if "no-exporter-1" in text][-1]
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"


def test_with_no_exporter_spans_are_context_only_and_passed_on(exporter_none):
    """Nothing would read a recorded span: only its context is made (a recorded one costs ~30 µs a request)."""
    with tracing.span("deliver booking.confirmed", traceparent=CALLER) as span:
        assert not span.is_recording()
        passed_on = tracing.current_traceparent().split("-")
        assert passed_on[1] == "0af7651916cd43dd8448eb211c80319c" and passed_on[2] != "b7ad6b7169203331"
        with tracing.span("handle booking.confirmed") as inner:
            assert inner.get_span_context().trace_id == span.get_span_context().trace_id
    with tracing.span("a new trace") as root:
        assert root.get_span_context().is_valid and root.get_span_context().trace_id != span.get_span_context().trace_id
