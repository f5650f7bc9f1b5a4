"""A payments worker in a subprocess, for the crash tests: it builds the system from the FLIGHTBOOK_*
environment it is given (the test's databases) and makes one payment or refund through the in-process
contract, as a gunicorn worker would. With ``FLIGHTBOOK_FAULT_POINTS=<point>=exit`` it dies at that
instant (exit status 70: no clean-up, no answer), which is the point of it.

    python -m tests.payments.crash pay USER_ID INTENT_ID KEY
    python -m tests.payments.crash refund PAYMENT_ID AMOUNT|all KEY
"""
from __future__ import annotations

import datetime as dt
import json
import sys

from flightbook import wiring
from flightbook.contracts.payments import CardInput
from flightbook.kernel import data
from flightbook.kernel.auth import Principal

CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=dt.date.today().year + 3, cvc="123",
                 holder_name="Ada Lovelace")


def main(action: str, *args: str) -> None:
    system = wiring.build_system()
    payments = system.contracts["payments"]
    if action == "pay":
        user_id, intent_id, key = args
        answer = payments.process_payment(Principal(kind="user", user_id=int(user_id)), intent_id, CARD, key)
    else:
        payment_id, amount, key = args
        answer = payments.refund(payment_id, None if amount == "all" else int(amount), key)
    print(json.dumps(data.to_dict(answer)))


if __name__ == "__main__":
    main(*sys.argv[1:])
