"""The traveller's whole journey through the gateway API, in each deployment: one process, four services,
and four services with two instances of each module and the events through RabbitMQ. The test code is the
same; only the configuration differs (tests/e2e/deployments.py)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests

from flightbook.kernel.money import exponent
from tests.e2e.deployments import Deployment, eventually

pytestmark = pytest.mark.slow
GOOD_CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": dt.date.today().year + 2,
             "cvc": "123", "holder_name": "Ada Lovelace"}


@pytest.fixture(scope="module", params=["one_process", "four_services", "four_services_broker"])
def deployment(request, tmp_path_factory, worker):
    running = Deployment(request.param, tmp_path_factory.mktemp(request.param), f"journey_{worker}").start()
    yield running
    running.stop()


class Traveller:
    """A traveller using only the gateway's one origin."""

    def __init__(self, base_url: str):
        self.api = base_url + "/api/gateway"
        self.http = requests.Session()
        self.user_id = None

    def call(self, method, path, expect=200, **kwargs):
        response = self.http.request(method, self.api + path, timeout=30, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()

    def sign_up(self):
        name = f"j{uuid.uuid4().hex[:12]}"
        self.call("POST", "/users/register", 201, json={"username": name, "email": f"{name}@example.com",
                                                       "password": "journey-password", "first_name": "Ada",
                                                       "last_name": "Lovelace"})
        login = self.call("POST", "/users/login", json={"username": name, "password": "journey-password"})
        self.http.headers["Authorization"] = f"Bearer {login['token']}"
        self.user_id = login["user"]["id"]
        return self

    def book(self, option_id, passengers):
        """Book a search option (a direct flight or a connection) by its id."""
        people = [{"first_name": f"Pax{i}", "last_name": "Lovelace", "date_of_birth": "1990-01-0%d" % (i + 1)}
                  for i in range(passengers)]
        return self.call("POST", "/flights/book", 201, json={"outbound_id": option_id, "cabin": "economy",
                                                             "passengers": people,
                                                             "contact_email": "ada@example.com"})

    def pay(self, ref, card=GOOD_CARD, expect=200):
        intent = self.call("POST", "/payments/create-intent", 201, json={"booking_ref": ref})
        paid = self.call("POST", "/payments/process", expect, json={"intent_id": intent["id"], "card": card},
                         headers={"Idempotency-Key": uuid.uuid4().hex})
        return intent, paid

    def account(self):
        return self.call("GET", f"/loyalty/account/{self.user_id}")


def paid_trip(url: str, days_ahead: int) -> tuple[Traveller, dict, dict]:
    """A new traveller who searched LHR -> JFK ``days_ahead`` days from today, booked the first flight for one
    and paid it by card: (traveller, booking, payment)."""
    traveller = Traveller(url).sign_up()
    date = (dt.date.today() + dt.timedelta(days=days_ahead)).isoformat()
    found = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK", "date": date})
    booking = traveller.book(found["outbound"][0]["id"], 1)
    _, paid = traveller.pay(booking["ref"])
    assert paid["status"] == "succeeded"
    return traveller, booking, paid


def earned(amount: int, currency: str) -> int:
    """Blue tier: 10 points per whole unit of currency paid in cash."""
    return 10 * (amount // 10 ** exponent(currency))


def test_register_search_book_pay_with_points_cancel_and_refund(deployment):
    traveller = Traveller(deployment.url).sign_up()
    date = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    found = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK",
                                                             "date": date, "passengers": 2})
    assert found["outbound"], "the sample schedule flies LHR-JFK daily"
    flight = found["outbound"][0]

    # a first, card-only booking earns the points the second one spends
    first = traveller.book(flight["id"], 1)
    _, paid = traveller.pay(first["ref"])
    assert paid["status"] == "succeeded" and paid["card"]["last4"] == "4242"
    assert traveller.call("GET", f"/tickets/{first['ref']}")["status"] == "CONFIRMED"
    first_points = earned(first["total"]["amount"], first["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == first_points)

    # two passengers, cash + points
    second = traveller.book(flight["id"], 2)
    total = second["total"]
    points = first_points
    hold = traveller.call("POST", "/loyalty/redeem", 201,
                          json={"user_id": traveller.user_id, "points": points, "booking_ref": second["ref"],
                                "currency": total["currency"]})
    assert hold["status"] == "PENDING"
    intent, paid = traveller.pay(second["ref"])
    cash = total["amount"] - hold["value"]["amount"]
    assert intent["amount"] == paid["amount"] == cash
    assert traveller.call("GET", f"/tickets/{second['ref']}")["status"] == "CONFIRMED"
    eventually(lambda: traveller.account()["balance"] == earned(cash, total["currency"]))

    # cancel well before departure: full refund of the cash, points earned taken back, points spent returned
    cancelled = traveller.call("POST", f"/tickets/{second['ref']}/cancel")
    assert cancelled["status"] == "CANCELLED"

    def refunded():
        payments = traveller.call("GET", f"/payments/history/{traveller.user_id}")["payments"]
        mine = [p for p in payments if p["booking_ref"] == second["ref"] and p["status"] == "refunded"]
        return mine and mine[0]["refunded_amount"] == cash

    eventually(refunded)
    eventually(lambda: traveller.account()["balance"] == points)
    history = traveller.call("GET", f"/loyalty/history/{traveller.user_id}")
    kinds = [t["kind"] if "kind" in t else t.get("type") for t in history["transactions"]]
    assert "REVERSAL" in kinds and "REDEEM" in kinds and kinds.count("EARN") == 2
