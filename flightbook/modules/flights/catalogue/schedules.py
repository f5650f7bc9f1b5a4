"""Weekly schedules: the CSV format, the rules that turn a local departure into UTC, and the expansion of
schedules into dated flights. The import lives in schedule_import.py, the generator in schedule_generator.py."""
from __future__ import annotations

import csv
import datetime as dt
import math
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from flightbook.contracts.flights import CABINS
from flightbook.kernel.money import Money, is_currency
from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.catalogue.airports import BadImportFile

COLUMNS = ("flight_number", "airline", "origin", "destination", "departure_local", "duration_minutes", "weekdays",
           "economy_seats", "business_seats", "first_seats", "economy_fare", "business_fare", "first_fare",
           "currency")  # and optionally fare_buckets: the row's own fare buckets ('60:20 80:25 ...')
UTC = dt.timezone.utc
EARTH_RADIUS_KM = 6371.0
CRUISE_KMH = 830
TAXI_AND_CLIMB_MINUTES = 30
_FLIGHT_NUMBER = re.compile(r"^[A-Z0-9]{3,10}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_WEEKDAYS = re.compile(r"^[1-7]{1,7}$")
MAX_DAYS = 800


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a spherical Earth."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def block_minutes(distance_km: float) -> int:
    """Gate-to-gate time: cruise plus taxi and climb, rounded up to 5 minutes."""
    minutes = distance_km / CRUISE_KMH * 60 + TAXI_AND_CLIMB_MINUTES
    return int(math.ceil(minutes / 5) * 5)


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def departure_utc(service_date: dt.date, departure_local: dt.time, tz: str) -> dt.datetime:
    """The UTC moment of a scheduled local departure.

    A local time that does not exist (the hour skipped when clocks go forward) is read with the offset
    in force before the change, so the flight leaves that much later by the new wall clock (02:30 -> 03:30).
    A local time that happens twice (clocks go back) is its first occurrence (fold=0).
    """
    local = dt.datetime.combine(service_date, departure_local, tzinfo=zone(tz))
    return local.astimezone(UTC)


def clock_runs(day: dt.date, tz: str) -> list[tuple[int, int, int]]:
    """(from_minute, to_minute, utc_offset_seconds): the offsets ``departure_utc`` applies to the local minutes
    of ``day``. One run on most days; on a day the clocks change, a run before and a run after the change
    (a zone never changes twice in one day and back again, so equal offsets at 00:00 and 23:59 mean one run)."""
    local = zone(tz)

    def offset(minute: int) -> int:
        moment = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=local)
        return int((moment.utcoffset() or dt.timedelta()).total_seconds())

    current = offset(0)
    if offset(24 * 60 - 1) == current:
        return [(0, 24 * 60, current)]
    runs, start = [], 0
    for minute in range(1, 24 * 60):
        if (now := offset(minute)) != current:
            runs.append((start, minute, current))
            start, current = minute, now
    return runs + [(start, 24 * 60, current)]


