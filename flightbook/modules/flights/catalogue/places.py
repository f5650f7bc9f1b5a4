"""Places: finding airports by code, city, name or country, whatever the case and accents."""
from __future__ import annotations

import unicodedata

import peewee as pw

from flightbook.contracts.flights import Place
from flightbook.kernel.errors import ValidationError
from flightbook.modules.flights.models import Airport

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
    """Exact code first, then city prefix, then the rest (name, city or country contains the text); within
    each, airports that flights serve before the others, then alphabetically."""
    needle, limit = _validated(q, limit)
    code = needle.upper()
    rank = pw.Case(None, [(Airport.iata == code, 0), (Airport.search_text.startswith(needle), 1)], 2)
    matches = (Airport.select()
               .where((Airport.iata == code) | Airport.search_text.contains(needle))
               .order_by(rank, Airport.served.desc(), Airport.search_text, Airport.iata)
               .limit(limit))
    return [to_place(a) for a in matches]
