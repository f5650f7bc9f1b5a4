"""Importing airports and schedules into the flights database (SQLite and PostgreSQL), and the CLI on top."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from flightbook.modules.flights.catalogue import airports, schedule_import, schedules
from flightbook.modules.flights.catalogue.airports import BadImportFile
from flightbook.modules.flights.models import Airport, Flight, SeatInventory
from flightbook.modules.flights.catalogue.schedules import COLUMNS
from tests.flights.builders import UOW

CODES = ("JFK", "LAX", "LHR", "CDG", "GRU", "CGH", "AES", "MUN", "MUC", "DTM", "NRT")


def write_airports(folder: Path, codes=CODES, name: str = "airports.csv") -> Path:
    """A small airports file: the named rows of the real data/airports.csv."""
    with open(airports.DEFAULT_CSV, encoding="utf-8") as fh:
        header, *lines = fh.read().splitlines()
    path = folder / name
    path.write_text("\n".join([header] + [line for line in lines if line[:3] in codes]) + "\n", encoding="utf-8")
    return path


def schedule_row(**overrides) -> dict:
    row = {"flight_number": "FB100", "airline": "Flightbook Air", "origin": "JFK", "destination": "LAX",
           "departure_local": "08:00", "duration_minutes": "360", "weekdays": "1234567", "economy_seats": "150",
           "business_seats": "20", "first_seats": "0", "economy_fare": "199.99", "business_fare": "899.50",
           "first_fare": "", "currency": "USD"}
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def write_schedule(folder: Path, rows: list[dict], name: str = "schedule.csv") -> Path:
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS + tuple(sorted({k for r in rows for k in r} - set(COLUMNS))))
        writer.writeheader()
        writer.writerows(rows)
    return path


def next_dst_change(tz: str, after: dt.date) -> dt.date:
    """The first local date after ``after`` on which the zone's UTC offset changes."""
    zone = schedules.zone(tz)
    day = after
    while True:
        day += dt.timedelta(days=1)
        before = dt.datetime.combine(day, dt.time(0), tzinfo=zone).utcoffset()
        if dt.datetime.combine(day, dt.time(23, 59), tzinfo=zone).utcoffset() != before:
            return day


@pytest.fixture
def flights_db(system, tmp_path):
    """The flights database of a fresh system, with a few real airports."""
    airports.import_airports(UOW, write_airports(tmp_path))
    return system.parts["flights"].database


def test_airport_import_is_an_idempotent_upsert(system, tmp_path):
    path = write_airports(tmp_path)
    first = airports.import_airports(UOW, path)
    assert (first.read, first.added, first.updated, first.unchanged) == (len(CODES), len(CODES), 0, 0)
    again = airports.import_airports(UOW, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(CODES))
    text = path.read_text(encoding="utf-8").replace("Zurich", "Zurich").replace("Munich,", "München,")
    path.write_text(text, encoding="utf-8")
    changed = airports.import_airports(UOW, path)
    assert (changed.added, changed.updated) == (0, 1)
    munich = Airport.get_by_id("MUC")
    assert munich.city == "München" and munich.search_text.startswith("munchen |")
    assert Airport.select().count() == len(CODES)


