"""The dataclass <-> JSON converter and the JSON handler every part answers with."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Optional

import falcon
import falcon.testing

from flightbook.kernel import clock, data
from flightbook.kernel.http import install_json, new_request_id
from flightbook.kernel.money import Money


class Colour:
    """Not a JSON type, nor a dataclass: passed through as it is."""


@dataclasses.dataclass(frozen=True)
class Leg:
    code: str
    price: Money
    departs_at: dt.datetime
    on: dt.date
    note: Optional[str] = None
    seats: int | None = None
    stops: list[str] = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Trip:
    legs: list[Leg]
    lead: Leg | None
    mislabelled: str = ""  # hinted str, holds a date: must still come out as text


def test_to_dict_converts_nested_dataclasses_dates_and_optionals_and_round_trips():
    departs = dt.datetime(2026, 12, 1, 17, 5, tzinfo=clock.UTC)
    leg = Leg("JFK", Money(12345, "USD"), departs, dt.date(2026, 12, 1), stops=["BOS"], extra={"k": [departs]})
    trip = Trip(legs=[leg, dataclasses.replace(leg, note="window", seats=3)], lead=None,
                mislabelled=dt.date(2026, 1, 2))
    out = data.to_dict(trip)
    assert out == {
        "legs": [
            {"code": "JFK", "price": {"amount": 12345, "currency": "USD"}, "departs_at": "2026-12-01T17:05:00Z",
             "on": "2026-12-01", "note": None, "seats": None, "stops": ["BOS"],
             "extra": {"k": ["2026-12-01T17:05:00Z"]}},
            {"code": "JFK", "price": {"amount": 12345, "currency": "USD"}, "departs_at": "2026-12-01T17:05:00Z",
             "on": "2026-12-01", "note": "window", "seats": 3, "stops": ["BOS"],
             "extra": {"k": ["2026-12-01T17:05:00Z"]}},
        ],
        "lead": None,
        "mislabelled": "2026-01-02",
    }
    assert data.from_dict(Leg, out["legs"][1]) == dataclasses.replace(leg, note="window", seats=3,
                                                                      extra={"k": ["2026-12-01T17:05:00Z"]})


def test_iso_is_utc_with_a_z_whatever_the_zone_and_drops_microseconds():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert clock.iso(dt.datetime(2026, 3, 1, 10, 0, 0, 999, tzinfo=plus_two)) == "2026-03-01T08:00:00Z"
    assert clock.iso(dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=clock.UTC)) == "2026-03-01T10:00:00Z"
    assert clock.iso(None) is None


class _Echo:
    def on_post(self, req, resp):
        resp.media = {"got": req.get_media(), "big": 2 ** 70, 1: "non-str key", "text": "São Paulo"}


def test_json_answers_fall_back_to_the_standard_library_for_what_orjson_refuses():
    app = falcon.App()
    install_json(app)
    app.add_route("/echo", _Echo())
    client = falcon.testing.TestClient(app)
    result = client.simulate_post("/echo", body=json.dumps({"a": [1, 2.5, None, True]}),
                                  content_type="application/json")
    assert result.status_code == 200
    assert json.loads(result.text) == {"got": {"a": [1, 2.5, None, True]}, "big": 2 ** 70, "1": "non-str key",
                                       "text": "São Paulo"}
    bad = client.simulate_post("/echo", body="{not json", content_type="application/json")
    assert bad.status_code == 400


def test_request_ids_are_32_hex_digits_and_differ():
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
