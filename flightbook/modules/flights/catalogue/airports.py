"""Importing airports from a CSV (data/airports.csv by default): upsert by IATA code, all or nothing."""
from __future__ import annotations

import csv
import re
import zoneinfo
from dataclasses import dataclass, fields
from pathlib import Path

from peewee import chunked

from flightbook import ROOT
from flightbook.contracts.flights import AirportImport, Progress
from flightbook.kernel.errors import DomainError
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import memo
from flightbook.modules.flights.catalogue.places import search_text_for
from flightbook.modules.flights.models import Airport

DEFAULT_CSV = ROOT / "data" / "airports.csv"
REQUIRED_COLUMNS = ("iata", "icao", "name", "city", "country", "lat", "lon", "tz")
_IATA = re.compile(r"^[A-Z0-9]{3}$")
_ICAO = re.compile(r"^[A-Z0-9]{0,4}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class BadImportFile(DomainError):
    """A malformed file or row; the message starts with the line number when there is one."""
    code = "bad_import_file"


@dataclass(frozen=True)
class AirportRow:
    iata: str
    icao: str
    name: str
    city: str
    country: str
    lat: float
    lon: float
    tz: str
    search_text: str


def _coordinate(raw: str, column: str, limit: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{column} is not a number: {raw!r}") from None
    if not -limit <= value <= limit:
        raise ValueError(f"{column} must be between -{limit:g} and {limit:g}: {raw!r}")
    return value


def parse_airport(record: dict) -> AirportRow:
    """One CSV record -> AirportRow; ValueError with the reason when a value is unusable."""
    iata, icao = record["iata"].strip().upper(), record["icao"].strip().upper()
    name, city, country, tz = (record[c].strip() for c in ("name", "city", "country", "tz"))
    if not _IATA.match(iata):
        raise ValueError(f"iata must be 3 letters or digits: {record['iata']!r}")
    if not _ICAO.match(icao):
        raise ValueError(f"icao must be up to 4 letters or digits: {record['icao']!r}")
    if not name or len(name) > 200:
        raise ValueError("name is required (at most 200 characters)")
    if len(city) > 100:
        raise ValueError("city must be at most 100 characters")
    if not _COUNTRY.match(country):
        raise ValueError(f"country must be an ISO 3166 two-letter code: {country!r}")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None
    return AirportRow(iata=iata, icao=icao, name=name, city=city, country=country,
                      lat=_coordinate(record["lat"], "lat", 90), lon=_coordinate(record["lon"], "lon", 180),
                      tz=tz, search_text=search_text_for(iata, city, name, country))


def read_airports(path: Path | str) -> list[AirportRow]:
    """Every row of the file, or BadImportFile naming the first bad line."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise BadImportFile(f"line 1: missing column(s) {', '.join(missing)}")
            return _rows(reader)
    except OSError as exc:
        raise BadImportFile(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadImportFile(f"{path} is not a readable UTF-8 CSV file: {exc}") from None


def _rows(reader: csv.DictReader) -> list[AirportRow]:
    rows: list[AirportRow] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record or any(v is None for v in record.values()):
            raise BadImportFile(f"line {line}: expected {len(reader.fieldnames or ())} fields")
        try:
            row = parse_airport(record)
        except ValueError as exc:
            raise BadImportFile(f"line {line}: {exc}") from None
        if row.iata in seen:
            raise BadImportFile(f"line {line}: duplicate iata {row.iata} (first on line {seen[row.iata]})")
        seen[row.iata] = line
        rows.append(row)
    if not rows:
        raise BadImportFile("the file has no airports")
    return rows


def _as_row(airport: Airport) -> AirportRow:
    return AirportRow(**{f.name: getattr(airport, f.name) for f in fields(AirportRow)})


def import_airports(uow: UnitOfWork, path: Path | str = DEFAULT_CSV, progress: Progress | None = None,
                    chunk_size: int = 500) -> AirportImport:
    """Upsert the file's airports by IATA code in one transaction; rows that did not change are not written."""
    rows = read_airports(path)
    with uow.transaction():
        existing = {a.iata: _as_row(a) for a in Airport.select()}
        changed = [r for r in rows if existing.get(r.iata) != r]
        columns = [f.name for f in fields(AirportRow)]
        done = len(rows) - len(changed)
        progress and progress(done, len(rows))
        for batch in chunked(changed, chunk_size):
            (Airport.insert_many([[getattr(r, c) for c in columns] for r in batch],
                                 fields=[getattr(Airport, c) for c in columns])
             .on_conflict(conflict_target=[Airport.iata], preserve=[getattr(Airport, c) for c in columns[1:]])
             .execute())
            done += len(batch)
            progress and progress(done, len(rows))
    memo.forget(uow.database)
    added = sum(1 for r in changed if r.iata not in existing)
    return AirportImport(read=len(rows), added=added, updated=len(changed) - added, unchanged=len(rows) - len(changed))
