"""HTTP <-> the payments service. No business rules here: parse, call, answer."""
from __future__ import annotations

import falcon

from flightbook.contracts.payments import CardInput, PaymentResult, PaymentStatus
from flightbook.kernel import admin_http, data, validate
from flightbook.kernel.errors import ValidationError

MAX_WEBHOOK_BYTES = 1 << 20


def _principal(req):
    return getattr(req.context, "principal", None)


def parse_card(body: dict) -> CardInput:
    card = body.get("card")
    if not isinstance(card, dict):
        raise ValidationError("card", "must be an object {number, exp_month, exp_year, cvc, holder_name}")
    try:
        number = validate.text(card, "number", max_len=30)
        cvc = validate.text(card, "cvc", max_len=4)
        exp_month = validate.integer(card, "exp_month", minimum=1, maximum=12)
        exp_year = validate.integer(card, "exp_year", minimum=2000, maximum=2100)
        holder = validate.text(card, "holder_name", max_len=100, required=False) or ""
    except ValidationError as exc:
        raise ValidationError(f"card.{exc.field}", exc.message.split(": ", 1)[-1]) from None
    return CardInput(number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, holder_name=holder)


def payment_response(resp, result: PaymentResult) -> None:
    """Succeeded -> 200; a decline -> 402; charged but the booking was gone (money sent back) -> 409."""
    body = data.to_dict(result)
    if result.status == PaymentStatus.FAILED:
        resp.status = falcon.HTTP_402
        body["error"] = {"code": result.failure_code, "message": result.message}
    elif result.status == PaymentStatus.REFUNDED:
        resp.status = falcon.HTTP_409
        body["error"] = {"code": "booking_not_payable", "message": result.message}
    resp.media = body


class CreateIntent:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        booking_ref = validate.text(body, "booking_ref", max_len=16).upper()
        resp.status = falcon.HTTP_201
        resp.media = data.to_dict(self.service.create_intent(_principal(req), booking_ref))


class Process:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        intent_id = validate.text(body, "intent_id", max_len=40)
        card = parse_card(body) if body.get("card") is not None else None  # none: points pay it all
        result = self.service.process_payment(_principal(req), intent_id, card, req.get_header("Idempotency-Key"))
        payment_response(resp, result)


class PaymentQuote:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        booking_ref = validate.text(params, "booking_ref", max_len=16).upper()
        points = validate.integer(params, "points", minimum=0, maximum=10 ** 12, required=False, default=0)
        resp.media = data.to_dict(self.service.quote_payment(_principal(req), booking_ref, points))


class RefundQuote:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        booking_ref = validate.text(params, "booking_ref", max_len=16).upper()
        percent = validate.integer(params, "refund_percent", minimum=0, maximum=100)
        resp.media = data.to_dict(self.service.quote_refund(_principal(req), booking_ref, percent))


class History:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        user = validate.integer({"user_id": user_id}, "user_id", minimum=1, maximum=2 ** 62)
        resp.media = data.to_dict(self.service.history(_principal(req), user))


class RefundPayment:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        payment_id = validate.text(body, "payment_id", max_len=40)
        amount = validate.integer(body, "amount", minimum=1, maximum=2 ** 62, required=False)
        if isinstance(body.get("amount"), str):
            raise ValidationError("amount", "must be a number of minor units, not a string")
        resp.media = data.to_dict(self.service.refund(payment_id, amount, req.get_header("Idempotency-Key"),
                                                      caller=_principal(req)))


class Webhook:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        if (req.content_length or 0) > MAX_WEBHOOK_BYTES:
            raise ValidationError("body", "is too large for a Stripe event")
        payload = req.bounded_stream.read()
        resp.media = self.service.receive_webhook(payload, req.get_header("Stripe-Signature"))


def add_routes(app, service) -> None:
    app.add_route("/api/payments/create-intent", CreateIntent(service))
    app.add_route("/api/payments/process", Process(service))
    app.add_route("/api/payments/quote", PaymentQuote(service))
    app.add_route("/api/payments/refund-quote", RefundQuote(service))
    app.add_route("/api/payments/history/{user_id}", History(service))
    app.add_route("/api/payments/refund", RefundPayment(service))
    app.add_route("/api/payments/webhook", Webhook(service))
    prefix = "/api/admin/payments"
    app.add_route(f"{prefix}/payments", AdminPayments(service))
    app.add_route(f"{prefix}/declines", AdminDeclines(service))
    admin_http.add_routes(app, service, prefix, audit=False)


# the admin console's API (an admin's token; the service checks)
class AdminPayments:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        found = self.service.admin_payments(
            _principal(req), booking_ref=validate.text(params, "booking_ref", max_len=16, required=False),
            user_id=validate.integer(params, "user_id", minimum=1, required=False))
        resp.media = {"payments": [data.to_dict(p) for p in found]}


class AdminDeclines:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        since = admin_http.moment(validate.query(req), "since")
        resp.media = {"declines": [data.to_dict(d) for d in self.service.admin_declines(_principal(req), since)]}
