"""Reading request bodies and query strings into plain values, with errors that name the field."""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal, overload

from flightbook.kernel.errors import ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: what no string we accept may hold: C0 and C1 control characters (NUL among them: PostgreSQL refuses it),
#: DEL, the Unicode line and paragraph separators and lone surrogates (they cannot be encoded)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: the dates a request may name: the schedule, birth dates and card expiries all fall well inside
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
MAX_DEPTH = 8  # how deep a JSON body may nest


def check_text(value: str, field: str) -> str:
    """The one string rule every part applies at its edge: no control characters."""
    if CONTROL.search(value):
        raise ValidationError(field, "must not contain control characters")
    return value


def check_strings(value, field: str = "body", depth: int = 0):
    """Every string (and key) in a parsed JSON value or form passes ``check_text``; nesting is bounded."""
    if depth > MAX_DEPTH:
        raise ValidationError(field, f"nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key), field)
            check_strings(item, str(key) if field == "body" else f"{field}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_strings(item, f"{field}[{i}]", depth + 1)
    return value


def body(req, *, checked: bool = True) -> dict:
    """The JSON object a request carried (400 if it is missing or not an object), every string in it passing
    the string rule; ``checked=False`` only for what parts send each other (events carry data already checked
    at the edge where it came in)."""
    if not req.content_length:
        raise ValidationError("body", "a JSON object is required")
    data = req.get_media()
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    return check_strings(data) if checked else data


#: the largest whole number any part stores (PostgreSQL's bigint, SQLite's INTEGER)
LARGEST_INTEGER = 2 ** 63 - 1


@overload
def text(data: dict, field: str, *, max_len: int = ..., min_len: int = ..., required: Literal[True] = ...,
         strip: bool = ...) -> str: ...
@overload
def text(data: dict, field: str, *, max_len: int = ..., min_len: int = ..., required: bool,
         strip: bool = ...) -> str | None: ...


def text(data: dict, field: str, *, max_len: int = 200, min_len: int = 1, required: bool = True,
         strip: bool = True) -> str | None:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip() and strip):
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    check_text(value, field)
    if strip:
        value = value.strip()
    if len(value) < min_len:
        raise ValidationError(field, f"must be at least {min_len} characters")
    if len(value) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters")
    return value


@overload
def email(data: dict, field: str = ..., *, required: Literal[True] = ...) -> str: ...
@overload
def email(data: dict, field: str = ..., *, required: bool) -> str | None: ...


def email(data: dict, field: str = "email", *, required: bool = True) -> str | None:
    value = text(data, field, max_len=254, required=required)
    if value is not None and not _EMAIL.match(value):
        raise ValidationError(field, "is not a valid email address")
    return value


@overload
def integer(data: dict, field: str, *, minimum: int | None = ..., maximum: int | None = ...,
            required: Literal[True] = ..., default: int | None = ...) -> int: ...
@overload
def integer(data: dict, field: str, *, minimum: int | None = ..., maximum: int | None = ...,
            required: bool, default: int) -> int: ...
@overload
def integer(data: dict, field: str, *, minimum: int | None = ..., maximum: int | None = ...,
            required: bool, default: None = ...) -> int | None: ...


def integer(data: dict, field: str, *, minimum: int | None = None, maximum: int | None = None,
            required: bool = True, default: int | None = None) -> int | None:
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise ValidationError(field, "is required")
        return default
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValidationError(field, "must be a whole number") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be a whole number")
    if minimum is not None and value < minimum:
        raise ValidationError(field, f"must be at least {minimum}")
    # with no maximum of its own, a number still has to fit the databases' 64-bit integers (a larger one was a 500)
    largest = LARGEST_INTEGER if maximum is None else maximum
    if value > largest:
        raise ValidationError(field, f"must be at most {largest}")
    return value


@overload
def date(data: dict, field: str, *, required: Literal[True] = ...) -> dt.date: ...
@overload
def date(data: dict, field: str, *, required: bool) -> dt.date | None: ...


def date(data: dict, field: str, *, required: bool = True) -> dt.date | None:
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise ValidationError(field, "is required (YYYY-MM-DD)")
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(field, "must be a date YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(check_text(value, field).strip())
    except ValueError:
        raise ValidationError(field, f"is not a date YYYY-MM-DD: {value!r}") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(field, f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return day


def choice(data: dict, field: str, options, *, required: bool = True, default=None):
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise ValidationError(field, f"is required (one of {', '.join(options)})")
        return default
    if not isinstance(value, str) or value not in options:
        raise ValidationError(field, f"must be one of {', '.join(options)}")
    return value


def query(req) -> dict:
    """The query string as a dict of the last value per name (each passing the string rule)."""
    return {check_text(k, "query"): check_text(v[-1] if isinstance(v, list) else v, k)
            for k, v in req.params.items()}


def money(data: dict, field: str, *, required: bool = True):
    """A ``{"amount": <minor units>, "currency": "USD"}`` object as Money."""
    from flightbook.kernel.money import Money, is_currency

    value = data.get(field)
    if value is None:
        if required:
            raise ValidationError(field, "is required ({amount, currency})")
        return None
    if not isinstance(value, dict):
        raise ValidationError(field, "must be an object {amount, currency}")
    amount = integer(value, "amount", minimum=0)
    currency = value.get("currency")
    if not isinstance(currency, str) or not is_currency(currency):
        raise ValidationError(field, "currency must be an ISO code such as USD")
    return Money(amount, currency)
