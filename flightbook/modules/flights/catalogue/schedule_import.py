"""``flightbook import-flights``: a weekly schedule expanded into dated flights with seat inventory, in one
transaction; re-importing the same schedule and dates changes nothing.

PostgreSQL expands in the database: the schedule, its cabins and the airports' clocks (UTC offsets per local
day, from Python's zoneinfo so both backends agree) are COPYed into small temporary tables, and one
``INSERT ... SELECT`` per slice of days writes the flights, a second their inventory. SQLite stages rows
computed in Python with large multi-row INSERTs.
"""
from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

from peewee import chunked

from flightbook import ROOT
from flightbook.contracts.flights import CABINS, FlightImport, Progress
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import flight_copy, memo, pricing
from flightbook.modules.flights.catalogue.airports import BadImportFile
from flightbook.modules.flights.models import Airport, Route
from flightbook.modules.flights.catalogue.schedules import (MAX_DAYS, DatedFlight, ScheduleRow, clock_runs, count_dated,
                                                  expand, read_schedule, service_dates)


DEFAULT_FARE_RULES = ROOT / "data" / "fare_rules.toml"


def import_flights(uow: UnitOfWork, path: Path | str, start: dt.date, days: int,
                   progress: Progress | None = None,
                   fare_rules: Path | str | pricing.ImportRules | None = None) -> FlightImport:
    """Expand a weekly schedule into dated flights with seat inventory, all in one transaction;
    re-importing changes nothing. ``progress(done, total)`` is called as dated flights are written. Each cabin's
    fare buckets are priced by ``fare_rules`` (a TOML file, default data/fare_rules.toml; see pricing.py)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError("days", f"must be from 1 to {MAX_DAYS}")
    try:
        rules = fare_rules if isinstance(fare_rules, pricing.ImportRules) else \
            pricing.load_import_rules(fare_rules or DEFAULT_FARE_RULES)
    except ValueError as exc:
        raise BadImportFile(f"fare rules: {exc}") from None
    zones: dict[str, str] = dict(Airport.select(Airport.iata, Airport.tz).tuples())  # type: ignore[arg-type]
    rows = read_schedule(path, zones, rules)
    total = count_dated(rows, start, days)
    with uow.transaction():
        if uow.is_postgres:
            added, inventory = _import_postgres(uow.database, rows, start, days, zones, total, progress)
        else:
            _stage_sqlite(uow.database, rows, start, days, zones, total, progress)
            added, inventory = _move_sqlite(uow.database)
        if total:
            mark_served({code for row in rows for code in (row.origin, row.destination)})
            record_routes({(row.origin, row.destination) for row in rows})
    memo.forget(uow.database)  # the paths searches keep may have new routes now
    progress and progress(total, total)
    return FlightImport(schedules=len(rows), dated=total, added=added, existing=total - added,
                        inventory_rows=inventory)


def mark_served(codes: set) -> None:
    """Remember that flights now serve these airports (place search lists them first)."""
    for batch in chunked(sorted(codes), 500):  # well inside SQLite's limit on bound parameters
        Airport.update(served=True).where(Airport.iata.in_(batch) & (Airport.served == False)).execute()  # noqa: E712


def record_routes(pairs: set) -> None:
    """Remember that flights fly these (origin, destination) pairs: connections are searched on them."""
    for batch in chunked(sorted(pairs), 400):
        Route.insert_many(batch, fields=[Route.origin, Route.destination]).on_conflict_ignore().execute()


_FLIGHT_COLUMNS = ("flight_number, airline, origin, destination, service_date, departs_at, arrives_at, "
                   "duration_minutes")
_INVENTORY_INSERT = ("INSERT INTO seat_inventory (flight_id, cabin, capacity, seats_left, fare_amount, currency, "
                     "buckets, next_fares) ")


_PG_TABLES = (
    """CREATE TEMP TABLE schedule_stage (line INTEGER NOT NULL, flight_number VARCHAR(10) NOT NULL,
    airline VARCHAR(100) NOT NULL, origin VARCHAR(3) NOT NULL, destination VARCHAR(3) NOT NULL,
    tz VARCHAR(64) NOT NULL, departure_minute INTEGER NOT NULL, duration_minutes INTEGER NOT NULL,
    weekdays INTEGER[] NOT NULL) ON COMMIT DROP""",
    """CREATE TEMP TABLE cabin_stage (flight_number VARCHAR(10) NOT NULL, cabin VARCHAR(10) NOT NULL,
    seats INTEGER NOT NULL, fare_amount BIGINT NOT NULL, currency VARCHAR(3) NOT NULL, buckets TEXT NOT NULL,
    next_fares TEXT NOT NULL) ON COMMIT DROP""",
    """CREATE TEMP TABLE zone_clock (tz VARCHAR(64) NOT NULL, service_date DATE NOT NULL,
    from_minute INTEGER NOT NULL, to_minute INTEGER NOT NULL, offset_seconds INTEGER NOT NULL) ON COMMIT DROP""",
)
# Departure = local date + local time - the offset in force at that local minute (zone_clock holds the
# offsets departure_utc would apply). Rows go in route order: the search index then grows at a few places
# rather than everywhere, and a route's flights share heap pages.
_EXPAND = f"""INSERT INTO flight ({_FLIGHT_COLUMNS})
SELECT s.flight_number, s.airline, s.origin, s.destination, d.day,
       d.day + (s.departure_minute * 60 - z.offset_seconds) * interval '1 second',
       d.day + ((s.departure_minute + s.duration_minutes) * 60 - z.offset_seconds) * interval '1 second',
       s.duration_minutes
