"""The payments contract over HTTP (FLIGHTBOOK_PAYMENTS_URL set)."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.payments import (CardInput, DeclineCount, IntentView, PaymentHistory, PaymentQuote,
                                           PaymentResult, PaymentStatus, PaymentView, PaymentsContract, RefundQuote,
                                           RefundView)
from flightbook.kernel import errors
from flightbook.kernel.admin_http import EventsClient
from flightbook.kernel.auth import IN_PROCESS, Principal
from flightbook.kernel.data import from_dict, to_dict
from flightbook.kernel.httpclient import ServiceClient, bearer

# Statuses with which /api/payments/process answers a PaymentResult rather than an error: a decline
# (402) and a charge sent straight back because the booking was gone (409).
_RESULT_STATUSES = {402: PaymentStatus.FAILED, 409: PaymentStatus.REFUNDED}


class Client(EventsClient, PaymentsContract):
    """Implements PaymentsContract by calling a payments service."""
    admin_prefix = "/api/admin/payments"

    def __init__(self, urls, tokens, caller: str, settings):
        self.http = ServiceClient.for_settings("payments", urls, tokens, caller, settings)
        self._payment_timeout = settings.payment_call_timeout  # longer than any wait inside a payment

    def create_intent(self, caller: Principal, booking_ref: str) -> IntentView:
        # Safe to retry: a booking has one open intent, and asking again returns it.
        body = self.http.call("POST", "/api/payments/create-intent", json={"booking_ref": booking_ref},
                              token=bearer(caller), idempotent=True)
        return from_dict(IntentView, body)

    def process_payment(self, caller: Principal, intent_id: str, card: CardInput | None,
                        idempotency_key: str) -> PaymentResult:
        token = bearer(caller)
        headers = {"Authorization": f"Bearer {token or self.http.service_token()}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        response = self.http.send("POST", "/api/payments/process", headers=headers,
                                  json={"intent_id": intent_id, "card": to_dict(card)},
                                  idempotent=idempotency_key is not None, read_timeout=self._payment_timeout)
        body = _json(response)
        if response.status_code == 200 or _is_result(response.status_code, body):
            return from_dict(PaymentResult, body)
        raise errors.from_response(response.status_code, body)

    def history(self, caller: Principal, user_id: int) -> PaymentHistory:
        body = self.http.call("GET", f"/api/payments/history/{user_id}", token=bearer(caller))
        return from_dict(PaymentHistory, body)

    def quote_payment(self, caller: Principal, booking_ref: str, points: int = 0) -> PaymentQuote:
        body = self.http.call("GET", "/api/payments/quote", token=bearer(caller),
                              params={"booking_ref": booking_ref, "points": points})
        return from_dict(PaymentQuote, body)

    def quote_refund(self, caller: Principal, booking_ref: str, refund_percent: int) -> RefundQuote:
        body = self.http.call("GET", "/api/payments/refund-quote", token=bearer(caller),
                              params={"booking_ref": booking_ref, "refund_percent": refund_percent})
        return from_dict(RefundQuote, body)

    def refund(self, payment_id: str, amount: int | None, idempotency_key: str, *,
               caller: Principal | None = IN_PROCESS) -> RefundView:
        # a part calls with its service token; an admin's call carries the admin's own token
        body = {"payment_id": payment_id} if amount is None else {"payment_id": payment_id, "amount": amount}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return from_dict(RefundView, self.http.call("POST", "/api/payments/refund", json=body, headers=headers,
                                                    token=bearer(caller)))


    # the admin console's: the admin's own token is passed on
    def admin_payments(self, caller: Principal, booking_ref: str | None = None,
                       user_id: int | None = None) -> list[PaymentView]:
        params = {k: v for k, v in {"booking_ref": booking_ref, "user_id": user_id}.items() if v is not None}
        body = self.http.call("GET", f"{self.admin_prefix}/payments", params=params, token=bearer(caller))
        return [from_dict(PaymentView, p) for p in body["payments"]]

    def admin_declines(self, caller: Principal, since: dt.datetime) -> list[DeclineCount]:
        body = self.http.call("GET", f"{self.admin_prefix}/declines", params={"since": since.isoformat()},
                              token=bearer(caller))
        return [from_dict(DeclineCount, d) for d in body["declines"]]


def _is_result(status: int, body: dict) -> bool:
    return body.get("status") == _RESULT_STATUSES.get(status) and "intent_id" in body


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {"error": {"code": "bad_gateway", "message": f"non-JSON answer (HTTP {response.status_code})"}}
    return body
