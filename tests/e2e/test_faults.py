"""Four services, one of them failing: the journey degrades the way a traveller would expect and
loses nothing (issue: four services by configuration)."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.e2e.deployments import Deployment, eventually
from tests.e2e.test_journey import Traveller, earned

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def four(tmp_path_factory, worker):
    running = Deployment("four_services", tmp_path_factory.mktemp("faults"), f"faults_{worker}",
                         FLIGHTBOOK_HOLD_MINUTES=1).start()
    yield running
    running.stop()


def _flight(traveller, passengers=1):
    date = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    found = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK", "date": date,
                                                             "passengers": passengers})
    return found["outbound"][0]


def _seats_left(traveller, flight):
    date = flight["departs_local"][:10]
    found = traveller.call("GET", "/flights/search", params={"origin": flight["origin"],
                                                             "destination": flight["destination"], "date": date})
    return next(o["seats_left"] for o in found["outbound"] if o["id"] == flight["id"])


def test_loyalty_down_the_booking_still_confirms_and_points_arrive_later(four):
    traveller = Traveller(four.url).sign_up()
    booking = traveller.book(_flight(traveller)["id"], 1)
    four.servers["loyalty"].stop()
    try:
        _, paid = traveller.pay(booking["ref"])
        assert paid["status"] == "succeeded"
        assert traveller.call("GET", f"/tickets/{booking['ref']}")["status"] == "CONFIRMED"
        traveller.call("GET", f"/loyalty/account/{traveller.user_id}", expect=503)
    finally:
        four.servers["loyalty"].start()
    expected = earned(booking["total"]["amount"], booking["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == expected, timeout=60)


def test_payments_down_is_a_quick_503_and_the_hold_expires_as_usual(four):
    traveller = Traveller(four.url).sign_up()
    flight = _flight(traveller)
    before = _seats_left(traveller, flight)
    booking = traveller.book(flight["id"], 1)
    assert _seats_left(traveller, flight) == before - 1
    four.servers["payments"].stop()
    try:
        started = time.monotonic()
        answer = traveller.http.post(traveller.api + "/payments/create-intent", json={"booking_ref": booking["ref"]},
                                     timeout=30)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "service_unavailable"
        assert time.monotonic() - started < 5
        eventually(lambda: traveller.call("GET", f"/tickets/{booking['ref']}")["status"] == "EXPIRED", timeout=90)
        assert _seats_left(traveller, flight) == before
    finally:
        four.servers["payments"].start()


def test_a_restarted_service_loses_nothing(four):
    traveller = Traveller(four.url).sign_up()
    booking = traveller.book(_flight(traveller)["id"], 1)
    four.servers["flights"].stop()
    four.servers["flights"].start()
    _, paid = traveller.pay(booking["ref"])
    four.servers["loyalty"].stop()
    four.servers["loyalty"].start()
    assert traveller.call("GET", f"/tickets/{booking['ref']}")["status"] == "CONFIRMED"
    expected = earned(booking["total"]["amount"], booking["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == expected, timeout=60)
    history = traveller.call("GET", f"/payments/history/{traveller.user_id}")["payments"]
    assert [p["status"] for p in history if p["booking_ref"] == booking["ref"]] == ["succeeded"]
