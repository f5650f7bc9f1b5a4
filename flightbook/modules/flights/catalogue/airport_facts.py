"""Airports as searches and bookings need them: time zone, country, position and own connection times
(kept in memory for a while, see memo.py)."""
from __future__ import annotations

from typing import Iterable

from flightbook.modules.flights.catalogue import memo
from flightbook.modules.flights.catalogue.connections import AirportFacts

_FACTS = """SELECT a.iata, a.tz, a.country, a.lat, a.lon, c.same_country_minutes, c.international_minutes
FROM airport a LEFT JOIN connection_time c ON c.airport = a.iata WHERE a.iata IN ({codes})"""


def facts_for(database, codes: Iterable[str]) -> dict[str, AirportFacts]:
    """The facts of each of ``codes`` that is a known airport (unknown codes are left out)."""
    found, missing = {}, []
    for code in codes:
        facts = memo.recall(database, ("airport", code))
        if facts is None:
            missing.append(code)
        else:
            found[code] = facts
    if missing:
        missing = sorted(set(missing))
        sql = _FACTS.replace("{codes}", ", ".join([database.param] * len(missing)))
        for row in database.execute_sql(sql, missing).fetchall():
            facts = AirportFacts(*row)
            memo.keep(database, ("airport", facts.iata), facts)
            found[facts.iata] = facts
    return found
