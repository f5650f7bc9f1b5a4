"""import-flights on PostgreSQL when none of the dates are there yet: the final flight and seat_inventory rows
are written in Python as COPY text and streamed straight into the two tables (no staging, no INSERT ... SELECT).

The import holds the flight table lock, so it can take a block of ids from the flight sequence up front and
number the rows itself. Per-schedule text (flight number, airline, cabins and fares) and per-(zone, day) UTC
offsets are worked out once, so a dated flight costs two timestamp look-ups and one string. PostgreSQL parses
one chunk while Python writes the next (COPY reads the chunks as they are made).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from flightbook.contracts.flights import CABINS
from flightbook.modules.flights.catalogue.schedules import ScheduleRow, clock_runs, service_dates

FLIGHT_COLUMNS = ("id, flight_number, airline, origin, destination, service_date, departs_at, arrives_at, "
                  "duration_minutes")
INVENTORY_COLUMNS = "flight_id, cabin, capacity, seats_left, fare_amount, currency, buckets, next_fares"
# nextval then setval in one statement: ids first..last are ours (every other writer of flights waits on
# the table lock the import holds, so nobody draws from the sequence in between).
_RESERVE_IDS = ("SELECT setval(pg_get_serial_sequence('flight', 'id'), "
                "nextval(pg_get_serial_sequence('flight', 'id')) + %s - 1)")
_OVERLAP = "SELECT EXISTS (SELECT 1 FROM flight WHERE flight_number = ANY (%s) AND service_date BETWEEN %s AND %s)"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_DAY_SECONDS = 86_400


def overlaps(cursor, rows: list[ScheduleRow], start: dt.date, days: int) -> bool:
    """Whether any of these flight numbers already has a flight in the date range (one index probe each)."""
    cursor.execute(_OVERLAP, ([r.flight_number for r in rows], start, start + dt.timedelta(days=days - 1)))
    return cursor.fetchone()[0]


def copy_new_flights(cursor, rows: list[ScheduleRow], start: dt.date, days: int, zones: dict, total: int,
                     progress=None) -> tuple[int, int]:
    """Write the ``total`` dated flights of ``rows`` and their inventory; (flights, inventory rows) written.
    Only for a date range none of these flight numbers has yet (see ``overlaps``)."""
    if total == 0:
        return 0, 0
    cursor.execute(_RESERVE_IDS, (total,))
    first_id = cursor.fetchone()[0] - total + 1
    set_aside = _set_aside_indexes(cursor) if _is_most_of_the_table(cursor, total) else []
    expansion = _Expansion(rows, start, days, zones, first_id, total, progress)
    cursor.copy_expert(f"COPY flight ({FLIGHT_COLUMNS}) FROM STDIN", _Chunks(expansion.flight_chunks()))
    if expansion.next_id != first_id + total:
        raise RuntimeError(f"expanded {expansion.next_id - first_id} dated flights, expected {total}")
    cursor.copy_expert(f"COPY seat_inventory ({INVENTORY_COLUMNS}) FROM STDIN", _Chunks(expansion.inventory))
    for definition in set_aside:
        cursor.execute(definition)
    return total, expansion.inventory_rows


def _is_most_of_the_table(cursor, total: int) -> bool:
    """Whether the import adds more flights than the table holds (counting stops at ``total``)."""
    cursor.execute("SELECT count(*) FROM (SELECT 1 FROM flight LIMIT %s) t", (total,))
    return cursor.fetchone()[0] < total


def _set_aside_indexes(cursor) -> list[str]:
    """Drop flight's secondary indexes (not its primary key) and seat_inventory's primary key, returning the
    statements that rebuild them.

    Building an index once from the finished table costs about half of keeping it up to date row by row, but
    dropping it locks flight against searches until the import commits; so it is done only for an import
    that adds more flights than the table held (a first load), where the wait is short next to the gain. The
    rebuild of the unique (flight_number, service_date) index checks the new rows against the old as before.
    """
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                      WHERE i.indrelid = 'flight'::regclass AND NOT i.indisprimary
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""")
    indexes = cursor.fetchall()
    # The inventory's primary key too: bookings then wait for the import as searches do. (Should a booking
    # already holding a lock deadlock with the import, PostgreSQL ends one of the two; nothing half-written stays.)
    cursor.execute("LOCK TABLE seat_inventory IN ACCESS EXCLUSIVE MODE")
    cursor.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE conrelid = 'seat_inventory'::regclass AND contype = 'p'""")
    keys = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    for name, _ in keys:
        cursor.execute(f'ALTER TABLE seat_inventory DROP CONSTRAINT "{name}"')
    return ([definition for _, definition in indexes]
            + [f'ALTER TABLE seat_inventory ADD CONSTRAINT "{name}" {definition}' for name, definition in keys])


class _Chunks:
    """A read-only file over text chunks, so ``copy_expert`` sends each chunk as soon as it is made."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)

    def read(self, size: int = -1) -> str:
        for chunk in self._chunks:
            if chunk:  # an empty read would end the COPY
                return chunk
        return ""


