"""Itinerary ids: a journey's flight ids in flying order joined by "-" ("812" for a direct flight,
"812-4471" for one connection). Safe in a URL or a form, the same for the same legs, and readable back into
legs; it proves nothing, so booking checks the connection rules again (see booking/checks.py)."""
from __future__ import annotations

import re

from flightbook.contracts.flights import MAX_STOPS, InvalidItinerary

MAX_FLIGHT_ID = 2 ** 63 - 1
_ID = re.compile(rf"^[1-9][0-9]{{0,18}}(-[1-9][0-9]{{0,18}}){{0,{MAX_STOPS}}}$")


def itinerary_id(flight_ids) -> str:
    return "-".join(str(flight_id) for flight_id in flight_ids)


def flight_ids(value, field: str) -> list[int]:
    """The flight ids an itinerary id names, in flying order; InvalidItinerary (400) when it names none."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _ID.match(text):
        raise InvalidItinerary(field, f"is not an itinerary id from a search (1 to {MAX_STOPS + 1} flight ids "
                                      f"joined by '-'): {str(value)[:40]!r}")
    ids = [int(part) for part in text.split("-")]
    if any(flight_id > MAX_FLIGHT_ID for flight_id in ids):
        raise InvalidItinerary(field, "names a flight id out of range")
    if len(set(ids)) != len(ids):
        raise InvalidItinerary(field, "names a flight twice")
    return ids
