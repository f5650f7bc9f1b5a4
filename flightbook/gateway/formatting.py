"""Money, dates and times for people: '$1,234.50', 'Tue 1 Dec 2026', '09:05 GMT' in the airport's zone."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flightbook.kernel.money import Money


def money(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = Money.from_dict(value)
    return value.format()


def points(value) -> str:
    return f"{int(value or 0):,}"


def duration(minutes: int) -> str:
    hours, mins = divmod(int(minutes), 60)
    return f"{hours}h {mins:02d}m" if hours else f"{mins}m"


def stops(layovers: list[dict]) -> str:
    """'Nonstop', '1 stop · 1h 25m in Chicago (ORD)', '2 stops · ORD, DEN'."""
    if not layovers:
        return "Nonstop"
    if len(layovers) == 1:
        stay = layovers[0]
        return f"1 stop · {duration(stay['minutes'])} in {stay['city']} ({stay['airport']})"
    return f"{len(layovers)} stops · {', '.join(stay['airport'] for stay in layovers)}"


def days_between(departs_local: str, arrives_local: str) -> int:
    """How many calendar days later (by the local clocks) a journey lands than it leaves: 0, 1, 2..."""
    return (dt.date.fromisoformat(arrives_local[:10]) - dt.date.fromisoformat(departs_local[:10])).days


def short_day(value) -> str:
    """'Tue 1 Dec'."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value:%a} {value.day} {value:%b}"


def day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value:%a} {value.day} {value:%b %Y}"


def when(value: dt.datetime | None) -> str:
    """A UTC moment for people, in UTC (used for hold expiries and history)."""
    if value is None:
        return ""
    value = value.astimezone(dt.timezone.utc)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


@dataclass(frozen=True)
class LocalTime:
    time: str  # '09:05'
    date: str  # 'Tue 1 Dec'
    zone: str  # 'GMT' / 'CEST' / 'UTC+05:30'
    tz: str  # 'Europe/London' (or '' when unknown)
    iso: str


def local(moment: dt.datetime, tz_name: str | None, fallback_iso: str | None = None) -> LocalTime:
    """``moment`` (aware) in the airport's zone; without a known zone, the offset the flight gave."""
    zone = None
    if tz_name:
        try:
            zone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    if zone is not None:
        here = moment.astimezone(zone)
        label = here.tzname() or tz_name or "UTC"
        if label and label[0] in "+-":  # some zones have no abbreviation: show UTC+hh
            label = "UTC" + label
    else:
        here = dt.datetime.fromisoformat(fallback_iso) if fallback_iso else moment.astimezone(dt.timezone.utc)
        label = here.strftime("UTC%z")
        label = label[:-2] + ":" + label[-2:] if len(label) > 3 else "UTC"
    return LocalTime(time=here.strftime("%H:%M"), date=f"{here:%a} {here.day} {here:%b}", zone=label,
                     tz=tz_name or "", iso=here.isoformat())
