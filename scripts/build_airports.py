"""Build data/airports.csv from the airportsdata package: every airport with an IATA code.

Usage: python scripts/build_airports.py [OUT]   (default data/airports.csv)
"""
from __future__ import annotations

import csv
import sys
import zoneinfo
from pathlib import Path

import airportsdata

COLUMNS = ("iata", "icao", "name", "city", "country", "lat", "lon", "tz")


def airport_rows():
    zones = zoneinfo.available_timezones()
    for iata, a in sorted(airportsdata.load("IATA").items()):
        if len(iata) != 3 or a["tz"] not in zones:  # an airport we could not show local times for is no use
            continue
        icao = a["icao"] if a["icao"] and not a["icao"].startswith("_") else ""  # '_XYZ' stands for "none"
        yield {"iata": iata, "icao": icao, "name": a["name"].strip(), "city": (a["city"] or "").strip(),
               "country": a["country"], "lat": f"{a['lat']:.6f}", "lon": f"{a['lon']:.6f}", "tz": a["tz"]}


def main(out: str = "data/airports.csv") -> int:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in airport_rows():
            writer.writerow(row)
            count += 1
    print(f"wrote {count} airports to {path} (airportsdata {airportsdata.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
