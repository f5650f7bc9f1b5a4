"""Exactly once: Idempotency-Key replays, reuse with another body, and a race of twenty requests."""
from __future__ import annotations

import threading

from flightbook.modules.payments.models import BankEntry, IdempotencyRecord, Payment
from tests.conftest import register_and_login
from tests.payments.builders import CARDS, card, create_intent, held_booking, pay


def test_same_key_and_body_replays_the_response_and_charges_once(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    first = pay(traveller, intent["id"], key="order-1")
    again = pay(traveller, intent["id"], key="order-1")
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    assert BankEntry.select().where(BankEntry.kind == "charge").count() == 1
    assert Payment.select().count() == 1


def test_a_replayed_decline_is_the_same_402(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    first = pay(traveller, intent["id"], card(CARDS["card_declined"]), key="try-1")
    again = pay(traveller, intent["id"], card(CARDS["card_declined"]), key="try-1")
    assert first.status_code == again.status_code == 402 and again.json == first.json
    assert Payment.select().count() == 1


def test_same_key_with_a_different_body_is_422(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    assert pay(traveller, intent["id"], card(CARDS["card_declined"]), key="k").status_code == 402
    other = pay(traveller, intent["id"], card(), key="k")
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    assert Payment.select().count() == 1


def test_keys_belong_to_their_traveller(system, api, traveller):
    mine = create_intent(traveller, held_booking(traveller)["ref"]).json
    other = register_and_login(api)
    theirs = create_intent(other, held_booking(other)["ref"]).json
    assert pay(traveller, mine["id"], key="shared").status_code == 200
    assert pay(other, theirs["id"], key="shared").status_code == 200
    assert Payment.select().where(Payment.status == "succeeded").count() == 2


def test_a_request_refused_before_charging_releases_its_key(system, traveller):
    assert pay(traveller, "pi_missing", key="reuse-me").status_code == 404
    assert IdempotencyRecord.select().count() == 0
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    assert pay(traveller, intent["id"], key="reuse-me").status_code == 200


def _race(traveller, intent_id, keys):
    barrier = threading.Barrier(len(keys))
    responses = [None] * len(keys)

    def one(i):
        barrier.wait()
        responses[i] = pay(traveller, intent_id, key=keys[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


def test_twenty_concurrent_requests_with_one_key_charge_once(system, traveller):
    """Those that arrive while the first is at the bank get a fast 409 with Retry-After (no waiting);
    those after it replay its answer; asking again afterwards gives that answer to everyone."""
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    responses = _race(traveller, intent["id"], ["same-key"] * 20)
    assert {r.status_code for r in responses} <= {200, 409}
    busy = [r for r in responses if r.status_code == 409]
    assert all(r.json["error"]["code"] == "payment_in_progress" and r.headers["Retry-After"] == "1" for r in busy)
    paid = [r for r in responses if r.status_code == 200]
    assert paid and len({r.json["id"] for r in paid}) == 1
    assert pay(traveller, intent["id"], key="same-key").json == paid[0].json
    assert BankEntry.select().where(BankEntry.kind == "charge").count() == 1
    assert Payment.select().count() == 1


def test_twenty_concurrent_requests_with_different_keys_charge_once(system, traveller):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    responses = _race(traveller, intent["id"], [f"key-{i}" for i in range(20)])
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1 and set(codes) <= {200, 409}, codes
    assert BankEntry.select().where(BankEntry.kind == "charge").count() == 1
    assert Payment.select().where(Payment.status == "succeeded").count() == 1
