"""POST /api/events: the subscriber's side of an HTTP delivery, and the relay driving it over real HTTP."""
from __future__ import annotations

import threading
import uuid
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from flightbook import MODULES, wiring
from flightbook.kernel import outbox as kout
from flightbook.kernel.relay import HttpSubscriber, Relay
from tests.kernel.eventkit import FAST, TOPIC, Recorder, publish


@pytest.fixture
def flights_handler(system):
    """flights (served here) handles the test topic."""
    part = system.parts["flights"]
    handler = Recorder(part.database, "flights", fail_on=lambda event, calls: event.n < 0)
    part.event_handlers[TOPIC] = handler
    yield handler
    del part.event_handlers[TOPIC]


def body(n=1, **overrides):
    return {"event_id": str(uuid.uuid4()), "topic": TOPIC, "source": "payments", "payload": {"n": n}, **overrides}


def test_delivery_is_applied_once_and_a_repeat_acknowledged(api, service_token, flights_handler):
    headers = {"Authorization": f"Bearer {service_token('payments', 'flights')}"}
    event = body(3)
    first = api.post("/api/events", json=event, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json == {"event_id": event["event_id"], "subscriber": "flights", "status": "applied"}
    again = api.post("/api/events", json=event, headers=headers)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert flights_handler.applied() == [3]


@pytest.mark.parametrize("change, status, code", [
    ({"event_id": "not-a-uuid"}, 400, "invalid"),
    ({"payload": [1, 2]}, 400, "invalid"),
    ({"payload": {"n": 1, "extra": 2}}, 200, None),  # unknown payload keys are ignored
    ({"topic": ""}, 400, "invalid"),
    ({"topic": "nobody.handles_this"}, 422, "no_handler"),
    ({"source": "loyalty"}, 403, "wrong_source"),
])
def test_bad_deliveries_get_a_clear_4xx_and_change_nothing(api, service_token, flights_handler, change, status,
                                                           code):
    resp = api.post("/api/events", json=body(**change),
                    headers={"Authorization": f"Bearer {service_token('payments', 'flights')}"})
    assert resp.status_code == status, resp.text
    if code:
        assert resp.json["error"]["code"] == code
        assert flights_handler.applied() == []


def test_only_a_service_token_for_a_part_served_here_may_deliver(api, traveller, service_token, flights_handler):
    assert api.post("/api/events", json=body()).status_code == 401
    assert traveller.post("/api/events", json=body()).json["error"]["code"] == "service_only"
    no_body = api.post("/api/events", headers={"Authorization": f"Bearer {service_token('payments', 'flights')}"})
    assert no_body.status_code == 400
    assert api.post("/api/events", json=body(), headers={"Authorization": "Bearer nonsense"}).status_code == 401
    for_gateway = api.post("/api/events", json=body(),
                           headers={"Authorization": f"Bearer {service_token('payments', 'gateway')}"})
    assert for_gateway.status_code == 403 and for_gateway.json["error"]["code"] == "wrong_audience"
    assert flights_handler.applied() == []


def test_failing_handler_is_a_503_that_records_nothing(api, service_token, flights_handler, system):
    event = body(-1)
    resp = api.post("/api/events", json=event, headers={"Authorization": f"Bearer {service_token('payments', 'flights')}"})
    assert resp.status_code == 503 and resp.json["error"]["code"] == "handler_failed"
    assert flights_handler.applied() == [] and flights_handler.calls == [-1]
    inbox = wiring._inbox(system, "flights")
    assert not inbox.has_applied(event["event_id"])


@pytest.fixture
def http_server(client, system):
    """The one-process app on a real HTTP port (flights served here)."""
    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, wiring.create_app(system), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_relay_delivers_over_http_with_a_service_token(http_server, system, flights_handler, open_db):
    payments_db = open_db("payments")
    to_flights = HttpSubscriber("flights", ["http://127.0.0.1:9", http_server], [TOPIC], system.tokens, "payments",
                                connect_timeout=1, read_timeout=5)
    relay = Relay(payments_db, "payments", [to_flights], FAST)
    publish(payments_db, "payments", 1, 2, -3)
    result = relay.run_once()
    assert (result.delivered, result.retried) == (2, 1)
    assert flights_handler.applied() == [1, 2]
    failed = [d for d in kout.tables(payments_db).OutboxDelivery.select() if d.status == "pending"]
    assert len(failed) == 1 and "503" in failed[0].last_error and "handler_failed" in failed[0].last_error


def test_every_module_declares_the_topics_it_handles(system):
    """A module running in another process is reached only for the topics its handlers.TOPICS names."""
    for name in MODULES:
        assert set(system.parts[name].event_handlers) <= set(wiring.TOPICS[name]), name


def test_wiring_relays_an_outbox_to_local_subscribers_and_serve_runs_it(system, flights_handler):
    relays = wiring.build_relays(system, FAST)
    assert set(relays) == {name for name in MODULES if system.parts[name].database is not None}
    assert {job.name for job in system.jobs()} >= {f"relay-{name}" for name in relays}
    flights_db = system.parts["flights"].database
    publish(flights_db, "flights", 4, 5)
    assert relays["flights"].drain().delivered == 2
    assert flights_handler.applied() == [4, 5]
    assert all(r.run_once().touched == 0 for r in relays.values())
