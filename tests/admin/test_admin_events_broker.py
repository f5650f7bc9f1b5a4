"""The admin console's events page with the real RabbitMQ carrying the events: each module's queue and its dead
letters, as ``flightbook events`` lists them, retried from the page; and without a broker, the page says so."""
from __future__ import annotations

import re

import pytest

from flightbook import wiring
from flightbook.kernel.data import from_dict
from flightbook.kernel.outbox import OutboxReport, QueueReport
from flightbook.kernel.settings import Settings
from tests.admin.test_admin_console import ADMIN_PASSWORD, _csrf, _sign_in, admin  # noqa: F401 - the fixture
from tests.kernel.test_broker_cli import dead_on_the_broker

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def settings(env, request) -> Settings:
    """One process; with the ``broker`` fixture, the events go through this test's own corner of RabbitMQ."""
    if "broker" not in request.fixturenames:
        return Settings.from_env(env)
    broker = request.getfixturevalue("broker")
    settings = Settings.from_env({**env, "FLIGHTBOOK_BROKER_URL": broker.url,
                                  "FLIGHTBOOK_BROKER_PREFIX": broker.topology.prefix})
    wiring.declare_broker_queues(settings)  # what `flightbook migrate` does
    return settings


def test_the_events_page_shows_each_queues_dead_letters_and_retries_them(broker, system, client, admin):
    dead = dead_on_the_broker(broker, "loyalty")
    report = admin.get("/api/admin/loyalty/events").json
    assert report["broker"]["queue"] == broker.topology.queue("loyalty") and report["broker"]["trouble"] is None
    assert [(d["event_id"], d["topic"], d["subscriber"], d["attempts"], d["last_error"])
            for d in report["broker"]["dead_letters"]] == [(dead, "booking.expired", "loyalty", 6, "RuntimeError: x")]
    assert from_dict(OutboxReport, report).broker == QueueReport(
        broker.topology.queue("loyalty"), tuple(wiring.broker_dead_letters(system.settings)["loyalty"]))
    assert admin.get("/api/admin/payments/events").json["broker"]["dead_letters"] == []

    boss = _sign_in(client, "boss", ADMIN_PASSWORD)
    page = client.simulate_get("/admin/events", cookies=boss).text
    queues = re.search(r"<table class=\"admin-table\" data-broker-queues>.*?</table>", page, re.S).group(0)
    assert re.search(rf'data-queue="loyalty">.*?{re.escape(broker.topology.queue("loyalty"))}.*?data-dead>1<',
                     queues, re.S), queues
    assert re.search(r'data-queue="payments">.*?data-dead>0<', queues, re.S)
    assert f'data-where="queue" data-event="{dead}"' in page and "data-no-broker" not in page
    assert broker.depth(broker.topology.queue("loyalty")) == 0

    confirm = client.simulate_get("/admin/events/retry", query_string=f"module=loyalty&event_id={dead}", cookies=boss)
    assert confirm.status_code == 200 and "on the broker back on the module" in confirm.text
    done = client.simulate_post("/admin/events/retry", cookies=boss, headers=FORM,
                                body=f"csrf_token={_csrf(confirm.text)}&module=loyalty&event_id={dead}"
                                     "&reason=handler+fixed")
    assert done.status_code == 303, done.text
    assert broker.depth(broker.topology.dead_queue("loyalty")) == 0
    assert broker.depth(broker.topology.queue("loyalty")) == 1  # back in line (no consumer runs in this test)
    page = client.simulate_get("/admin/events", cookies=boss).text
    assert dead not in page and "No dead letters." in page


def test_a_broker_that_does_not_answer_is_named_on_the_page_and_the_outboxes_still_show(broker, system, client,
                                                                                       admin):
    for name, part in system.parts.items():
        if getattr(part.contract, "broker_queue", None) is not None:
            queue = part.contract.broker_queue
            part.contract.broker_queue = type(queue)("amqp://guest:guest@127.0.0.1:9/%2F", queue.topology, name)
    boss = _sign_in(client, "boss", ADMIN_PASSWORD)
    page = client.simulate_get("/admin/events", cookies=boss)
    assert page.status_code == 200 and page.text.count("RabbitMQ at amqp://guest:***@127.0.0.1:9") >= 1, page.text
    assert re.search(r'data-module="loyalty">.*?data-backlog>0<', page.text, re.S)
    retry = admin.post("/api/admin/loyalty/events/retry", json={})
    assert retry.status_code == 503 and retry.json["error"]["code"] == "unavailable"


def test_without_a_broker_the_events_page_says_there_are_no_queues(system, client, admin):
    assert admin.get("/api/admin/flights/events").json["broker"] is None
    page = client.simulate_get("/admin/events", cookies=_sign_in(client, "boss", ADMIN_PASSWORD)).text
    assert "data-no-broker" in page and "No broker is configured" in page and "data-broker-queues" not in page
