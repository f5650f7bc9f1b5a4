"""``flightbook import-connection-times``: the per-airport minimum connection times (data/connection_times.csv
by default). The file is the whole list: it replaces what was there, all or nothing, and an airport it leaves
out (or an empty cell) gets the configured default for that kind of connection."""
from __future__ import annotations

import csv
from pathlib import Path

from flightbook import ROOT
from flightbook.contracts.flights import ConnectionTimesImport
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import memo
from flightbook.modules.flights.catalogue.airports import BadImportFile
from flightbook.modules.flights.models import Airport, ConnectionTime

DEFAULT_CSV = ROOT / "data" / "connection_times.csv"
COLUMNS = ("iata", "same_country_minutes", "international_minutes")
MAX_MINUTES = 24 * 60


def _minutes(record: dict, column: str) -> int | None:
    raw = (record[column] or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_MINUTES:
        raise ValueError(f"{column} must be empty (the default) or whole minutes from 1 to {MAX_MINUTES}: {raw!r}")
    return int(raw)


def read_connection_times(path: Path | str, known: set) -> dict[str, tuple]:
    """iata -> (same_country_minutes, international_minutes), or BadImportFile naming the first bad line."""
    times: dict[str, tuple] = {}
    lines: dict[str, int] = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise BadImportFile(f"line 1: missing column(s) {', '.join(missing)}")
            for record in reader:
                line = reader.line_num
                if None in record or any(v is None for v in record.values()):
                    raise BadImportFile(f"line {line}: expected {len(reader.fieldnames or ())} fields")
                iata = (record["iata"] or "").strip().upper()
                if iata not in known:
                    raise BadImportFile(f"line {line}: {iata!r} is not a known airport (import airports first)")
                if iata in lines:
                    raise BadImportFile(f"line {line}: duplicate iata {iata} (first on line {lines[iata]})")
                try:
                    times[iata] = (_minutes(record, "same_country_minutes"), _minutes(record, "international_minutes"))
                except ValueError as exc:
                    raise BadImportFile(f"line {line}: {exc}") from None
                lines[iata] = line
    except OSError as exc:
        raise BadImportFile(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadImportFile(f"{path} is not a readable UTF-8 CSV file: {exc}") from None
    return times


def import_connection_times(uow: UnitOfWork, path: Path | str = DEFAULT_CSV) -> ConnectionTimesImport:
    known = {airport.iata for airport in Airport.select(Airport.iata)}
    times = read_connection_times(path, known)
    with uow.transaction():
        before = {c.airport: (c.same_country_minutes, c.international_minutes) for c in ConnectionTime.select()}
        removed = [code for code in before if code not in times]
        changed = {code: t for code, t in times.items() if before.get(code) != t}
        if removed:
            ConnectionTime.delete().where(ConnectionTime.airport.in_(removed)).execute()
        for code, (same, international) in changed.items():
            (ConnectionTime.insert(airport=code, same_country_minutes=same, international_minutes=international)
             .on_conflict(conflict_target=[ConnectionTime.airport],
                          preserve=[ConnectionTime.same_country_minutes, ConnectionTime.international_minutes])
             .execute())
    memo.forget(uow.database)
    added = sum(1 for code in changed if code not in before)
    return ConnectionTimesImport(read=len(times), added=added, updated=len(changed) - added,
                                 unchanged=len(times) - len(changed), removed=len(removed))
