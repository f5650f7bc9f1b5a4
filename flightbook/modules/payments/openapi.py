"""The payments part's operations for its OpenAPI description, beside ``resources.py`` (kept in step by
tests/kernel/test_openapi.py)."""
from __future__ import annotations

from flightbook.contracts.payments import (DeclineCount, IntentView, PaymentHistory, PaymentQuote, PaymentResult,
                                           PaymentView, RefundQuote, RefundView)
from flightbook.kernel.openapi import ERROR, Description, body_schema, describe_admin_events, header, path, query

_BOOKING_REF = query("booking_ref", {"type": "string", "minLength": 1, "maxLength": 16}, True, example="K7Q2ZD")
_CARD = {"type": "object", "required": ["number", "exp_month", "exp_year", "cvc"],
         "properties": {"number": {"type": "string", "maxLength": 30}, "cvc": {"type": "string", "maxLength": 4},
                        "exp_month": {"type": "integer", "minimum": 1, "maximum": 12},
                        "exp_year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                        "holder_name": {"type": "string", "maxLength": 100}}}

_IN_PROGRESS = "or ``payment_in_progress``: the same Idempotency-Key (or the intent) is being paid right now"


def describe(doc: Description) -> None:
    doc.add("/api/payments/create-intent", "POST", "the open payment intent of the traveller's held booking",
            answer=IntentView, status=201, body=body_schema({"booking_ref": str}, required=("booking_ref",)),
            body_example={"booking_ref": "K7Q2ZD"}, errors=(400, 401, 403, 404, 409, 422, 503))
    declined = {"anyOf": [doc.schema(PaymentResult), ERROR]}  # a result with its error, or an error alone
    doc.add("/api/payments/process", "POST", "charge the card once per Idempotency-Key", answer=PaymentResult,
            params=[header("Idempotency-Key", "the same key for a retry of the same payment", required=True)],
            body=body_schema({"intent_id": str, "card": _CARD}, required=("intent_id",)),
            body_example={"intent_id": "pi_123", "card": {"number": "4242424242424242", "exp_month": 12,
                                                          "exp_year": 2030, "cvc": "123"}},
            more={402: ("declined: the result, with error.code the decline code", declined),
                  409: ("charged, but the booking was no longer payable: the money went back", declined)},
            retry_after={409: _IN_PROGRESS}, errors=(400, 401, 403, 404, 422, 503))
    doc.add("/api/payments/quote", "GET", "what the card pays for a held booking with some points",
            answer=PaymentQuote,
            params=[_BOOKING_REF, query("points", {"type": "integer", "minimum": 0, "maximum": 10 ** 12,
                                                   "default": 0})],
            errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/payments/refund-quote", "GET", "what a cancellation at a refund percent gives back to the card",
            answer=RefundQuote,
            params=[_BOOKING_REF, query("refund_percent", {"type": "integer", "minimum": 0, "maximum": 100}, True)],
            errors=(400, 401, 403, 404, 409, 503))
    doc.add("/api/payments/history/{user_id}", "GET", "a traveller's payments", answer=PaymentHistory,
            params=[path("user_id", {"type": "integer", "minimum": 1})], errors=(400, 401, 403, 404, 503))
    doc.add("/api/payments/refund", "POST", "refund a payment (services and admins)", answer=RefundView,
            params=[header("Idempotency-Key", "the same key for a retry of the same refund")],
            body=body_schema({"payment_id": str, "amount": {"type": "integer", "minimum": 1}},
                             required=("payment_id",)),
            security=("service", "traveller"), retry_after={409: _IN_PROGRESS},
            errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/payments/webhook", "POST", "Stripe's events (signed with Stripe-Signature)",
            answer={"type": "object"}, params=[header("Stripe-Signature", required=True)],
            body={"type": "object"}, security=(), errors=(400, 401, 503))
    _describe_admin(doc)


def _describe_admin(doc: Description) -> None:
    """The admin console's API: an admin's token (anyone else 403)."""
    prefix = "/api/admin/payments"
    doc.add(f"{prefix}/payments", "GET", "a booking's or a traveller's payments with their refunds, newest first",
            answer={"type": "object", "required": ["payments"],
                    "properties": {"payments": doc.schema(list[PaymentView])}},
            params=[query("booking_ref", {"type": "string", "maxLength": 16}, example="K7Q2ZD"),
                    query("user_id", {"type": "integer", "minimum": 1})],
            security=("admin",), errors=(400, 401, 403, 503))
    doc.add(f"{prefix}/declines", "GET", "payments declined since a time, per failure code, most first",
            answer={"type": "object", "required": ["declines"],
                    "properties": {"declines": doc.schema(list[DeclineCount])}},
            params=[query("since", {"type": "string", "format": "date-time"}, True,
                          "ISO 8601; without an offset: UTC", "2030-05-01T00:00:00Z")],
            security=("admin",), errors=(400, 401, 403, 503))
    describe_admin_events(doc, prefix, audit=False)
