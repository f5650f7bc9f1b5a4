"""Four services on PostgreSQL, payments killed in the middle of a payment and restarted: the traveller's
retry with the same key ends with the card charged once and the booking confirmed. And the timeouts
line up across hops: the gateway waits for a payment longer than anything payments waits for inside it."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
import uuid

import pytest

from tests.e2e.deployments import Deployment, eventually
from tests.e2e.test_journey import GOOD_CARD, Traveller
from tests.servers import FLIGHTBOOK, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
LEASE = 7.0


@pytest.fixture(scope="module")
def four(tmp_path_factory, worker):
    running = Deployment("four_services", tmp_path_factory.mktemp("paycrash"), f"paycrash_{worker}",
                         FLIGHTBOOK_HTTP_READ_TIMEOUT=1, FLIGHTBOOK_PROVIDER_TIMEOUT_SECONDS=2,
                         FLIGHTBOOK_PAYMENT_LEASE_SECONDS=LEASE, FLIGHTBOOK_RECONCILE_INTERVAL_SECONDS=1).start()
    yield running
    running.stop()


def restart_payments(four, faults: str = "") -> None:
    server = four.servers["payments"]
    server.stop()
    server.env = {**server.env, "FLIGHTBOOK_FAULT_POINTS": faults}
    server.start()


def held(traveller) -> tuple[dict, dict]:
    date = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    flight = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK",
                                                              "date": date})["outbound"][0]
    booking = traveller.book(flight["id"], 1)
    return booking, traveller.call("POST", "/payments/create-intent", 201, json={"booking_ref": booking["ref"]})


def process(traveller, intent: dict, key: str):
    return traveller.http.post(traveller.api + "/payments/process", json={"intent_id": intent["id"], "card": GOOD_CARD},
                               headers={"Idempotency-Key": key}, timeout=30)


def payments_status(four) -> subprocess.CompletedProcess:
    env = {**os.environ, **four.env}
    return subprocess.run([FLIGHTBOOK, "payments-status"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def reconciled_charges(four) -> int:
    return int(re.search(r"reconciled: (\d+) charges", payments_status(four).stdout).group(1))


def test_payments_killed_mid_payment_and_restarted_charges_once_and_confirms(four):
    traveller = Traveller(four.url).sign_up()
    booking, intent = held(traveller)
    restart_payments(four, "payments.charged=exit")
    key = uuid.uuid4().hex
    try:
        cut_off = process(traveller, intent, key)
        assert cut_off.status_code == 503 and cut_off.json()["error"]["code"] == "service_unavailable"
    finally:
        restart_payments(four)
    started = time.monotonic()
    while (answer := process(traveller, intent, key)).status_code == 409:
        assert answer.json()["error"]["code"] == "payment_in_progress" and answer.headers["Retry-After"] == "1"
        assert time.monotonic() - started < LEASE + 10
        time.sleep(0.5)
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
    assert process(traveller, intent, key).json()["id"] == answer.json()["id"]
    eventually(lambda: traveller.call("GET", f"/tickets/{booking['ref']}")["status"] == "CONFIRMED")
    history = traveller.call("GET", f"/payments/history/{traveller.user_id}")["payments"]
    assert [p["status"] for p in history] == ["succeeded"]
    status = payments_status(four)
    assert status.returncode == 0 and "mockbank charges with no payment record: 0" in status.stdout, status.stdout


def test_the_gateway_waits_out_a_payment_slower_than_its_usual_read_timeout(four):
    """Every part here gives up on another after 1 s, but the provider may take 2 s: a payment whose
    provider takes 1.8 s still answers through the gateway, because a payment's caller waits longer than
    anything payments waits for inside it (FLIGHTBOOK_HTTP_READ_TIMEOUT x 2 + provider + 1 s)."""
    traveller = Traveller(four.url).sign_up()
    booking, intent = held(traveller)
    restart_payments(four, "payments.attempt_recorded=sleep:1.8")
    try:
        started = time.monotonic()
        answer = process(traveller, intent, uuid.uuid4().hex)
        assert time.monotonic() - started > 1.8
        assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
    finally:
        restart_payments(four)
    assert traveller.call("GET", f"/tickets/{booking['ref']}")["status"] == "CONFIRMED"


def test_a_restarted_payments_service_finishes_a_cut_off_payment_by_itself(four):
    """Nobody retries: the reconciler in the restarted payments service finds the attempt once its lease
    lapses, the saga confirms the booking, and the key then answers the payment."""
    traveller = Traveller(four.url).sign_up()
    booking, intent = held(traveller)
    reconciled_before = reconciled_charges(four)
    restart_payments(four, "payments.charged=exit")
    key = uuid.uuid4().hex
    try:
        assert process(traveller, intent, key).status_code == 503
    finally:
        restart_payments(four)
    eventually(lambda: traveller.call("GET", f"/tickets/{booking['ref']}")["status"] == "CONFIRMED",
               timeout=LEASE + 30)
    assert reconciled_charges(four) == reconciled_before + 1
    answer = process(traveller, intent, key)
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded"