FROM (SELECT g::date AS day FROM generate_series(%s::date, %s::date, interval '1 day') g) d
JOIN schedule_stage s ON extract(isodow FROM d.day)::int = ANY (s.weekdays)
JOIN zone_clock z ON z.tz = s.tz AND z.service_date = d.day
                 AND s.departure_minute >= z.from_minute AND s.departure_minute < z.to_minute
ORDER BY s.origin, s.destination, d.day, s.line"""
# The flights above ``highest`` are this import's: the table lock keeps every other writer of flights out.
_NEW_INVENTORY = f"""{_INVENTORY_INSERT}
SELECT f.id, c.cabin, c.seats, c.seats, c.fare_amount, c.currency, c.buckets, c.next_fares
FROM flight f JOIN cabin_stage c ON c.flight_number = f.flight_number
WHERE f.id > %s ORDER BY f.id, c.cabin"""


def _import_postgres(database, rows, start, days, zones, total, progress, slice_flights=100_000) -> tuple[int, int]:
    cursor = database.cursor()
    # Imports queue here, one at a time; searches and bookings (which only read flights) are not blocked.
    cursor.execute("LOCK TABLE flight IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SET LOCAL jit = off")
    if not flight_copy.overlaps(cursor, rows, start, days):
        return flight_copy.copy_new_flights(cursor, rows, start, days, zones, total, progress)
    _stage_schedule(cursor, rows, start, days, zones)
    # Dates already imported for some of these flights: skip those (their seats may be sold) instead of failing.
    expand_sql = _EXPAND + " ON CONFLICT (flight_number, service_date) DO NOTHING"
    step = max(1, math.floor(days * slice_flights / max(total, 1)))
    added = inventory = 0
    for first in range(0, days, step):
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM flight")
        highest = cursor.fetchone()[0]
        cursor.execute(expand_sql, (start + dt.timedelta(days=first),
                                    start + dt.timedelta(days=min(first + step, days) - 1)))
        added += cursor.rowcount
        cursor.execute(_NEW_INVENTORY, (highest,))
        inventory += cursor.rowcount
        progress and progress(count_dated(rows, start, min(first + step, days)), total)
    return added, inventory


def _stage_schedule(cursor, rows: list[ScheduleRow], start: dt.date, days: int, zones: dict) -> None:
    for sql in _PG_TABLES:
        cursor.execute(sql)
    schedule = "".join(
        f"{r.line}\t{r.flight_number}\t{r.airline}\t{r.origin}\t{r.destination}\t{zones[r.origin]}\t"
        f"{r.departure_local.hour * 60 + r.departure_local.minute}\t{r.duration_minutes}\t"
        f"{{{','.join(map(str, sorted(r.weekdays)))}}}\n" for r in rows)
    cabins = "".join(f"{r.flight_number}\t{cabin}\t{r.seats[cabin]}\t{r.openings[cabin][0]}\t{r.currency}\t"
                     f"{r.openings[cabin][1]}\t{r.openings[cabin][2]}\n"
                     for r in rows for cabin in CABINS if r.seats[cabin] > 0)
    clocks = "".join(f"{tz}\t{day.isoformat()}\t{low}\t{high}\t{offset}\n"
                     for tz in sorted({zones[r.origin] for r in rows}) for day in service_dates(start, days)
                     for low, high, offset in clock_runs(day, tz))
    for table, text in (("schedule_stage", schedule), ("cabin_stage", cabins), ("zone_clock", clocks)):
        cursor.copy_expert(f"COPY {table} FROM STDIN", io.StringIO(text))
        cursor.execute(f"ANALYZE {table}")


_STAGE_COLUMNS = ("flight_number", "airline", "origin", "destination", "duration_minutes",
                  *(f"{c}_{column}" for c in CABINS for column in ("seats", "fare", "buckets", "next_fares")),
                  "currency", "service_date", "departs_at", "arrives_at")
_STAGE_TABLE = """CREATE TEMP TABLE flight_stage (
    flight_number VARCHAR(10) NOT NULL, airline VARCHAR(100) NOT NULL, origin VARCHAR(3) NOT NULL,
    destination VARCHAR(3) NOT NULL, duration_minutes INTEGER NOT NULL,
    """ + "".join(f"{c}_seats INTEGER NOT NULL, {c}_fare BIGINT NOT NULL, {c}_buckets TEXT NOT NULL, "
                  f"{c}_next_fares TEXT NOT NULL, " for c in CABINS) + """
    currency VARCHAR(3) NOT NULL, service_date DATE NOT NULL, departs_at TIMESTAMP NOT NULL,
    arrives_at TIMESTAMP NOT NULL)"""
_STAGED_INVENTORY = " UNION ALL ".join(
    f"SELECT f.id, '{cabin}', s.{cabin}_seats, s.{cabin}_seats, s.{cabin}_fare, s.currency, s.{cabin}_buckets, "
    f"s.{cabin}_next_fares "
    f"FROM flight f JOIN flight_stage s ON s.flight_number = f.flight_number AND s.service_date = f.service_date "
    f"WHERE s.{cabin}_seats > 0 AND f.id > ?" for cabin in CABINS)


def _static_columns(row: ScheduleRow) -> tuple:
    fares = [(row.seats[c], *(row.openings[c] if c in row.openings else (0, "", ""))) for c in CABINS]
    return (row.flight_number, row.airline, row.origin, row.destination, row.duration_minutes,
            *(v for pair in fares for v in pair), row.currency)


def _dated_columns(flight: DatedFlight) -> tuple[str, str, str]:
    return (flight.service_date.isoformat(), str(flight.departs_at.replace(tzinfo=None)),
            str(flight.arrives_at.replace(tzinfo=None)))


def _stage_sqlite(database, rows, start, days, zones, total, progress, chunk_rows=2_000) -> None:
    database.execute_sql("DROP TABLE IF EXISTS temp.flight_stage")
    database.execute_sql(_STAGE_TABLE)
    statics = {row.flight_number: _static_columns(row) for row in rows}
    one_row = "(" + ", ".join("?" * len(_STAGE_COLUMNS)) + ")"
    done, batch = 0, []
    for flight in expand(rows, start, days, zones):
        batch.append((*statics[flight.row.flight_number], *_dated_columns(flight)))
        if len(batch) == chunk_rows:
            done = _insert_stage_rows(database, one_row, batch, done)
            batch = []
            progress and progress(done, total)
    if batch:
        _insert_stage_rows(database, one_row, batch, done)


def _insert_stage_rows(database, one_row: str, batch: list, done: int) -> int:
    sql = "INSERT INTO flight_stage VALUES " + ", ".join([one_row] * len(batch))
    database.execute_sql(sql, [v for values in batch for v in values])
    return done + len(batch)


def _move_sqlite(database) -> tuple[int, int]:
    # SQLite has no INSERT in a CTE: the new flights are those with ids above the highest before the insert
    # (we hold the write lock, and rowids only grow from the maximum).
    (highest,) = database.execute_sql("SELECT COALESCE(MAX(id), 0) FROM flight").fetchone()
    added = database.execute_sql(
        f"INSERT INTO flight ({_FLIGHT_COLUMNS}) SELECT {_FLIGHT_COLUMNS} FROM flight_stage WHERE true "
        f"ON CONFLICT (flight_number, service_date) DO NOTHING").rowcount
    inventory = database.execute_sql(_INVENTORY_INSERT + _STAGED_INVENTORY, [highest] * len(CABINS)).rowcount
    database.execute_sql("DROP TABLE temp.flight_stage")
    return added, inventory
