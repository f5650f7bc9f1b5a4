"""Places: finding cities (metropolitan areas) and airports by code, name, country or a local name, whatever the
case and accents."""
from __future__ import annotations

import unicodedata

import peewee as pw

from flightbook.contracts.flights import Place
from flightbook.kernel.errors import ValidationError
from flightbook.modules.flights.catalogue import memo
from flightbook.modules.flights.models import Airport, City, PlaceAlias

MAX_QUERY = 100
MAX_LIMIT = 50


def normalize(text: str) -> str:
    """Lower-case, accents stripped, runs of blanks collapsed: 'São  Paulo' -> 'sao paulo'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def search_text_for(iata: str, city: str, name: str, country: str) -> str:
    """What places are searched in; the city comes first so a city prefix is a prefix of the text."""
    return normalize(f"{city} | {name} | {country} | {iata}")[:400]


def to_place(airport: Airport) -> Place:
    return Place(iata=airport.iata, icao=airport.icao, name=airport.name, city=airport.city,
                 country=airport.country, lat=airport.lat, lon=airport.lon, tz=airport.tz)


def _validated(q: str, limit: int) -> tuple[str, int]:
    needle = normalize(q if isinstance(q, str) else "")
    if not needle:
        raise ValidationError("q", "type at least one letter")
    if len(needle) > MAX_QUERY:
        raise ValidationError("q", f"must be at most {MAX_QUERY} characters")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return needle, limit


def search_places(q: str, limit: int = 10) -> list[Place]:
    """Exact code first, then a name (or local name) starting with the text, then the rest (name, city, country
    or local name contains the text); within each, a city before its airports, airports that flights serve before
    the others, then alphabetically."""
    needle, limit = _validated(q, limit)
    code = needle.upper()
    named = PlaceAlias.select(PlaceAlias.code).where(PlaceAlias.search_text.contains(needle))
    named_first = PlaceAlias.select(PlaceAlias.code).where(PlaceAlias.search_text.startswith(needle))
    city_rank = _rank(City.code, City.search_text, code, needle, named_first)
    cities = (City.select(City, city_rank.alias("rank"))
              .where((City.code == code) | City.search_text.contains(needle) | City.code.in_(named))
              .order_by(city_rank, City.search_text)
              .limit(limit))
    rank = _rank(Airport.iata, Airport.search_text, code, needle, named_first)
    airports = (Airport.select(Airport, rank.alias("rank"))
                .where((Airport.iata == code) | Airport.search_text.contains(needle) | Airport.iata.in_(named))
                .order_by(rank, Airport.served.desc(), Airport.search_text, Airport.iata)
                .limit(limit))
    # (rank, a city before an airport, each query's own order)
    found = [(getattr(c, "rank"), 0, i, city_place(c)) for i, c in enumerate(cities)]
    found += [(getattr(a, "rank"), 1, i, to_place(a)) for i, a in enumerate(airports)]
    return [place for *_, place in sorted(found, key=lambda entry: entry[:3])][:limit]


def _rank(code_column, text_column, code: str, needle: str, named_first):
    return pw.Case(None, [(code_column == code, 0), (text_column.startswith(needle), 1),
                          (code_column.in_(named_first), 1)], 2)


def city_place(city: City) -> Place:
    """A city as a place: its position and time zone are its first airport's."""
    codes = city.airports.split()
    first = Airport.get_or_none(Airport.iata == codes[0])
    return Place(iata=city.code, icao="", name="All airports", city=city.name, country=city.country,
                 lat=first.lat if first else 0.0, lon=first.lon if first else 0.0, tz=first.tz if first else "UTC",
                 kind="city", airports=codes)


def cities(database) -> dict[str, tuple[str, ...]]:
    """City code -> its airports, main first: the whole (short) list, kept in memory a while like airports, so a
    search asks the database nothing more for it."""
    found = memo.recall(database, ("cities",))
    if found is None:
        found = {city.code: tuple(city.airports.split()) for city in City.select(City.code, City.airports)}
        memo.keep(database, ("cities",), found)
    return found


def areas(database) -> dict[str, str]:
    """Airport code -> its metropolitan area's code, for the airports that have one."""
    return {airport: code for code, airports in cities(database).items() for airport in airports}


def same_place(database, a: str, b: str) -> bool:
    """Whether two airports are one place for a traveller: the same airport, or two of one city's."""
    found = areas(database)
    return a == b or (a in found and found.get(a) == found.get(b))
