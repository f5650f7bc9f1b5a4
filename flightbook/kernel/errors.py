"""Domain errors: raised by services, turned into ``{"error": {"code", "message"}}`` by the HTTP layer.

Every error has a stable ``code``; HTTP clients map the code back to the same class, so a caller
sees the same exception whether a module runs in process or over HTTP.
"""
from __future__ import annotations

BY_CODE: dict = {}  # (status, code) -> DomainError subclass; filled as classes are defined


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the most specific class per (status, code) wins, so a client can rebuild e.g. SeatsUnavailable
        BY_CODE[(cls.status, cls.__dict__.get("code", cls.code))] = cls

    def __init__(self, message: str, *, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        body.update(self.details)
        return body


class ValidationError(DomainError):
    status = 400
    code = "invalid"

    def __init__(self, field: str, message: str, **details):
        super().__init__(f"{field}: {message}", field=field, **details)
        self.field = field


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class PaymentRequired(DomainError):
    status = 402
    code = "payment_failed"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"


BY_STATUS = {cls.status: cls for cls in (DomainError, Unauthorized, PaymentRequired, Forbidden,
                                          NotFound, Conflict, Unprocessable, Unavailable)}


def from_response(status: int, body: dict) -> DomainError:
    """Rebuild the domain error an HTTP peer answered with (used by every client.py)."""
    err = (body or {}).get("error") or {}
    details = {k: v for k, v in err.items() if k not in ("code", "message")}
    message = err.get("message") or f"HTTP {status}"
    if status == 400 and "field" in details:
        field = details.pop("field")
        exc = ValidationError(field, message.split(": ", 1)[-1], **details)
        exc.code = err.get("code", exc.code)
        return exc
    cls = BY_CODE.get((status, err.get("code"))) or BY_STATUS.get(status, Unavailable if status >= 500 else DomainError)
    if issubclass(cls, ValidationError):
        cls = DomainError
    return cls(message, code=err.get("code"), **details)
