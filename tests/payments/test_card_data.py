"""Card numbers and CVCs never reach a table or a log: only brand, last4, expiry and a fingerprint."""
from __future__ import annotations

import logging
import re

from flightbook.modules.payments.models import Payment
from tests.payments.builders import CARDS, card, create_intent, held_booking, pay

NUMBER = "378282246310005"  # amex, approves
CVC = "0427"
CVC_ALONE = re.compile(r"(?<![0-9a-fA-F])0427(?![0-9a-fA-F])")


def _every_row(system) -> str:
    dumped = []
    for database in system.databases.values():
        for table in database.get_tables():
            cursor = database.execute_sql(f'SELECT * FROM "{table}"')
            dumped.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dumped)


def test_number_and_cvc_are_in_no_table_and_no_log(system, api, traveller, service_token, caplog):
    caplog.set_level(logging.DEBUG)
    booking = held_booking(traveller)
    intent = create_intent(traveller, booking["ref"]).json
    declined = pay(traveller, intent["id"], card(CARDS["incorrect_cvc"], cvc=CVC))
    assert declined.status_code == 402
    paid = pay(traveller, intent["id"], card(NUMBER, cvc=CVC), key="amex-1")
    assert paid.status_code == 200 and paid.json["card"] == {"brand": "amex", "last4": "0005",
                                                             "exp_month": 12, "exp_year": paid.json["card"]["exp_year"]}
    assert pay(traveller, intent["id"], card(NUMBER, cvc=CVC), key="amex-1").status_code == 200  # a replay
    refund = api.as_user(service_token("gateway", "payments")).post(
        "/api/payments/refund", json={"payment_id": paid.json["id"]}, headers={"Idempotency-Key": "r"})
    assert refund.status_code == 200

    rows = _every_row(system)
    assert "0005" in rows and "amex" in rows  # the dump does see the payment
    for secret in (NUMBER, CARDS["incorrect_cvc"]):
        assert secret not in rows
    assert not CVC_ALONE.search(rows)
    logs = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records  # peewee logs its queries at DEBUG: the capture is live
    assert NUMBER not in logs and CARDS["incorrect_cvc"] not in logs and not CVC_ALONE.search(logs)
    stored = Payment.get_by_id(paid.json["id"])
    assert len(stored.card_fingerprint) == 64 and stored.card_last4 == "0005"
