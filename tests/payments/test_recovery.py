"""Payments whose provider answer was lost, or that never reached it: the attempt recorded before the
call is finished by a retry with the same key, or by the reconciler, and the card is charged at most
once. In process, on SQLite and PostgreSQL; the crash tests (test_crash_recovery.py) kill real processes."""
from __future__ import annotations

import threading
import time

import pytest

from flightbook.kernel.settings import Settings, SettingsError
from flightbook.modules.payments.banking import MockBank
from flightbook.modules.payments.models import BankEntry, Payment, Refund
from flightbook.modules.payments.providers import ProviderError
from tests.payments.builders import create_intent, held_booking, paid_booking, pay


class FlakyBank(MockBank):
    """The real mockbank, with the network between us and it failing on purpose: ``lose`` drops the
    answer after the bank acted, ``drop`` loses the request before it arrives, ``gate`` holds a charge
    until the test lets it through."""

    def __init__(self, database):
        super().__init__(database)
        self.lose = self.drop = False
        self.gate: threading.Event | None = None
        self.arrived = threading.Event()

    def charge(self, request, card, idempotency_key):
        self.arrived.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.drop:
            raise ProviderError("connection refused")
        outcome = super().charge(request, card, idempotency_key)
        if self.lose:
            raise ProviderError("read timed out")
        return outcome

    def refund(self, charge_ref, amount, idempotency_key):
        if self.drop:
            raise ProviderError("connection refused")
        outcome = super().refund(charge_ref, amount, idempotency_key)
        if self.lose:
            raise ProviderError("read timed out")
        return outcome


@pytest.fixture
def bank(system) -> FlakyBank:
    flaky = FlakyBank(system.parts["payments"].database)
    payments = system.contracts["payments"]
    payments.providers["mockbank"] = payments.provider = flaky
    return flaky


def charges() -> list[BankEntry]:
    return list(BankEntry.select().where(BankEntry.kind == "charge"))


def ticket_status(traveller, ref: str) -> str:
    return traveller.get(f"/api/tickets/{ref}").json["status"]


def test_a_charge_whose_answer_was_lost_is_finished_by_a_retry_with_the_same_key(system, traveller, bank):
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    bank.lose = True
    lost = pay(traveller, intent["id"], key="lost-answer")
    assert lost.status_code == 503 and lost.json["error"]["code"] == "provider_unavailable"
    assert len(charges()) == 1 and Payment.get().status == "processing"
    bank.lose = False
    again = pay(traveller, intent["id"], key="lost-answer")
    assert again.status_code == 200 and again.json["status"] == "succeeded"
    assert len(charges()) == 1 and Payment.get().provider_ref == charges()[0].id
    assert ticket_status(traveller, booking["ref"]) == "CONFIRMED"
    assert pay(traveller, intent["id"], key="lost-answer").json == again.json


def test_a_charge_that_never_reached_the_bank_fails_and_the_intent_is_payable_again(system, traveller, bank):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    bank.drop = True
    assert pay(traveller, intent["id"], key="never-arrived").status_code == 503
    bank.drop = False
    settled = pay(traveller, intent["id"], key="never-arrived")
    assert settled.status_code == 402 and settled.json["failure_code"] == "processing_error"
    assert "nothing was charged" in settled.json["message"]
    assert BankEntry.get().kind == "void" and not charges()
    assert pay(traveller, intent["id"], key="fresh").status_code == 200
    assert len(charges()) == 1


def test_a_key_in_progress_answers_a_fast_409_and_a_new_key_waits_its_turn(system, traveller, bank):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    bank.gate = threading.Event()
    first: dict = {}
    worker = threading.Thread(target=lambda: first.setdefault("resp", pay(traveller, intent["id"], key="slow")))
    worker.start()
    try:
        assert bank.arrived.wait(10)
        started = time.monotonic()
        same = pay(traveller, intent["id"], key="slow")
        other = pay(traveller, intent["id"], key="other")
        assert time.monotonic() - started < 1.0
        for busy in (same, other):
            assert busy.status_code == 409 and busy.json["error"]["code"] == "payment_in_progress"
            assert busy.headers["Retry-After"] == "1"
    finally:
        bank.gate.set()
        worker.join()
    assert first["resp"].status_code == 200
    assert pay(traveller, intent["id"], key="slow").json == first["resp"].json
    assert len(charges()) == 1


def test_a_charge_arriving_after_the_reconciler_closed_its_key_is_refused(system, traveller, bank):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    bank.gate = threading.Event()
    first: dict = {}
    worker = threading.Thread(target=lambda: first.setdefault("resp", pay(traveller, intent["id"], key="late")))
    worker.start()
    try:
        assert bank.arrived.wait(10)
        report = system.admins.payments.reconcile(older_than=0)  # an operator forcing it
        assert [line.outcome.split(":")[0] for line in report.attempts] == ["failed"]
    finally:
        bank.gate.set()
        worker.join()
    late = first["resp"]
    assert late.status_code == 402 and late.json["failure_code"] == "processing_error"
    assert not charges()
    assert pay(traveller, intent["id"], key="next").status_code == 200 and len(charges()) == 1