def local_iso(moment: dt.datetime, tz: str) -> str:
    """'2026-12-01T09:05:00-05:00': a UTC moment shown in an airport's zone."""
    return moment.astimezone(zone(tz)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ScheduleRow:
    line: int
    flight_number: str
    airline: str
    origin: str
    destination: str
    departure_local: dt.time
    duration_minutes: int
    weekdays: frozenset  # ISO weekday numbers, Monday = 1
    seats: dict  # cabin -> seats (0 = not sold)
    fares: dict  # cabin -> Money per passenger (only cabins with seats)
    currency: str
    buckets: tuple | None = None  # the row's own fare buckets (optional column fare_buckets), else the rules'
    #: cabin -> its inventory before any sale: (the next seat's price, the buckets' state, the next seats' prices)
    openings: dict = field(default_factory=dict)


def _whole(record: dict, column: str, low: int, high: int) -> int:
    raw = (record[column] or "").strip()
    if not re.fullmatch(r"[0-9]+", raw) or not low <= int(raw) <= high:
        raise ValueError(f"{column} must be a whole number from {low} to {high}: {raw!r}")
    return int(raw)


def _cabins(record: dict, currency: str) -> tuple[dict, dict]:
    seats = {c: _whole(record, f"{c}_seats", 0, 1000) for c in CABINS}
    if not any(seats.values()):
        raise ValueError("at least one cabin needs seats")
    fares = {}
    for cabin in CABINS:
        raw = (record[f"{cabin}_fare"] or "").strip()
        if seats[cabin] == 0:
            continue
        try:
            fares[cabin] = Money.parse(raw, currency)
        except ValueError:
            raise ValueError(f"{cabin}_fare is not a valid {currency} amount: {raw!r}") from None
        if fares[cabin].amount <= 0:
            raise ValueError(f"{cabin}_fare must be more than zero when the cabin has seats")
    return seats, fares


def openings(seats: dict, fares: dict, departure_local: dt.time, buckets: tuple,
             rules: pricing.ImportRules) -> dict:
    """Each sold cabin's inventory text before any sale, by the fare rules (see pricing.py); no buckets when
    the rules price flat."""
    found = {}
    if rules.is_flat(buckets):
        return {cabin: (fare.amount, "", "") for cabin, fare in fares.items()}
    for cabin, fare in fares.items():
        state = pricing.opening_state(fare.amount, seats[cabin], departure_local, buckets, rules.time_of_day)
        found[cabin] = (pricing.next_price(state), pricing.state_text(state),
                        pricing.ladder_text([(s.price, s.left) for s in state]))
    return found


def parse_schedule_row(record: dict, line: int, airport_zones: dict,
                       rules: pricing.ImportRules = pricing.ImportRules()) -> ScheduleRow:
    """One CSV record -> ScheduleRow; ValueError with the reason when a value is unusable."""
    flight_number = (record["flight_number"] or "").strip().upper()
    if not _FLIGHT_NUMBER.match(flight_number):
        raise ValueError(f"flight_number must be 3-10 letters or digits: {record['flight_number']!r}")
    airline = (record["airline"] or "").strip()
    if not airline or len(airline) > 100 or any(ord(ch) < 32 or ch == "\\" for ch in airline):
        raise ValueError("airline is required (at most 100 printable characters, no backslash)")
    origin, destination = ((record[c] or "").strip().upper() for c in ("origin", "destination"))
    for column, code in (("origin", origin), ("destination", destination)):
        if code not in airport_zones:
            raise ValueError(f"{column} {code!r} is not a known airport (import airports first)")
    if origin == destination:
        raise ValueError("origin and destination are the same airport")
    departure = _HHMM.match((record["departure_local"] or "").strip())
    if not departure:
        raise ValueError(f"departure_local must be HH:MM (00:00-23:59): {record['departure_local']!r}")
    weekdays = (record["weekdays"] or "").strip()
    if not _WEEKDAYS.match(weekdays) or len(set(weekdays)) != len(weekdays):
        raise ValueError(f"weekdays must list ISO weekday digits 1-7 (Monday = 1) once each: {weekdays!r}")
    currency = (record["currency"] or "").strip()
    if not is_currency(currency):
        raise ValueError(f"currency must be an ISO code like USD: {currency!r}")
    seats, fares = _cabins(record, currency)
    buckets = None
    if (record.get("fare_buckets") or "").strip():
        try:
            buckets = pricing.parse_buckets(record["fare_buckets"])
        except ValueError as exc:
            raise ValueError(f"fare_buckets: {exc}") from None
    departure_local = dt.time(int(departure.group(1)), int(departure.group(2)))
    return ScheduleRow(line=line, flight_number=flight_number, airline=airline, origin=origin,
                       destination=destination, departure_local=departure_local,
                       duration_minutes=_whole(record, "duration_minutes", 1, 24 * 60),
                       weekdays=frozenset(int(d) for d in weekdays), seats=seats, fares=fares, currency=currency,
                       buckets=buckets,
                       openings=openings(seats, fares, departure_local, buckets or rules.buckets, rules))


def read_schedule(path: Path | str, airport_zones: dict,
                  rules: pricing.ImportRules = pricing.ImportRules()) -> list[ScheduleRow]:
    """Every row of a schedule file, or BadImportFile naming the first bad line."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise BadImportFile(f"line 1: missing column(s) {', '.join(missing)}")
            rows: list[ScheduleRow] = []
            seen: dict[str, int] = {}
            for record in reader:
                if None in record or any(v is None for v in record.values()):
                    raise BadImportFile(f"line {reader.line_num}: expected {len(reader.fieldnames or ())} fields")
                try:
                    row = parse_schedule_row(record, reader.line_num, airport_zones, rules)
                except ValueError as exc:
                    raise BadImportFile(f"line {reader.line_num}: {exc}") from None
                if row.flight_number in seen:
                    raise BadImportFile(f"line {row.line}: duplicate flight_number {row.flight_number} "
                                        f"(first on line {seen[row.flight_number]})")
                seen[row.flight_number] = row.line
                rows.append(row)
    except OSError as exc:
        raise BadImportFile(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadImportFile(f"{path} is not a readable UTF-8 CSV file: {exc}") from None
    if not rows:
        raise BadImportFile("the schedule has no flights")
    return rows


class DatedFlight(NamedTuple):
    row: ScheduleRow
    service_date: dt.date  # the origin's local date
    departs_at: dt.datetime  # aware UTC
    arrives_at: dt.datetime  # aware UTC


def service_dates(start: dt.date, days: int):
    return [start + dt.timedelta(days=i) for i in range(days)]


def expand(rows: list[ScheduleRow], start: dt.date, days: int, airport_zones: dict):
    """Dated flights of the schedule on each day from ``start`` for ``days`` days, in date order."""
    for day in service_dates(start, days):
        weekday = day.isoweekday()
        for row in rows:
            if weekday in row.weekdays:
                departs_at = departure_utc(day, row.departure_local, airport_zones[row.origin])
                yield DatedFlight(row, day, departs_at, departs_at + dt.timedelta(minutes=row.duration_minutes))


def count_dated(rows: list[ScheduleRow], start: dt.date, days: int) -> int:
    per_weekday = {wd: sum(1 for r in rows if wd in r.weekdays) for wd in range(1, 8)}
    return sum(per_weekday[day.isoweekday()] for day in service_dates(start, days))
