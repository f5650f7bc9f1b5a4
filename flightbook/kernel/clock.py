"""Time: stored as naive UTC in every database, handed around as aware UTC datetimes."""
from __future__ import annotations

import datetime as dt
from typing import overload

UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def to_db(moment: dt.datetime) -> dt.datetime:
    """Aware datetime -> naive UTC for a column."""
    if moment.tzinfo is None:
        raise ValueError("refusing a naive datetime: say which zone it is in")
    return moment.astimezone(UTC).replace(tzinfo=None)


@overload
def from_db(value: None) -> None: ...
@overload
def from_db(value: dt.datetime | str) -> dt.datetime: ...
@overload
def from_db(value: dt.datetime | str | None) -> dt.datetime | None: ...


def from_db(value: dt.datetime | str | None) -> dt.datetime | None:
    """A column's naive UTC value (datetime, or ISO text on SQLite) -> aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@overload
def iso(moment: dt.datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...


def iso(moment: dt.datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, seconds precision: '2026-12-01T17:05:00Z'."""
    if moment is None:
        return None
    if moment.tzinfo is UTC and not moment.microsecond and moment.year > 999:
        return moment.isoformat()[:19] + "Z"  # the usual case, without the conversions below
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
