"""The Stripe provider through the real SDK against the fake Stripe server, and Stripe webhooks:
signature checks, the three event types, and replays that change nothing. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import logging
import time

import pytest

from flightbook.modules.payments.models import Payment, PaymentIntent, Refund, WebhookEvent
from tests.payments.builders import CARDS, card, create_intent, held_booking, pay, paid_booking
from tests.payments.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, sign


@pytest.fixture
def fake_stripe():
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def env(env, fake_stripe):
    return {**env, "FLIGHTBOOK_STRIPE_API_KEY": API_KEY, "FLIGHTBOOK_STRIPE_API_BASE": fake_stripe.url,
            "FLIGHTBOOK_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


def _event(event_type: str, obj: dict, event_id: str | None = None) -> bytes:
    return json.dumps({"id": event_id or f"evt_{time.monotonic_ns()}", "object": "event", "type": event_type,
                       "api_version": "2024-06-20", "created": int(time.time()),
                       "data": {"object": obj}}).encode()


def _deliver(api, payload: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["Stripe-Signature"] = signature or sign(payload)
    return api.client.simulate_post("/api/payments/webhook", body=payload, headers=headers)


def test_stripe_pays_through_create_and_confirm_and_the_booking_is_confirmed(system, traveller, fake_stripe):
    booking, paid = paid_booking(traveller, fare=27000)
    assert paid["status"] == "succeeded" and paid["card"]["last4"] == "4242"
    stored = Payment.get_by_id(paid["id"])
    assert stored.provider == "stripe" and stored.provider_ref in fake_stripe.intents
    stripe_intent = fake_stripe.intents[stored.provider_ref]
    assert (stripe_intent["amount"], stripe_intent["currency"]) == (27000, "usd")
    assert stripe_intent["metadata"]["booking_ref"] == booking["ref"]
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["status"] == "CONFIRMED"


@pytest.mark.parametrize("code", ["card_declined", "insufficient_funds", "expired_card", "incorrect_cvc"])
def test_stripe_declines_map_to_our_failure_codes(system, traveller, fake_stripe, code):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    resp = pay(traveller, intent["id"], card(CARDS[code]))
    assert resp.status_code == 402 and resp.json["failure_code"] == code
    assert pay(traveller, intent["id"]).status_code == 200


def test_a_replay_reaches_stripe_once(system, traveller, fake_stripe):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    first = pay(traveller, intent["id"], key="stripe-once")
    again = pay(traveller, intent["id"], key="stripe-once")
    assert again.json == first.json and fake_stripe.confirm_calls == 1


def test_stripe_refunds(system, api, traveller, service_token, fake_stripe):
    _, paid = paid_booking(traveller, fare=20000)
    service = api.as_user(service_token("gateway", "payments"))
    resp = service.post("/api/payments/refund", json={"payment_id": paid["id"], "amount": 5000},
                        headers={"Idempotency-Key": "sr"})
    assert resp.status_code == 200, resp.text
    stripe_pi = Payment.get_by_id(paid["id"]).provider_ref
    assert fake_stripe.intents[stripe_pi]["amount_refunded"] == 5000
    assert Refund.get().provider_ref in fake_stripe.refunds


def test_the_sdk_debug_log_never_carries_the_card(system, traveller, fake_stripe, caplog):
    caplog.set_level(logging.DEBUG)
    paid_booking(traveller)
    stripe_records = [r for r in caplog.records if r.name == "stripe"]
    assert stripe_records  # the SDK did log the requests
    assert not any("4242424242424242" in r.getMessage() for r in caplog.records)


def test_bad_or_missing_signature_is_400_and_changes_nothing(system, api):
    payload = _event("payment_intent.succeeded", {"id": "pi_x", "amount": 1, "currency": "usd"})
    missing = _deliver(api, payload, signature=False)
    assert missing.status_code == 400 and missing.json["error"]["code"] == "invalid_signature"
    forged = _deliver(api, payload, signature=sign(payload, secret="whsec_wrong"))
    assert forged.status_code == 400 and forged.json["error"]["code"] == "invalid_signature"
    stale = _deliver(api, payload, signature=sign(payload, timestamp=int(time.time()) - 3600))
    assert stale.status_code == 400
    tampered = _deliver(api, payload.replace(b'"amount": 1', b'"amount": 2'), signature=sign(payload))
    assert tampered.status_code == 400
    assert WebhookEvent.select().count() == 0


def test_payment_intent_succeeded_records_the_payment_once(system, api, traveller, fake_stripe):
    booking = held_booking(traveller, fare=21000)
    intent = create_intent(traveller, booking["ref"]).json
    obj = {"id": "pi_from_stripe", "object": "payment_intent", "amount": 21000, "currency": "usd",
           "status": "succeeded", "metadata": {"intent_id": intent["id"], "payment_id": "pay_from_hook",
                                               "booking_ref": booking["ref"]}}
    payload = _event("payment_intent.succeeded", obj, "evt_success_1")
    first = _deliver(api, payload)
    assert first.status_code == 200 and first.json["replayed"] is False
    assert Payment.get_by_id("pay_from_hook").status == "succeeded"
    assert PaymentIntent.get_by_id(intent["id"]).status == "succeeded"
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["payment_id"] == "pay_from_hook"
    again = _deliver(api, payload)
    assert again.status_code == 200 and again.json["replayed"] is True
    assert Payment.select().count() == 1 and WebhookEvent.select().count() == 1


def test_payment_failed_event_records_a_failed_attempt_once(system, api, traveller):
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    obj = {"id": "pi_failed", "object": "payment_intent", "amount": 25000, "currency": "usd",
           "status": "requires_payment_method", "metadata": {"intent_id": intent["id"], "payment_id": "pay_f"},
           "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}}
    payload = _event("payment_intent.payment_failed", obj, "evt_failed_1")
    assert _deliver(api, payload).status_code == 200
    assert _deliver(api, payload).json["replayed"] is True
    assert [(p.status, p.failure_code) for p in Payment.select()] == [("failed", "insufficient_funds")]
    assert PaymentIntent.get_by_id(intent["id"]).status == "requires_payment_method"


def test_charge_refunded_catches_up_with_a_refund_made_at_stripe(system, api, traveller, fake_stripe):
    _, paid = paid_booking(traveller, fare=30000)
    stripe_pi = Payment.get_by_id(paid["id"]).provider_ref
    charge = {"id": "ch_1", "object": "charge", "payment_intent": stripe_pi, "amount": 30000,
              "amount_refunded": 12000, "currency": "usd", "refunds": {"data": [{"id": "re_dashboard"}]}}
    payload = _event("charge.refunded", charge, "evt_refund_1")
    assert _deliver(api, payload).status_code == 200
    assert _deliver(api, payload).json["replayed"] is True
    payment = Payment.get_by_id(paid["id"])
    assert (payment.refunded_amount, payment.status) == (12000, "partially_refunded")
    assert [r.provider_ref for r in Refund.select()] == ["re_dashboard"]


def _stripe_provider(system):
    return system.contracts["payments"].providers["stripe"]


def test_a_stripe_charge_whose_answer_was_lost_is_found_by_its_key_and_recorded_once(system, traveller, fake_stripe,
                                                                                   monkeypatch):
    from flightbook.modules.payments.providers import ProviderError
    provider = _stripe_provider(system)
    charge = provider.charge

    def lost_answer(*args):
        charge(*args)
        raise ProviderError("stripe: read timed out")

    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    monkeypatch.setattr(provider, "charge", lost_answer)
    assert pay(traveller, intent["id"], key="lost").status_code == 503
    monkeypatch.undo()
    again = pay(traveller, intent["id"], key="lost")
    assert again.status_code == 200 and again.json["status"] == "succeeded"
    assert fake_stripe.confirm_calls == 1 and len(fake_stripe.intents) == 1
    assert Payment.get().provider_ref == next(iter(fake_stripe.intents))
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["status"] == "CONFIRMED"


def test_a_stripe_charge_cut_off_before_it_confirmed_is_canceled_and_cannot_charge_later(system, traveller,
                                                                                        fake_stripe, monkeypatch):
    from flightbook.contracts.payments import CardInput
    from flightbook.modules.payments import attempts
    from flightbook.modules.payments.providers import ProviderError
    provider = _stripe_provider(system)

    def never_sent(*args):
        raise ProviderError("stripe: connection refused")

    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    monkeypatch.setattr(provider, "charge", never_sent)
    assert pay(traveller, intent["id"], key="cut").status_code == 503
    monkeypatch.undo()
    settled = pay(traveller, intent["id"], key="cut")
    assert settled.status_code == 402 and settled.json["failure_code"] == "processing_error"
    (stripe_pi,) = fake_stripe.intents.values()
    assert stripe_pi["status"] == "canceled"
    attempt = Payment.get()
    late = CardInput(number="4242424242424242", exp_month=12, exp_year=2099, cvc="123")
    with pytest.raises(ProviderError):  # the original request's confirm, arriving after all
        provider.charge(attempts.charge_request(attempt), late, attempt.provider_key)
    assert stripe_pi["status"] == "canceled" and fake_stripe.confirm_calls == 0
    assert pay(traveller, intent["id"], key="next").status_code == 200


def test_a_stripe_decline_cut_off_before_it_was_recorded_is_recorded_as_that_decline(system, traveller, fake_stripe,
                                                                                    monkeypatch):
    from flightbook.modules.payments.providers import ProviderError
    provider = _stripe_provider(system)
    charge = provider.charge

    def lost_answer(*args):
        charge(*args)
        raise ProviderError("stripe: read timed out")

    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    monkeypatch.setattr(provider, "charge", lost_answer)
    assert pay(traveller, intent["id"], card(CARDS["insufficient_funds"]), key="d").status_code == 503
    monkeypatch.undo()
    settled = pay(traveller, intent["id"], card(CARDS["insufficient_funds"]), key="d")
    assert settled.status_code == 402 and settled.json["failure_code"] == "insufficient_funds"


def test_a_webhook_finishes_an_attempt_its_request_never_recorded(system, api, traveller, fake_stripe, monkeypatch):
    from flightbook.modules.payments.providers import ProviderError
    provider = _stripe_provider(system)
    charge = provider.charge

    def lost_answer(*args):
        charge(*args)
        raise ProviderError("stripe: read timed out")

    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    monkeypatch.setattr(provider, "charge", lost_answer)
    assert pay(traveller, intent["id"], key="w").status_code == 503
    (stripe_pi,) = fake_stripe.intents.values()
    assert _deliver(api, _event("payment_intent.succeeded", stripe_pi)).status_code == 200
    payment = Payment.get()
    assert (payment.status, payment.provider_ref) == ("succeeded", stripe_pi["id"])
    assert traveller.get(f"/api/tickets/{booking['ref']}").json["status"] == "CONFIRMED"
    monkeypatch.undo()
    assert pay(traveller, intent["id"], key="w").json["id"] == payment.id
