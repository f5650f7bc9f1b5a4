"""``/api/gateway/<path>``: the whole traveller API on one origin. It answers exactly as
``/api/<path>`` of the part that owns it — dispatched inside this process when that part is local,
forwarded over HTTP when it is not — passing the caller's token (or the session's) and the request id on.
"""
from __future__ import annotations

import io

import falcon

from flightbook.kernel.errors import NotFound
from flightbook.kernel.observability import DISPATCHED_FROM
from flightbook.kernel.httpclient import ServiceClient

PREFIX = "/api/gateway/"
OWNERS = {"users": "flights", "places": "flights", "flights": "flights", "tickets": "flights", "messages": "flights",
          "payments": "payments", "loyalty": "loyalty"}
_PASSED_ON = ("Content-Type", "Idempotency-Key", "Stripe-Signature", "Accept")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class GatewayApi:
    """A falcon sink. ``session_token(req)`` gives the signed-in traveller's token for browser calls."""

    def __init__(self, settings, tokens, session_token=lambda req: None):
        self._settings = settings
        self._tokens = tokens
        self._session_token = session_token
        self._app: falcon.App | None = None
        self._remote = {m: ServiceClient.for_settings(m, settings.urls[m], tokens, "gateway", settings)
                        for m in set(OWNERS.values()) if not settings.is_local(m)}

    def mount(self, app: falcon.App) -> None:
        self._app = app
        app.add_sink(self, PREFIX.rstrip("/") + r"(?P<rest>/.*)?$")

    def __call__(self, req, resp, **params):
        rest = (params.get("rest") or "/").lstrip("/")
        owner = OWNERS.get(rest.split("/", 1)[0])
        if owner is None:
            raise NotFound(f"no API at {req.path}", code="not_found")
        path = "/api/" + rest
        headers = {h: req.get_header(h) for h in _PASSED_ON if req.get_header(h)}
        headers["X-Request-ID"] = req.context.request_id
        authorization = req.get_header("Authorization")
        if not authorization:
            session_token = self._session_token(req)
            authorization = f"Bearer {session_token}" if session_token else None
        if authorization:
            headers["Authorization"] = authorization
        body = req.bounded_stream.read() if req.content_length else b""
        if owner in self._remote:
            status, answer_headers, data = self._forward(owner, req, path, headers, body)
        else:
            status, answer_headers, data = self._dispatch(req, path, headers, body)
        resp.status = status
        for name, value in answer_headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "x-request-id":
                resp.append_header(name, value)
        resp.data = data

    def _forward(self, owner, req, path, headers, body):
        headers["X-Client-Address"] = self._tokens.vouch_for_address(req.context.client_address or "")
        # a payment may wait on flights, loyalty and the provider inside payments: wait longer than all of it
        timeout = self._settings.payment_call_timeout if owner == "payments" else None
        response = self._remote[owner].send(req.method, path, params=req.query_string or None,
                                            data=body or None, headers=headers, read_timeout=timeout)
        return response.status_code, list(response.headers.items()), response.content

    def _dispatch(self, req, path, headers, body):
        """Run the request through this very app, as if it had come in at ``path``; its caller's address is
        the outer request's (``DISPATCHED_FROM``: no signed ``X-Client-Address`` to make and check here)."""
        environ = {k: v for k, v in req.env.items() if not k.startswith("HTTP_")}
        # PATH_INFO is the path's UTF-8 bytes as Latin-1 text (PEP 3333); ``path`` came decoded from req.path
        wsgi_path = path.encode("utf-8", "surrogateescape").decode("iso-8859-1")
        environ.update({"PATH_INFO": wsgi_path, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                        DISPATCHED_FROM: req.context})
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"], captured["headers"] = status, response_headers

        if self._app is None:
            raise RuntimeError("the gateway API is not mounted")
        chunks = self._app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return captured["status"], captured["headers"], data
