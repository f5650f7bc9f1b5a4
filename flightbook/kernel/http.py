"""HTTP plumbing every part shares: request ids, JSON errors, bearer auth, database connections,
``/health`` and ``/ready``."""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import math
import random
import re

import falcon
import falcon.media
import orjson

from flightbook.kernel import db as kdb
from flightbook.kernel.errors import DomainError, Unauthorized

log = logging.getLogger("flightbook.http")
#: what a request id may be made of (another is replaced): it reaches log lines and other parts' headers
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


#: the WSGI environ key of a request dispatched inside this process on behalf of another (the gateway's
#: ``/api/gateway/...`` answered by a local module): the outer request's context. The outer request is the
#: one counted, timed, traced and logged, under the route the inner one matched, so one request is one
#: line and one count whether its module is local or not.
DISPATCHED_FROM = "flightbook.dispatched_from"


_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("flightbook_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered (None outside one): what a call to another part passes on, so
    one traveller request has one id in every part's log."""
    return _request_id.get()


@contextlib.contextmanager
def request_id_of(request_id: str | None):
    """The block runs as part of request ``request_id`` (an event published while it was answered); without
    one, as part of the request in progress, if any."""
    if not request_id:
        yield
        return
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """Every response carries ``X-Request-ID``: the caller's, when it sent a sane one, or a new one. While
    the request is answered it is ``current_request_id()``."""

    def process_request(self, req, resp):
        given = req.get_header("X-Request-ID")
        req.context.request_id = given if given and SAFE_REQUEST_ID.match(given) else new_request_id()
        req.context.request_id_token = _request_id.set(req.context.request_id)

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Request-ID", getattr(req.context, "request_id", None) or new_request_id())
        token = getattr(req.context, "request_id_token", None)
        if token is not None:
            _request_id.reset(token)


def new_request_id() -> str:
    """32 hex digits. A request id only has to be unique enough to find a request in the logs, not
    unguessable, so it comes from the process's PRNG rather than a system call per request (uuid4)."""
    return f"{random.getrandbits(128):032x}"


class AuthMiddleware:
    """Puts the caller's Principal (or None) on ``req.context.principal``; a bad token is a 401."""

    def __init__(self, tokens, audience: str | list[str] | None = None):
        self._tokens = tokens
        self._audience = audience

    def process_request(self, req, resp):
        req.context.principal = None
        outer = req.env.get(DISPATCHED_FROM)
        if outer is not None:  # the gateway's request, answered in this process: its caller's address, as is
            req.context.client_address = getattr(outer, "client_address", None) or req.remote_addr
        else:
            vouched = self._tokens.vouched_address(req.get_header("X-Client-Address"))
            req.context.client_address = vouched or req.remote_addr
        header = req.get_header("Authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Authorization must be 'Bearer <token>'", code="invalid_token")
            req.context.principal = self._tokens.verify(token.strip(), audience=self._audience)


class DatabaseMiddleware:
    """Open the parts' connections lazily and give them back to the pool after each request."""

    def __init__(self, databases):
        self._databases = list(databases)

    def process_response(self, req, resp, resource, req_succeeded):
        for database in self._databases:
            if not database.is_closed() and not database.in_transaction():
                database.close()


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (title or "error").lower()).strip("_") or "error"


def _serialize_http_error(req, resp, exc: falcon.HTTPError):
    resp.content_type = falcon.MEDIA_JSON
    code = getattr(exc, "code", None) or _slug(exc.title)
    message = exc.description or exc.title or "error"
    resp.media = {"error": {"code": str(code), "message": message}}


def _handle_domain_error(req, resp, exc: DomainError, params):
    resp.status = exc.status
    resp.media = {"error": exc.to_dict()}
    retry_after = exc.details.get("retry_after")
    if retry_after is not None:  # e.g. a payment in progress: when asking again makes sense
        resp.set_header("Retry-After", str(max(1, math.ceil(retry_after))))


def _handle_unexpected(req, resp, exc: Exception, params):
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s (request %s)", req.method, req.path,
                  getattr(req.context, "request_id", "?"))
    resp.status = falcon.HTTP_500
    resp.media = {"error": {"code": "internal_error",
                            "message": "something went wrong on our side; quote the X-Request-ID header"}}


def _dumps(media) -> bytes:
    """orjson for the common case (a search answer serializes in ~1 µs instead of ~12 µs with json);
    anything it refuses (an int over 64 bits, a non-str key) goes through json as before."""
    try:
        return orjson.dumps(media)
    except TypeError:
        return json.dumps(media, ensure_ascii=False).encode()


JSON = falcon.media.JSONHandler(dumps=_dumps, loads=orjson.loads)


def install_json(app: falcon.App) -> None:
    """Requests and responses in JSON through orjson (a body it cannot parse is a 400, as before)."""
    app.req_options.media_handlers[falcon.MEDIA_JSON] = JSON
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = JSON


def install_error_handling(app: falcon.App) -> None:
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(Exception, _handle_unexpected)
    app.add_error_handler(DomainError, _handle_domain_error)


class Health:
    def on_get(self, req, resp):
        resp.media = {"status": "ok"}


class Ready:
    """200 when every database this process owns answers, 503 otherwise."""

    def __init__(self, databases: dict):
        self._databases = databases

    def on_get(self, req, resp):
        checks = {}
        for name, database in self._databases.items():
            try:
                kdb.ping(database)
                checks[name] = "ok"
            except Exception as exc:  # any driver error means "not ready"
                checks[name] = f"unreachable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"status": "ready" if ready else "not ready", "databases": checks}
