"""History (own or admin's view) and refunds (service or admin, never beyond the capture)."""
from __future__ import annotations

import threading

from flightbook.modules.flights.models import User
from flightbook.modules.payments.banking import pan_hash
from flightbook.modules.payments.models import BankCard, Payment
from tests.conftest import register_and_login
from tests.payments.builders import CARDS, GOOD_CARD, card, create_intent, held_booking, paid_booking, pay, user_id


def _service(api, service_token):
    return api.as_user(service_token("gateway", "payments"))


def _refund(caller, payment_id, amount=None, key="refund-1"):
    body = {"payment_id": payment_id} if amount is None else {"payment_id": payment_id, "amount": amount}
    return caller.post("/api/payments/refund", json=body, headers={"Idempotency-Key": key})


def test_history_lists_attempts_newest_first_with_refunds(system, api, traveller, service_token):
    booking = held_booking(traveller, fare=30000)
    intent = create_intent(traveller, booking["ref"]).json
    declined = pay(traveller, intent["id"], card(CARDS["card_declined"])).json
    paid = pay(traveller, intent["id"]).json
    assert _refund(_service(api, service_token), paid["id"], 10000).status_code == 200
    history = traveller.get(f"/api/payments/history/{user_id(traveller)}")
    assert history.status_code == 200
    payments = history.json["payments"]
    assert [p["id"] for p in payments] == [paid["id"], declined["id"]]
    assert payments[0]["status"] == "partially_refunded" and payments[0]["refunded_amount"] == 10000
    assert payments[0]["amount"] == 30000 and payments[0]["currency"] == "USD"
    assert [r["amount"] for r in payments[0]["refunds"]] == [10000]
    assert payments[1]["status"] == "failed" and payments[1]["failure_code"] == "card_declined"
    assert payments[0]["created_at"].endswith("Z")


def test_one_traveller_cannot_read_anothers_history_but_an_admin_can(system, api, traveller):
    paid_booking(traveller)
    other = register_and_login(api)
    assert other.get(f"/api/payments/history/{user_id(traveller)}").status_code == 403
    assert api.get(f"/api/payments/history/{user_id(traveller)}").status_code == 401
    assert traveller.get("/api/payments/history/abc").status_code == 400
    register_and_login(api, "payadmin", password="admin-password")
    User.update(is_admin=True).where(User.username == "payadmin").execute()
    admin = api.as_user(api.post("/api/users/login", json={"username": "payadmin",
                                                            "password": "admin-password"}).json["token"])
    seen = admin.get(f"/api/payments/history/{user_id(traveller)}")
    assert seen.status_code == 200 and len(seen.json["payments"]) == 1


def test_partial_refunds_up_to_the_capture_and_no_further(system, api, traveller, service_token):
    _, paid = paid_booking(traveller, fare=25000)
    service = _service(api, service_token)
    before = BankCard.get_by_id(pan_hash(GOOD_CARD)).balance
    first = _refund(service, paid["id"], 10000, key="r1")
    assert first.status_code == 200 and first.json["refunded_total"] == 10000
    assert first.json["payment_status"] == "partially_refunded"
    too_much = _refund(service, paid["id"], 15001, key="r2")
    assert too_much.status_code == 409 and too_much.json["error"]["code"] == "refund_exceeds_payment"
    rest = _refund(service, paid["id"], key="r3")
    assert rest.status_code == 200 and rest.json["amount"] == 15000 and rest.json["payment_status"] == "refunded"
    assert _refund(service, paid["id"], 1, key="r4").status_code == 409
    assert BankCard.get_by_id(pan_hash(GOOD_CARD)).balance == before + 25000
    assert Payment.get_by_id(paid["id"]).refunded_amount == 25000


def test_refunds_are_idempotent_by_key(system, api, traveller, service_token):
    _, paid = paid_booking(traveller, fare=25000)
    service = _service(api, service_token)
    first = _refund(service, paid["id"], 5000, key="same")
    again = _refund(service, paid["id"], 5000, key="same")
    assert first.status_code == again.status_code == 200 and again.json == first.json
    assert _refund(service, paid["id"], 6000, key="same").status_code == 422
    assert Payment.get_by_id(paid["id"]).refunded_amount == 5000


def test_concurrent_refunds_never_exceed_the_capture(system, api, traveller, service_token):
    _, paid = paid_booking(traveller, fare=25000)
    service = _service(api, service_token)
    barrier = threading.Barrier(10)
    codes = []

    def one(i):
        barrier.wait()
        codes.append(_refund(service, paid["id"], 4000, key=f"c{i}").status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert codes.count(200) == 6 and codes.count(409) == 4, codes
    assert Payment.get_by_id(paid["id"]).refunded_amount == 24000


def test_only_services_and_admins_refund_and_bad_requests_are_400(system, api, traveller, service_token):
    _, paid = paid_booking(traveller)
    assert _refund(traveller, paid["id"]).status_code == 403
    assert _refund(api, paid["id"]).status_code == 401
    service = _service(api, service_token)
    assert _refund(service, "pay_missing").status_code == 404
    assert _refund(service, paid["id"], 0).status_code == 400
    assert _refund(service, paid["id"], "100").status_code == 400
    no_key = service.post("/api/payments/refund", json={"payment_id": paid["id"]})
    assert no_key.status_code == 400 and no_key.json["error"]["field"] == "Idempotency-Key"
    assert Payment.get_by_id(paid["id"]).refunded_amount == 0


def test_a_failed_payment_cannot_be_refunded(system, api, traveller, service_token):
    intent = create_intent(traveller, held_booking(traveller)["ref"]).json
    failed = pay(traveller, intent["id"], card(CARDS["card_declined"])).json
    resp = _refund(_service(api, service_token), failed["id"])
    assert resp.status_code == 409 and resp.json["error"]["code"] == "refund_not_allowed"


def test_the_refund_use_case_refuses_a_traveller_whoever_calls_it(system, traveller):
    import pytest

    from flightbook.kernel.auth import Principal
    from flightbook.kernel.errors import Forbidden
    _, paid = paid_booking(traveller)
    payments = system.parts["payments"].contract
    with pytest.raises(Forbidden):
        payments.refund(paid["id"], None, "in-process", caller=Principal(kind="user", user_id=user_id(traveller)))
    assert payments.refund(paid["id"], None, "in-process").status == "succeeded"  # a part, in process
