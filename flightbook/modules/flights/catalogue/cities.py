"""``flightbook import-cities``: metropolitan areas (data/cities.csv: IATA city code, name, country, its airports)
and the local names places are also found by (data/city_aliases.csv: alias, city or airport code). Both files are
the whole lists: they replace what was there, all or nothing. A city keeps only its airports that are known; one
left with fewer than two is not a city worth searching as such and is skipped (counted in the result)."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterator

from flightbook import ROOT
from flightbook.contracts.flights import CityImport
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import memo
from flightbook.modules.flights.catalogue.airports import BadImportFile
from flightbook.modules.flights.catalogue.places import normalize
from flightbook.modules.flights.models import Airport, City, PlaceAlias

DEFAULT_CSV = ROOT / "data" / "cities.csv"
DEFAULT_ALIASES_CSV = ROOT / "data" / "city_aliases.csv"
_CODE = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _records(path: Path | str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise BadImportFile(f"{path}: line 1: missing column(s) {', '.join(missing)}")
            for record in reader:
                if None in record or any(v is None for v in record.values()):
                    raise BadImportFile(f"{path}: line {reader.line_num}: expected {len(reader.fieldnames or ())} "
                                        "fields")
                yield reader.line_num, {k: (v or "").strip() for k, v in record.items()}
    except OSError as exc:
        raise BadImportFile(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadImportFile(f"{path} is not a readable UTF-8 CSV file: {exc}") from None


def read_cities(path: Path | str, known: set[str]) -> tuple[dict[str, dict], int]:
    """code -> {name, country, airports (the known ones)}, and how many cities were skipped."""
    cities: dict[str, dict] = {}
    skipped = 0
    for line, record in _records(path, ("code", "name", "country", "airports")):
        code, name, country = record["code"].upper(), record["name"], record["country"].upper()
        where = f"{path}: line {line}"
        if not _CODE.match(code):
            raise BadImportFile(f"{where}: code must be 3 letters: {record['code']!r}")
        if code in known:
            raise BadImportFile(f"{where}: {code} is an airport's code; a city needs a code of its own")
        if code in cities:
            raise BadImportFile(f"{where}: duplicate code {code}")
        if not name or len(name) > 100:
            raise BadImportFile(f"{where}: name is required (at most 100 characters)")
        if not _COUNTRY.match(country):
            raise BadImportFile(f"{where}: country must be an ISO 3166 two-letter code: {country!r}")
        airports = [a for a in dict.fromkeys(record["airports"].upper().split()) if a in known]
        if len(airports) < 2:
            skipped += 1
            continue
        cities[code] = {"name": name, "country": country, "airports": " ".join(airports)}
    return cities, skipped


def read_aliases(path: Path | str, codes: set[str]) -> dict[tuple[str, str], str]:
    """(code, normalised alias) -> alias, for the aliases of a known city or airport."""
    aliases: dict[tuple[str, str], str] = {}
    for line, record in _records(path, ("alias", "code")):
        alias, code = record["alias"], record["code"].upper()
        if not alias or len(alias) > 100:
            raise BadImportFile(f"{path}: line {line}: alias is required (at most 100 characters)")
        if code in codes:
            aliases[(code, normalize(alias))] = alias
    return aliases


def city_search_text(code: str, name: str, country: str) -> str:
    return normalize(f"{name} | {country} | {code}")[:400]


def import_cities(uow: UnitOfWork, path: Path | str = DEFAULT_CSV,
                  aliases_path: Path | str = DEFAULT_ALIASES_CSV) -> CityImport:
    known = {airport.iata for airport in Airport.select(Airport.iata)}
    cities, skipped = read_cities(path, known)
    aliases = read_aliases(aliases_path, known | set(cities))
    with uow.transaction():
        City.delete().execute()
        PlaceAlias.delete().execute()
        if cities:
            City.insert_many([{"code": code, **city, "search_text": city_search_text(code, city["name"],
                                                                                     city["country"])}
                              for code, city in cities.items()]).execute()
        if aliases:
            PlaceAlias.insert_many([{"code": code, "search_text": text, "name": alias}
                                    for (code, text), alias in aliases.items()]).execute()
    memo.forget(uow.database)
    return CityImport(cities=len(cities), skipped=skipped, aliases=len(aliases))
