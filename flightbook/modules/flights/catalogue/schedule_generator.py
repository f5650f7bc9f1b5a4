"""A generator of realistic weekly schedules from the airport data (``flightbook generate-schedule``)."""
from __future__ import annotations

import csv
import random
from pathlib import Path

from flightbook.contracts.flights import CABINS
from flightbook.kernel.errors import ValidationError
from flightbook.modules.flights.catalogue.schedules import COLUMNS, block_minutes, great_circle_km

# Busiest airports by passengers (roughly, recent years), most first: the generator's idea of "large".
# Airports beyond this list are taken from the other "International" airports in IATA order.
MAJOR_HUBS = (
    "ATL DXB DFW LHR HND DEN IST LAX ORD DEL CDG JFK CAN AMS FRA PVG PEK ICN MAD SIN LAS BKK CLT MIA SEA "
    "SFO EWR MCO PHX IAH CGK BOM SZX KUL MEX GRU DOH FCO BCN MUC JED SYD YYZ CTU LGW MNL BOS MSP SVO HKG "
    "NRT DTW ORY PMI RUH SAW PHL SHA BLR DME CKG CUN LGA KMG AYT XIY BOG FLL DUB BWI ZRH CPH HGH SLC VIE "
    "IAD MDW SAN OSL ARN DCA TPA MEL YVR BNE LIS AUH TLV HEL BRU GIG LIM SCL EZE JNB CAI NBO ADD LOS CMN "
    "ATH WAW PRG BUD TPE KIX BER HAN SGN CCU MAA HYD KHI ISB DMM KWI MCT BAH AKL PER YUL YYC HNL ANC SJU "
    "PTY BSB CPT DUR ACC DSS ALG TUN").split()
# A fictional carrier per country of the route's larger airport; two-character codes are unique.
AIRLINES = {
    "US": ("Liberty Air", "LY"), "CA": ("Maple Airways", "MP"), "MX": ("Aerosol Mexicana", "AX"),
    "BR": ("Cruzeiro Linhas Aéreas", "CZ"), "AR": ("Pampa Air", "PA"), "GB": ("Albion Airways", "AB"),
    "FR": ("Air Hexagone", "HX"), "DE": ("Adler Luft", "AD"), "NL": ("Polder Air", "PD"),
    "ES": ("Iberiana", "IB"), "IT": ("Aquila Italia", "AQ"), "TR": ("Anadolu Hava", "AN"),
    "AE": ("Falcon Gulf", "FG"), "QA": ("Pearl Airways", "PR"), "SA": ("Nakheel Air", "NK"),
    "IN": ("Garuda Bharat", "GB"), "CN": ("Dragon Air China", "DC"), "JP": ("Sakura Airlines", "SK"),
    "KR": ("Hanbit Air", "HB"), "SG": ("Merlion Airways", "ML"), "TH": ("Siam Sky", "SS"),
    "AU": ("Southern Cross Airways", "SX"), "ZA": ("Protea Air", "PT"), "RU": ("Aeroflot Vostok", "AV"),
    "ID": ("Nusantara Air", "NS"), "MY": ("Harimau Air", "HR"), "EG": ("Nile Wings", "NW"),
}
DEFAULT_AIRLINE = ("Flightbook Connect", "FC")
MIN_ROUTE_KM, MAX_ROUTE_KM = 150, 15_000


def pick_airports(airports: list, count: int) -> list:
    """The ``count`` largest airports: the hub list first, then other international airports."""
    by_code = {a.iata: a for a in airports}
    chosen = [by_code[code] for code in MAJOR_HUBS if code in by_code][:count]
    if len(chosen) < count:
        taken = {a.iata for a in chosen}
        others = sorted((a for a in airports if a.iata not in taken and a.icao and "international" in a.name.lower()),
                        key=lambda a: a.iata)
        chosen += others[:count - len(chosen)]
    return chosen


def _weight(rank: int) -> float:
    return 1.0 / (1 + rank / 8)


def _routes(chosen: list, rng: random.Random):
    """(from_rank, to_rank, distance, daily flights, weekdays) for each route, both directions."""
    linked: set[tuple[int, int]] = set()
    hubs = range(min(20, len(chosen)))
    for i, a in enumerate(chosen):
        nearest_hubs = sorted((great_circle_km(a.lat, a.lon, chosen[h].lat, chosen[h].lon), h) for h in hubs if h != i)
        linked.update((min(i, h), max(i, h)) for km, h in nearest_hubs[:2] if km >= MIN_ROUTE_KM)
        for j in range(i + 1, len(chosen)):
            if rng.random() < 4 * _weight(i) * _weight(j):
                linked.add((i, j))
    for i, j in sorted(linked):
        a, b = chosen[i], chosen[j]
        km = great_circle_km(a.lat, a.lon, b.lat, b.lon)
        if not MIN_ROUTE_KM <= km <= MAX_ROUTE_KM:
            continue
        strength = 4 * _weight(i) * _weight(j)
        daily = 1 if km > 6000 else min(4, 1 + int(3 * strength))
        weekdays = "1234567" if strength >= 0.3 or rng.random() < 0.5 else rng.choice(("12345", "1357", "2467", "67"))
        yield i, j, km, daily, weekdays
        yield j, i, km, daily, weekdays


def _cabin_plan(km: float, is_premium: bool, rng: random.Random) -> dict:
    economy = (39 + 0.11 * km) * rng.uniform(0.85, 1.2)
    seats = (156, 12, 0) if km < 1500 else (186, 24, 0) if km < 5000 else (264, 42, 8 if is_premium else 0)
    fares = (economy, economy * (2.2 if km < 1500 else 3.2), economy * 6)
    return {c: (s, f"{max(1, round(f)) - 0.01:.2f}" if s else "") for c, s, f in zip(CABINS, seats, fares)}


def generate_schedule(airports: list, count: int, seed: int = 1) -> list[dict]:
    """A weekly schedule between the ``count`` largest airports: great-circle distance gives the duration
    and fares; the busiest pairs get several flights a day. Same airports and seed, same schedule."""
    if count < 2:
        raise ValidationError("airports", "need at least 2 airports")
    rng = random.Random(seed)
    chosen = pick_airports(airports, count)
    if len(chosen) < count:
        raise ValidationError("airports", f"only {len(chosen)} suitable airports are known")
    numbers: dict[str, int] = {}
    rows = []
    for i, j, km, daily, weekdays in _routes(chosen, rng):
        origin, destination = chosen[i], chosen[j]
        name, code = AIRLINES.get(chosen[min(i, j)].country, DEFAULT_AIRLINE)
        cabins = _cabin_plan(km, i < 40 and j < 40, rng)
        gap = 16 * 60 // daily
        first_departure = 6 * 60 + rng.randrange(0, gap, 5)
        for k in range(daily):
            numbers[code] = numbers.get(code, 99) + 1
            minutes = first_departure + k * gap
            rows.append({"flight_number": f"{code}{numbers[code]}", "airline": name, "origin": origin.iata,
                         "destination": destination.iata, "departure_local": f"{minutes // 60:02d}:{minutes % 60:02d}",
                         "duration_minutes": block_minutes(km), "weekdays": weekdays,
                         **{f"{c}_seats": cabins[c][0] for c in CABINS},
                         **{f"{c}_fare": cabins[c][1] for c in CABINS}, "currency": "USD"})
    return rows


def write_schedule(rows: list[dict], out: Path | str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
