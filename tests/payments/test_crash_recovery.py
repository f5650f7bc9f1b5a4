"""Money survives a crash at any instant: a real payments process (tests/payments/crash.py) is made to
die — exit at once, as kill -9 would leave it — at each step of a payment and of a refund; then
`flightbook reconcile-payments` and retries with the same key finish the work. Every case ends with the
bank's charges and refunds exactly the recorded ones, the booking confirmed (or, its seats gone,
refunded in full once), and the key answering its final result. SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from flightbook.modules.payments.models import BankEntry, Payment, Refund
from tests.conftest import make_env, register_and_login
from tests.e2e.test_saga import Saga, book, lapse, me, new_flight
from tests.payments.builders import create_intent, held_booking, paid_booking
from tests.servers import FLIGHTBOOK, ROOT

pytestmark = pytest.mark.slow
LEASE = 5.5
CRASHED = 70  # faults.reach exits with this status


@pytest.fixture
def env(tmp_path, database_urls) -> dict:
    return make_env(tmp_path, database_urls, FLIGHTBOOK_PROVIDER_TIMEOUT_SECONDS=0.5,
                    FLIGHTBOOK_PAYMENT_LEASE_SECONDS=LEASE)


def crash_at(env: dict, point: str, *args: str) -> None:
    """Run one payment or refund in a separate process that dies at ``point``."""
    done = subprocess.run([sys.executable, "-m", "tests.payments.crash", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env, "FLIGHTBOOK_FAULT_POINTS": f"{point}=exit"})
    assert done.returncode == CRASHED, (done.returncode, done.stdout, done.stderr[-2000:])


def flightbook(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FLIGHTBOOK, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def pay(traveller, intent_id: str, key: str):
    from tests.payments.builders import card
    return traveller.post("/api/payments/process", json={"intent_id": intent_id, "card": card()},
                          headers={"Idempotency-Key": key})


def assert_books_balance() -> None:
    """The bank's charges are exactly the recorded payments, its refunds exactly the recorded refunds."""
    bank_charges = {(e.id, e.amount) for e in BankEntry.select().where(BankEntry.kind == "charge")}
    recorded = {(p.provider_ref, p.amount) for p in Payment.select().where(
        Payment.status.in_(["succeeded", "partially_refunded", "refunded"]) & (Payment.provider == "mockbank"))}
    assert bank_charges == recorded
    bank_refunds = {(e.id, e.amount) for e in BankEntry.select().where(BankEntry.kind == "refund")}
    assert bank_refunds == {(r.provider_ref, r.amount) for r in Refund.select().where(Refund.status == "succeeded")}