@pytest.mark.parametrize("bad_line, reason", [
    ("ZZZ,KZZZ,Nowhere Airport,Nowhere,US,95.0,10.0,America/New_York", "lat must be between"),
    ("ZZZ,KZZZ,Nowhere Airport,Nowhere,US,45.0,10.0,Mars/Olympus", "unknown time zone"),
    ("ZZZ,KZZZ,Nowhere Airport,Nowhere,USA,45.0,10.0,America/New_York", "country"),
    ("ZZZZ,KZZZ,Nowhere Airport,Nowhere,US,45.0,10.0,America/New_York", "iata"),
    ("ZZZ,KZZZ,Nowhere Airport,Nowhere,US,45.0", "expected 8 fields"),
    ("AES,ENAL,Again,Alesund,NO,62.0,6.0,Europe/Oslo", "duplicate iata AES (first on line 2)"),
])
def test_a_bad_airport_row_is_reported_by_line_and_nothing_is_imported(system, tmp_path, bad_line, reason):
    path = write_airports(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(4, bad_line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BadImportFile) as raised:
        airports.import_airports(UOW, path)
    assert raised.value.message.startswith("line 5: ") and reason in raised.value.message
    assert Airport.select().count() == 0


def test_flights_import_expands_the_week_with_inventory_and_reimport_changes_nothing(flights_db, tmp_path):
    start = dt.date.today() + dt.timedelta(days=10)
    path = write_schedule(tmp_path, [schedule_row(), schedule_row(flight_number="FB101", weekdays="1",
                                                                  first_seats=4, first_fare="2500.00")])
    result = schedule_import.import_flights(UOW, path, start, 14)
    assert (result.schedules, result.dated, result.added, result.existing) == (2, 16, 16, 0)
    assert Flight.select().count() == 16
    assert result.inventory_rows == SeatInventory.select().count() == 14 * 2 + 2 * 3
    assert not SeatInventory.select().join(Flight).where((Flight.flight_number == "FB100")
                                                         & (SeatInventory.cabin == "first")).exists()
    economy = SeatInventory.select().join(Flight).where(Flight.flight_number == "FB100",
                                                        SeatInventory.cabin == "economy").first()
    # 199.99 at 08:00 (115 %) in the default buckets: 60 % for 30 seats, 80 % for 38, 100 % for 37, ...
    assert (economy.capacity, economy.seats_left, economy.fare_amount, economy.currency) == (150, 150, 13799, "USD")
    assert economy.buckets == "13799:30:30 18399:38:38 22999:37:37 32199:30:30 45998:15:15"
    assert economy.next_fares == " ".join(["13799"] * 9)
    SeatInventory.update(seats_left=3).where(SeatInventory.flight == economy.flight_id,
                                              SeatInventory.cabin == "economy").execute()

    again = schedule_import.import_flights(UOW, path, start, 21)
    assert (again.dated, again.added, again.existing) == (24, 8, 16)
    assert Flight.select().count() == 24
    assert SeatInventory.get(flight=economy.flight_id, cabin="economy").seats_left == 3


def test_departures_follow_the_origin_clock_across_a_dst_change(flights_db, tmp_path):
    change = next_dst_change("America/New_York", dt.date.today() + dt.timedelta(days=1))
    path = write_schedule(tmp_path, [schedule_row(departure_local="08:00", duration_minutes=330)])
    schedule_import.import_flights(UOW, path, change - dt.timedelta(days=1), 3)
    flights = list(Flight.select().order_by(Flight.service_date))
    offsets = [schedules.zone("America/New_York").utcoffset(dt.datetime.combine(f.service_date, dt.time(8)))
               for f in flights]
    assert offsets[0] != offsets[2]
    for flight, offset in zip(flights, offsets):
        departs_at = flight.departs_at if isinstance(flight.departs_at, dt.datetime) \
            else dt.datetime.fromisoformat(flight.departs_at)
        assert departs_at == dt.datetime.combine(flight.service_date, dt.time(8)) - offset
        arrives_at = flight.arrives_at if isinstance(flight.arrives_at, dt.datetime) \
            else dt.datetime.fromisoformat(flight.arrives_at)
        assert arrives_at - departs_at == dt.timedelta(minutes=330)


@pytest.mark.parametrize("overrides, reason", [
    ({"origin": "XXX"}, "origin 'XXX' is not a known airport"),
    ({"destination": "JFK"}, "same airport"),
    ({"economy_fare": "19.999"}, "economy_fare is not a valid USD amount"),
    ({"weekdays": "1238"}, "weekdays"),
    ({"departure_local": "24:00"}, "departure_local"),
    ({"economy_seats": "0", "business_seats": "0"}, "at least one cabin"),
    ({"flight_number": "FB100"}, "duplicate flight_number FB100 (first on line 2)"),
])
def test_a_bad_schedule_row_is_reported_by_line_and_nothing_is_imported(flights_db, tmp_path, overrides, reason):
    rows = [schedule_row(), schedule_row(flight_number="FB200"), schedule_row(**{"flight_number": "FB300", **overrides})]
    path = write_schedule(tmp_path, rows)
    with pytest.raises(BadImportFile) as raised:
        schedule_import.import_flights(UOW, path, dt.date.today(), 7)
    assert raised.value.message.startswith("line 4: ") and reason in raised.value.message
    assert Flight.select().count() == 0 and SeatInventory.select().count() == 0


@pytest.fixture
def cli_env(env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_cli_import_commands_print_a_summary_or_fail_with_the_line(system, cli_env, tmp_path):
    runner = CliRunner()
    bad = write_airports(tmp_path, name="bad.csv")
    bad.write_text(bad.read_text(encoding="utf-8") + "QQQ,,No Zone,Nowhere,US,1,1,Nowhere/Zone\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["import-airports", str(bad)])
    assert result.exit_code != 0
    assert f"line {len(CODES) + 2}: unknown time zone" in result.output and "nothing imported" in result.output

    result = runner.invoke(cli.app, ["import-airports", str(write_airports(tmp_path))])
    assert result.exit_code == 0, result.output
    assert f"airports: {len(CODES)} read, {len(CODES)} added" in result.output

    schedule = write_schedule(tmp_path, [schedule_row()])
    start = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    result = runner.invoke(cli.app, ["import-flights", str(schedule), "--start", start, "--days", "5"])
    assert result.exit_code == 0, result.output
    assert "5 dated flights, 5 added, 0 already there" in result.output
    result = runner.invoke(cli.app, ["import-flights", str(schedule), "--start", "tomorrow", "--days", "5"])
    assert result.exit_code != 0 and "--start is not a date" in result.output


def test_generated_schedule_is_deterministic_and_imports(system, cli_env, tmp_path):
    runner = CliRunner()
    outs = [tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"]
    for out, seed in zip(outs, (7, 7, 8)):
        result = runner.invoke(cli.app, ["generate-schedule", "--airports", "12", "--out", str(out), "--seed", str(seed)])
        assert result.exit_code == 0, result.output
    assert outs[0].read_bytes() == outs[1].read_bytes() != outs[2].read_bytes()
    airports.import_airports(UOW, airports.DEFAULT_CSV)
    result = schedule_import.import_flights(UOW, outs[0], dt.date.today(), 2)
    assert result.added == result.dated > 0


def test_a_schedule_row_may_bring_its_own_buckets_and_a_rules_file_its_own_defaults(flights_db, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('buckets = "50:50 150:50"\ntime_of_day = [[0, 100]]\n', encoding="utf-8")
    start = dt.date.today() + dt.timedelta(days=10)
    path = write_schedule(tmp_path, [schedule_row(economy_seats="5", business_seats="0", business_fare=""),
                                     schedule_row(flight_number="FB101", economy_seats="4", business_seats="0",
                                                  business_fare="", fare_buckets="100:25 300:75")])
    schedule_import.import_flights(UOW, path, start, 2, fare_rules=rules)
    rows = {i.flight.flight_number: i for i in SeatInventory.select(SeatInventory, Flight).join(Flight)}
    assert (rows["FB100"].fare_amount, rows["FB100"].buckets, rows["FB100"].next_fares) == \
        (10000, "10000:3:3 29999:2:2", "10000 10000 10000 29999 29999")  # 2.5 seats each: the cheaper gets 3
    assert (rows["FB101"].fare_amount, rows["FB101"].buckets) == (19999, "19999:1:1 59997:3:3")


@pytest.mark.parametrize("rules_text, reason", [
    ('buckets = "60:20 80:20"', "add up to 100"),
    ('buckets = "80:50 60:50"', "cheapest first"),
    ("time_of_day = [[6, 100]]", "start at hour 0"),
    ("surge = 3", "unknown setting"),
    ("buckets = ", "not valid TOML"),
])
def test_a_bad_rules_file_is_refused_and_nothing_is_imported(flights_db, tmp_path, rules_text, reason):
    rules = tmp_path / "rules.toml"
    rules.write_text(rules_text + "\n", encoding="utf-8")
    with pytest.raises(BadImportFile) as raised:
        schedule_import.import_flights(UOW, write_schedule(tmp_path, [schedule_row()]), dt.date.today(), 2,
                                       fare_rules=rules)
    assert reason in raised.value.message
    assert Flight.select().count() == 0


def test_a_bad_fare_buckets_cell_names_its_line(flights_db, tmp_path):
    path = write_schedule(tmp_path, [schedule_row(), schedule_row(flight_number="FB101", fare_buckets="60:50")])
    with pytest.raises(BadImportFile) as raised:
        schedule_import.import_flights(UOW, path, dt.date.today(), 2)
    assert raised.value.message.startswith("line 3: fare_buckets: the buckets' shares must add up to 100")
