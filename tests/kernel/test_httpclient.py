"""ServiceClient against a real local HTTP server (http.server on 127.0.0.1, in a thread): what a call
between parts must never do — carry a cookie from an earlier answer, follow a redirect — and a broken
answer is a clean Unavailable."""
from __future__ import annotations

import http.server
import json
import threading

import pytest

from flightbook.kernel.auth import Tokens
from flightbook.kernel.errors import NotFound, Unavailable
from flightbook.kernel.httpclient import ServiceClient


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def answer(self, status, body: dict, extra=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        Handler.seen.append({"path": self.path, "cookie": self.headers.get("Cookie"),
                             "authorization": self.headers.get("Authorization")})
        if self.path == "/set-cookie":
            self.answer(200, {"ok": True}, [("Set-Cookie", "sid=traveller-one; Path=/")])
        elif self.path == "/redirect":
            self.answer(302, {"error": {"code": "moved", "message": "elsewhere"}}, [("Location", "/elsewhere")])
        elif self.path == "/missing":
            self.answer(404, {"error": {"code": "booking_not_found", "message": "no booking XYZ234"}})
        elif self.path == "/broken":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"half": ')
            self.wfile.flush()
            self.connection.shutdown(2)
        else:
            self.answer(200, {"path": self.path})


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def client(server):
    tokens = Tokens("k" * 32, "s" * 32)
    client = ServiceClient("flights", [server], tokens, caller="payments", connect_timeout=1, read_timeout=2)
    yield client
    client.close()


def test_a_cookie_set_by_one_answer_is_not_sent_on_the_next_call(client):
    client.call("GET", "/set-cookie", token="traveller-one-token")
    client.call("GET", "/next", token="traveller-two-token")
    assert [s["cookie"] for s in Handler.seen] == [None, None]
    assert Handler.seen[1]["authorization"] == "Bearer traveller-two-token"


def test_a_redirect_is_answered_not_followed(client):
    response = client.send("GET", "/redirect")
    assert response.status_code == 302
    assert [s["path"] for s in Handler.seen] == ["/redirect"]


def test_an_error_answer_is_the_same_domain_error(client):
    with pytest.raises(NotFound) as caught:
        client.call("GET", "/missing")
    assert caught.value.code == "booking_not_found"


def test_an_answer_that_breaks_off_is_unavailable(client):
    with pytest.raises(Unavailable) as caught:
        client.call("GET", "/broken", idempotent=False)
    assert caught.value.code == "service_unavailable"


def test_calls_keep_using_the_pool_after_each_kind_of_answer(client):
    for path in ("/a", "/missing", "/b", "/redirect", "/c"):
        client.send("GET", path)
    assert [s["path"] for s in Handler.seen] == ["/a", "/missing", "/b", "/redirect", "/c"]
