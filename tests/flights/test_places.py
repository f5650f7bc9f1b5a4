"""Finding airports: ranking, accents and case, and the HTTP endpoint's validation."""
from __future__ import annotations

import pytest

import datetime as dt

from flightbook.kernel.errors import ValidationError
from flightbook.modules.flights.catalogue import airports, places, schedule_import
from tests.flights.builders import UOW
from tests.flights.test_import import schedule_row, write_airports, write_schedule


@pytest.fixture
def known_airports(system, tmp_path):
    airports.import_airports(UOW, write_airports(tmp_path))


def codes(found) -> list[str]:
    return [p.iata for p in found]


def test_exact_code_comes_first_then_city_prefix_then_the_rest(known_airports):
    # MUN is Maturin's code; MUC is in Munich (city prefix); Dortmund merely contains "mun"
    assert codes(places.search_places("mun", 10)) == ["MUN", "MUC", "DTM"]


def test_search_ignores_case_and_accents(known_airports):
    assert codes(places.search_places("são paulo", 10)) == ["CGH", "GRU"]
    assert codes(places.search_places("SAO", 10)) == ["CGH", "GRU"]
    assert codes(places.search_places("alesund", 10)) == codes(places.search_places("ÅLESUND", 10)) == ["AES"]


def test_search_matches_airport_name_and_country(known_airports):
    assert codes(places.search_places("heathrow", 10)) == ["LHR"]
    assert set(codes(places.search_places("br", 10))) >= {"GRU", "CGH"}


def test_limit_caps_the_places(known_airports):
    assert len(places.search_places("a", 3)) == 3


@pytest.mark.parametrize("q, limit, field", [("", 10, "q"), ("   ", 10, "q"), ("x" * 101, 10, "q"),
                                             ("paris", 0, "limit"), ("paris", 51, "limit")])
def test_bad_queries_are_rejected_naming_the_field(known_airports, q, limit, field):
    with pytest.raises(ValidationError) as raised:
        places.search_places(q, limit)
    assert raised.value.field == field


def test_http_place_search(api, known_airports):
    resp = api.get("/api/places/search", params={"q": "Sao", "limit": "5"})
    assert resp.status_code == 200
    assert [p["iata"] for p in resp.json["places"]] == ["CGH", "GRU"]
    assert resp.json["places"][0] == {"iata": "CGH", "icao": "SBSP", "name": "Congonhas Airport", "city": "Sao Paulo",
                                      "country": "BR", "lat": -23.62611, "lon": -46.65639, "tz": "America/Sao_Paulo",
                                      "kind": "airport", "airports": []}
    for params in ({"q": ""}, {"q": "x" * 101}, {"q": "paris", "limit": "0"}, {"q": "paris", "limit": "51"},
                   {"q": "paris", "limit": "ten"}, {}):
        resp = api.get("/api/places/search", params=params)
        assert resp.status_code == 400, params
        assert set(resp.json["error"]) >= {"code", "message"}


def test_the_real_airport_file_finds_sao_paulo(system):
    airports.import_airports(UOW, airports.DEFAULT_CSV)
    found = codes(places.search_places("sao paulo", 20))
    assert {"GRU", "CGH"} <= set(found)
    assert codes(places.search_places("jfk", 5))[0] == "JFK"


def test_airports_that_flights_serve_come_first_among_equal_matches(system, tmp_path):
    # 'sao' is a city prefix of some forty airports; alphabetically São Paulo's are far past the first ten
    airports.import_airports(UOW, airports.DEFAULT_CSV)
    assert not {"GRU", "CGH"} & set(codes(places.search_places("sao", 10)))
    schedule_import.import_flights(UOW, write_schedule(tmp_path, [
        schedule_row(flight_number="FB1", origin="JFK", destination="GRU"),
        schedule_row(flight_number="FB2", origin="CGH", destination="JFK")]), dt.date.today(), 2)
    found = codes(places.search_places("sao", 10))
    assert found[:2] == ["CGH", "GRU"]  # served first, then as before
    assert codes(places.search_places("jfk", 5))[0] == "JFK"  # an exact code still beats everything
    airports.import_airports(UOW, airports.DEFAULT_CSV)  # a re-import of airports keeps what flights serve
    assert codes(places.search_places("sao", 10))[:2] == ["CGH", "GRU"]
