"""A FAKE Stripe API server for tests: Stripe is unreachable from here, so the real ``stripe`` SDK is
pointed at this local stand-in (127.0.0.1, a random port) through ``base_addresses={"api": url}``.

It speaks just enough of the v1 API for flightbook's provider: PaymentIntents create, confirm, retrieve
and cancel, Refunds create, form-encoded bodies, ``Idempotency-Key`` replays (the first answer again;
the same key with other parameters is an idempotency_error, as at Stripe), and Stripe's test-card outcomes.
It is not Stripe and proves only that our code drives the SDK correctly. ``sign`` makes a
``Stripe-Signature`` header the way Stripe signs webhooks, for the webhook tests."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

API_KEY = "sk_test_fake_flightbook"
WEBHOOK_SECRET = "whsec_fake_flightbook"

DECLINES = {  # number -> (code, decline_code)
    "4000000000000002": ("card_declined", "generic_decline"),
    "4000000000009995": ("card_declined", "insufficient_funds"),
    "4000000000000069": ("expired_card", None),
    "4000000000000127": ("incorrect_cvc", None),
}


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def parse_form(body: str) -> dict:
    """'a[b][c]=1&l[0]=x' -> {'a': {'b': {'c': '1'}}, 'l': {'0': 'x'}}."""
    tree: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


class FakeStripe:
    def __init__(self):
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.confirm_calls = 0
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request, replays included
        self._replies: dict[tuple, tuple[dict, tuple[int, dict]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def handle(self, method: str, path: str, headers, form: dict) -> tuple[int, dict]:
        if headers.get("Authorization") != f"Bearer {API_KEY}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        key = headers.get("Idempotency-Key")
        with self._lock:
            self.calls.append((method, path))
            if key and (path, key) in self._replies:
                sent, reply = self._replies[(path, key)]
                if sent != form:
                    return 400, {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests "
                                           "can only be used with the same parameters they were first used with."}}
                return reply
            reply = self._route(method, path, form)
            if key and method == "POST":
                self._replies[(path, key)] = (form, reply)
            return reply

    def _route(self, method, path, form):
        if method == "POST" and path == "/v1/payment_intents":
            return self._create_intent(form)
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)/confirm", path)
        if method == "POST" and match:
            return self._confirm(match.group(1), form)
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)/cancel", path)
        if method == "POST" and match:
            return self._cancel(match.group(1))
        match = re.fullmatch(r"/v1/payment_intents/([^/?]+)", path.split("?")[0])
        if method == "GET" and match:
            intent = self.intents.get(match.group(1))
            return (200, dict(intent)) if intent else self._no_such_intent()
        if method == "POST" and path == "/v1/refunds":
            return self._refund(form)
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}"}}

    def _create_intent(self, form):
        intent = {"id": self.new_id("pi"), "object": "payment_intent", "amount": int(form["amount"]),
                  "currency": form["currency"], "status": "requires_payment_method",
                  "metadata": form.get("metadata", {}), "latest_charge": None, "amount_refunded": 0}
        self.intents[intent["id"]] = intent
        return 200, intent

    @staticmethod
    def _no_such_intent():
        return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}

    @staticmethod
    def _wrong_state(intent, action):
        return 400, {"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                               "message": f"You cannot {action} this PaymentIntent because it has a status of "
                                          f"{intent['status']}."}}

    def _cancel(self, intent_id):
        intent = self.intents.get(intent_id)
        if intent is None:
            return self._no_such_intent()
        if intent["status"] in ("succeeded", "canceled"):
            return self._wrong_state(intent, "cancel")
        intent["status"] = "canceled"
        return 200, dict(intent)

    def _confirm(self, intent_id, form):
        intent = self.intents.get(intent_id)
        if intent is None:
            return self._no_such_intent()
        if intent["status"] in ("succeeded", "canceled"):
            return self._wrong_state(intent, "confirm")
        self.confirm_calls += 1
        card = form.get("payment_method_data", {}).get("card", {})
        decline = DECLINES.get(card.get("number", ""))
        if decline:
            code, decline_code = decline
            intent["last_payment_error"] = {"code": code, "decline_code": decline_code}
            return 402, {"error": {"type": "card_error", "code": code, "decline_code": decline_code,
                                   "message": "Your card was declined.", "payment_intent": dict(intent)}}
        intent.update(status="succeeded", latest_charge=self.new_id("ch"))
        return 200, intent

    def _refund(self, form):
        intent = self.intents.get(form.get("payment_intent"))
        amount = int(form.get("amount") or (intent or {}).get("amount", 0))
        if intent is None or intent["status"] != "succeeded" or intent["amount_refunded"] + amount > intent["amount"]:
            return 400, {"error": {"type": "invalid_request_error", "message": "Refund is not possible"}}
        intent["amount_refunded"] += amount
        refund = {"id": self.new_id("re"), "object": "refund", "amount": amount, "payment_intent": intent["id"],
                  "status": "succeeded"}
        self.refunds[refund["id"]] = refund
        return 200, refund

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._reply(*fake.handle("POST", self.path, self.headers, parse_form(self.rfile.read(length).decode())))

            def do_GET(self):
                self._reply(*fake.handle("GET", self.path, self.headers, {}))

            def _reply(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", fake.new_id("req"))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):  # quiet: and never echo a request line anywhere
                pass

        return Handler