def _copy_text(value) -> str:
    return str(value).translate(_COPY_ESCAPES)


@dataclass(frozen=True)
class _Plan:
    """What every dated flight of one schedule row shares, as COPY text."""
    head: str  # "\tflight_number\tairline\torigin\tdestination\t"
    tail: str  # "\tduration_minutes\n"
    # ("", "\tcabin\tseats\tseats\tfare\tcurrency\tbuckets\tnext_fares\n", ...): the flight id joins them. Cabins in key order, so
    # the inventory's primary key (flight_id, cabin) only ever grows at its right edge.
    inventory: tuple
    weekdays: frozenset
    tz: str
    minute: int  # local departure, minutes after midnight
    duration_seconds: int


def _plan(row: ScheduleRow, zones: dict) -> _Plan:
    cabins = tuple(f"\t{cabin}\t{row.seats[cabin]}\t{row.seats[cabin]}\t{row.openings[cabin][0]}\t"
                   f"{_copy_text(row.currency)}\t{row.openings[cabin][1]}\t{row.openings[cabin][2]}\n"
                   for cabin in sorted(CABINS) if row.seats[cabin] > 0)
    return _Plan(head=f"\t{_copy_text(row.flight_number)}\t{_copy_text(row.airline)}\t{_copy_text(row.origin)}\t"
                      f"{_copy_text(row.destination)}\t",
                 tail=f"\t{row.duration_minutes}\n", inventory=("",) + cabins, weekdays=row.weekdays,
                 tz=zones[row.origin], minute=row.departure_local.hour * 60 + row.departure_local.minute,
                 duration_seconds=row.duration_minutes * 60)


def _offset_at(runs, minute: int) -> int:
    """The UTC offset (seconds) ``departure_utc`` applies at a local minute: an int on most days, runs on a
    day the clocks change."""
    if runs.__class__ is int:
        return runs
    return next(offset for low, high, offset in runs if low <= minute < high)


class _Expansion:
    """Dated flights in route order (origin, destination, line, day): the search index then grows at a few
    places rather than everywhere, and a route's flights share heap pages."""

    def __init__(self, rows, start, days, zones, first_id, total, progress):
        ordered = sorted(rows, key=lambda r: (r.origin, r.destination, r.line))
        self._routes = [[_plan(r, zones) for r in group]
                        for _, group in groupby(ordered, key=lambda r: (r.origin, r.destination))]
        self._days = [(d.isoformat(), d.isoweekday(), d.toordinal() * _DAY_SECONDS) for d in service_dates(start, days)]
        self._offsets = {}  # tz -> [offset or runs per day]
        for tz in {plan.tz for route in self._routes for plan in route}:
            self._offsets[tz] = [runs[0][2] if len(runs) == 1 else runs
                                 for runs in (clock_runs(d, tz) for d in service_dates(start, days))]
        self._stamps = {}
        self._first_id, self._total, self._progress = first_id, total, progress
        self.next_id, self.inventory, self.inventory_rows = first_id, [], 0

    def _stamp(self, seconds: int) -> str:
        """'YYYY-MM-DD HH:MM:SS' for seconds since 0001-01-01 minus a day (date.toordinal() * 86400)."""
        text = self._stamps.get(seconds)
        if text is None:
            day, rest = divmod(seconds, _DAY_SECONDS)
            text = self._stamps[seconds] = (f"{dt.date.fromordinal(day).isoformat()} "
                                            f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}")
        return text

    def flight_chunks(self):
        """One COPY chunk of flight rows per route; the route's inventory text is kept for the second COPY."""
        stamps, stamp, next_id = self._stamps, self._stamp, self.next_id
        for route in self._routes:
            flights, inventory = [], []
            for plan in route:
                offsets, weekdays, local, first = self._offsets[plan.tz], plan.weekdays, plan.minute * 60, next_id
                for (day, weekday, midnight), runs in zip(self._days, offsets):
                    if weekday not in weekdays:
                        continue
                    departs = midnight + local - (runs if runs.__class__ is int else _offset_at(runs, plan.minute))
                    arrives = departs + plan.duration_seconds
                    flight_id = str(next_id)
                    next_id += 1
                    flights.append(f"{flight_id}{plan.head}{day}\t{stamps.get(departs) or stamp(departs)}\t"
                                   f"{stamps.get(arrives) or stamp(arrives)}{plan.tail}")
                    inventory.append(flight_id.join(plan.inventory))
                self.inventory_rows += (len(plan.inventory) - 1) * (next_id - first)
            self.inventory.append("".join(inventory))
            self.next_id = next_id
            yield "".join(flights)
            self._progress and self._progress(next_id - self._first_id, self._total)