def assert_status_clean(env: dict) -> None:
    status = flightbook(env, "payments-status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "unfinished: 0 charges, 0 refunds" in status.stdout
    assert "mockbank charges with no payment record: 0" in status.stdout


@pytest.mark.parametrize("point, reconciled, final", [
    ("payments.attempt_recorded", "failed: it never reached the bank", 402),
    ("payments.charged", "succeeded: the bank had charged it", 200),
    ("payments.payment_recorded", None, 200),
    ("flights.confirming", None, 200),
])
def test_a_payment_cut_off_at_any_step_ends_charged_once_and_confirmed(system, traveller, env, point, reconciled,
                                                                      final):
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    crash_at(env, point, "pay", str(me(traveller)), intent["id"], "K1")

    right_after = pay(traveller, intent["id"], "K1")
    if reconciled:  # the attempt is unfinished and its lease still runs: ask again later
        assert right_after.status_code == 409 and right_after.headers["Retry-After"] == "1"
    run = flightbook(env, "reconcile-payments", "--older-than", "0")
    assert run.returncode == 0, run.stderr
    if reconciled:
        assert reconciled in run.stdout and "reconciled 1 of 1 unfinished" in run.stdout
    else:
        assert "0 unfinished" in run.stdout or "reconciled 0 of 0" in run.stdout

    answer = pay(traveller, intent["id"], "K1")
    assert answer.status_code == final, answer.text
    assert pay(traveller, intent["id"], "K1").json == answer.json  # the key's final answer, for good
    if final == 402:
        assert answer.json["failure_code"] == "processing_error"
        assert pay(traveller, intent["id"], "K2").status_code == 200
    Saga(system).settle()
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["status"] == "CONFIRMED"
    assert BankEntry.select().where(BankEntry.kind == "charge").count() == 1
    assert_books_balance()
    assert_status_clean(env)


def test_after_the_lease_lapses_a_retry_with_the_same_key_finishes_the_cut_off_payment(system, traveller, env):
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    crash_at(env, "payments.charged", "pay", str(me(traveller)), intent["id"], "K")
    started = time.monotonic()
    while (busy := pay(traveller, intent["id"], "K")).status_code == 409:
        assert busy.json["error"]["code"] == "payment_in_progress" and busy.headers["Retry-After"] == "1"
        assert time.monotonic() - started < LEASE + 5
        time.sleep(0.5)
    assert busy.status_code == 200 and busy.json["status"] == "succeeded"
    assert time.monotonic() - started > LEASE - 1.5  # it waited for the lease, no longer
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["status"] == "CONFIRMED"
    assert_books_balance()


def test_a_charge_cut_off_while_its_seats_were_sold_is_refunded_in_full_once(system, api, traveller, env):
    flight = new_flight(seats=1)
    ref = book(traveller, flight)
    intent = create_intent(traveller, ref).json
    crash_at(env, "payments.charged", "pay", str(me(traveller)), intent["id"], "K")
    lapse(ref)
    assert system.contracts["flights"].expire_holds() == 1
    book(register_and_login(api), flight)  # someone else takes the last seat
    assert "succeeded: the bank had charged it" in flightbook(env, "reconcile-payments", "--older-than", "0").stdout
    saga = Saga(system)
    saga.settle()
    saga.settle()
    payment = Payment.get()
    assert (payment.status, payment.refunded_amount) == ("refunded", payment.amount)
    assert Refund.select().count() == 1 and BankEntry.select().where(BankEntry.kind == "refund").count() == 1
    assert traveller.get(f"/api/tickets/{ref}").json["status"] == "EXPIRED"
    assert pay(traveller, intent["id"], "K").json["status"] == "succeeded"  # the key's answer: it was charged
    assert_books_balance()
    assert_status_clean(env)


@pytest.mark.parametrize("point", ["payments.refund_recorded", "payments.refunded"])
def test_a_refund_cut_off_at_any_step_is_made_once(system, api, traveller, service_token, env, point):
    _, paid = paid_booking(traveller, fare=30000)
    crash_at(env, point, "refund", paid["id"], "12000", "R1")
    service = api.as_user(service_token("gateway", "payments"))
    body = {"payment_id": paid["id"], "amount": 12000}
    busy = service.post("/api/payments/refund", json=body, headers={"Idempotency-Key": "R1"})
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    run = flightbook(env, "reconcile-payments", "--older-than", "0")
    assert "succeeded: refunded at the provider" in run.stdout, run.stdout + run.stderr
    again = service.post("/api/payments/refund", json=body, headers={"Idempotency-Key": "R1"})
    assert again.status_code == 200 and again.json["refunded_total"] == 12000
    assert BankEntry.select().where(BankEntry.kind == "refund").count() == 1
    assert Payment.get_by_id(paid["id"]).status == "partially_refunded"
    assert_books_balance()
    assert_status_clean(env)


def test_a_cancellation_refund_whose_relay_died_after_recording_it_is_sent_by_the_reconciler(system, traveller,
                                                                                              env):
    booking, paid = paid_booking(traveller, fare=30000)
    Saga(system).settle()
    assert traveller.post(f"/api/tickets/{booking['ref']}/cancel").status_code == 200
    relay = subprocess.run([FLIGHTBOOK, "relay", "--once"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={**os.environ, **env, "FLIGHTBOOK_FAULT_POINTS": "payments.refund_recorded=exit"})
    assert relay.returncode == CRASHED, relay.stdout + relay.stderr
    assert Refund.get().status == "pending"  # recorded with the event's inbox row, then the process died
    assert flightbook(env, "relay", "--once").returncode == 0  # a redelivery: the inbox says done, nothing more
    assert Refund.select().count() == 1 and Refund.get().status == "pending"
    assert "succeeded: refunded at the provider" in flightbook(env, "reconcile-payments", "--older-than", "0").stdout
    assert Payment.get_by_id(paid["id"]).status == "refunded"
    assert BankEntry.select().where(BankEntry.kind == "refund").count() == 1
    assert_books_balance()
    assert_status_clean(env)
