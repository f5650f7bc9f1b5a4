"""Reading request bodies and query strings into plain values, with errors that name the field."""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal, overload

from flightbook.kernel.errors import ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def body(req) -> dict:
    """The JSON object a request carried (400 if it is missing or not an object)."""
    if not req.content_length:
        raise ValidationError("body", "a JSON object is required")
    data = req.get_media()
    if not isinstance(data, dict):
        raise ValidationError("body", "must be a JSON object")
    return data


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
    if maximum is not None and value > maximum:
        raise ValidationError(field, f"must be at most {maximum}")
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
    if not isinstance(value, str):
        raise ValidationError(field, "must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(field, f"is not a date YYYY-MM-DD: {value!r}") from None


def choice(data: dict, field: str, options, *, required: bool = True, default=None):
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise ValidationError(field, f"is required (one of {', '.join(options)})")
        return default
    if value not in options:
        raise ValidationError(field, f"must be one of {', '.join(options)}")
    return value


def query(req) -> dict:
    """The query string as a dict of the last value per name."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in req.params.items()}


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
