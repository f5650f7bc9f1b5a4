"""What every part refuses before a resource sees the request, and what every answer carries: bodies over
the configured size (413 before reading), addresses and query strings with control characters, and the
security headers on every response."""
from __future__ import annotations

from flightbook.kernel import validate
from flightbook.kernel.errors import DomainError, NotFound, ValidationError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_QUERY_CHARS = 4096
MAX_PATH_CHARS = 1024


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class _LimitedInput:
    """A body without Content-Length (chunked) read at most up to ``limit`` bytes; past it, a 413."""

    def __init__(self, stream, limit: int):
        self._stream, self._left = stream, limit

    def read(self, size: int = -1) -> bytes:
        want = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        chunk = self._stream.read(want)
        self._left -= len(chunk)
        if self._left < 0:
            raise PayloadTooLarge("the request body is too large")
        return chunk


class RequestLimits:
    """413 ``payload_too_large`` for a body over the limit (forms have their own, smaller one), decided on
    Content-Length before a byte is read; 404 for an address holding control characters; 400 for a query
    string that holds them or is too long."""

    def __init__(self, max_body_bytes: int, max_form_bytes: int):
        self._max_body = max_body_bytes
        self._max_form = max_form_bytes

    def process_request(self, req, resp):
        limit = self._max_form if (req.content_type or "").lower().startswith(FORM_TYPES) else self._max_body
        length = req.content_length
        if length is not None and length > limit:
            raise PayloadTooLarge(f"the request body is {length} bytes; at most {limit} are accepted here",
                                  limit=limit)
        if length is None and "chunked" in (req.get_header("Transfer-Encoding") or "").lower():
            req.env["wsgi.input"] = req.stream = _LimitedInput(req.env["wsgi.input"], limit)
        if len(req.path) > MAX_PATH_CHARS or validate.CONTROL.search(req.path):
            raise NotFound("there is nothing at this address", code="not_found")
        if len(req.query_string) > MAX_QUERY_CHARS:
            raise ValidationError("query", f"must be at most {MAX_QUERY_CHARS} characters")
        for name, value in req.params.items():
            validate.check_text(name, "query")
            for item in value if isinstance(value, list) else [value]:
                validate.check_text(item, name)


class SecurityHeaders:
    """Every answer of every part: browsers must not guess content types, and other sites see at most our
    origin in the Referer."""

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "same-origin")


def middleware(settings) -> list:
    return [SecurityHeaders(), RequestLimits(settings.max_body_bytes, settings.max_form_bytes)]