def test_a_new_key_finishes_an_attempt_abandoned_past_its_lease_before_paying(system, traveller, bank):
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    bank.lose = True
    assert pay(traveller, intent["id"], key="abandoned").status_code == 503  # the request let go of its lease
    bank.lose = False
    other = pay(traveller, intent["id"], key="another")
    assert other.status_code == 409 and other.json["error"]["code"] == "intent_already_paid"
    assert Payment.get().status == "succeeded" and len(charges()) == 1
    assert ticket_status(traveller, booking["ref"]) == "CONFIRMED"


def test_a_refund_whose_answer_was_lost_is_sent_again_under_its_key(system, api, traveller, service_token, bank):
    _, paid = paid_booking(traveller, fare=30000)
    service = api.as_user(service_token("gateway", "payments"))
    body = {"payment_id": paid["id"], "amount": 10000}
    bank.lose = True
    lost = service.post("/api/payments/refund", json=body, headers={"Idempotency-Key": "r-lost"})
    assert lost.status_code == 503
    assert Refund.get().status == "pending" and Payment.get_by_id(paid["id"]).refunded_amount == 10000
    bank.lose = False
    again = service.post("/api/payments/refund", json=body, headers={"Idempotency-Key": "r-lost"})
    assert again.status_code == 200 and again.json["status"] == "succeeded"
    assert BankEntry.select().where(BankEntry.kind == "refund").count() == 1
    assert service.post("/api/payments/refund", json=body, headers={"Idempotency-Key": "r-lost"}).json == again.json


def test_the_reconciler_sends_a_refund_the_provider_never_got_and_reports_it(system, api, traveller, service_token,
                                                                            bank):
    _, paid = paid_booking(traveller, fare=30000)
    service = api.as_user(service_token("gateway", "payments"))
    bank.drop = True
    resp = service.post("/api/payments/refund", json={"payment_id": paid["id"]}, headers={"Idempotency-Key": "r"})
    assert resp.status_code == 503
    payments = system.admins.payments
    status = payments.payments_status()
    assert [(row.kind, row.lease_lapsed) for row in status.unfinished] == [("refund", True)]
    report = payments.reconcile()
    assert report.finished == 0 and "could not say yet" in report.attempts[0].outcome  # still down: kept for later
    bank.drop = False
    report = payments.reconcile()
    (line,) = report.attempts
    assert report.finished == 1 and (line.kind, line.id, line.subject) == ("refund", Refund.get().id,
                                                                           f"payment {paid['id']}")
    assert line.amount.format() == "$300.00" and line.outcome == "succeeded: refunded at the provider"
    assert Payment.get_by_id(paid["id"]).status == "refunded"
    status = payments.payments_status()
    assert (status.unfinished, status.reconciled_refunds, status.bank_charges_without_payment) == ([], 1, 0)


def test_a_refund_the_provider_refuses_gives_the_amount_back_to_refund(system, api, traveller, service_token):
    _, paid = paid_booking(traveller, fare=30000)
    BankEntry.update(amount=100).where(BankEntry.kind == "charge").execute()  # the bank remembers less
    service = api.as_user(service_token("gateway", "payments"))
    resp = service.post("/api/payments/refund", json={"payment_id": paid["id"]}, headers={"Idempotency-Key": "x"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "refund_not_allowed"
    assert Refund.get().status == "failed" and Payment.get_by_id(paid["id"]).refunded_amount == 0
    again = service.post("/api/payments/refund", json={"payment_id": paid["id"]}, headers={"Idempotency-Key": "x"})
    assert again.status_code == 409 and again.json["error"]["code"] == "refund_not_allowed"


def test_a_payment_waits_less_than_its_caller_and_leases_outlast_the_provider():
    base = {"FLIGHTBOOK_HOME": "/tmp/unused", "FLIGHTBOOK_SECRET_KEY": "k", "FLIGHTBOOK_SERVICE_SECRET": "s"}
    settings = Settings.from_env({**base, "FLIGHTBOOK_HTTP_READ_TIMEOUT": "3", "FLIGHTBOOK_PROVIDER_TIMEOUT_SECONDS": "7"})
    inside = 2 * settings.http_read_timeout + settings.provider_timeout_seconds  # booking read, provider, confirm
    assert settings.payment_call_timeout > inside
    assert settings.payment_lease_seconds > settings.provider_timeout_seconds
    with pytest.raises(SettingsError, match="LEASE"):
        Settings.from_env({**base, "FLIGHTBOOK_PAYMENT_LEASE_SECONDS": "10"})
