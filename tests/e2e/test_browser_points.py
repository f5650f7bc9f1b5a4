"""Points in the browser: the loyalty dashboard and a booking paid by points alone. These two take the
/api/loyalty/earn shortcut (a service call) for their points: a card trip worth 50,000 points would make
the test slow for nothing. The cash + points split, with points the saga awards, is in the full journey."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from flightbook.kernel.auth import Tokens
from tests.e2e.journey import fill_passengers, money_to_minor, points_rate, register, search

pytestmark = pytest.mark.browser


def award_points(server, env: dict, who: dict, cash_paid_minor: int, loyalty=None) -> int:
    """Points as loyalty awards them for cash paid, asked for the way flightbook's services ask: ``server`` is
    the one process, or the flights service of four (users live there) with ``loyalty`` the loyalty service."""
    loyalty = loyalty or server
    login = requests.post(server.url + "/api/users/login",
                          json={"username": who["username"], "password": who["password"]}, timeout=10)
    user_id = login.json()["user"]["id"]
    token = Tokens(env["FLIGHTBOOK_SECRET_KEY"], env["FLIGHTBOOK_SERVICE_SECRET"]).issue_service_token(
        "flights", "loyalty")
    answer = requests.post(loyalty.url + "/api/loyalty/earn", headers={"Authorization": f"Bearer {token}"},
                           json={"user_id": user_id, "booking_ref": f"WELCOME{user_id}", "amount": cash_paid_minor,
                                 "currency": "USD"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["points"]


def hold_atlanta_dallas(page, passengers: int) -> None:
    search(page, ("Atlan", "ATL"), ("Dalla", "DFW"), passengers=passengers, days_ahead=2)
    page.get_by_role("button", name="Continue to passengers").click()
    fill_passengers(page, [("Grace", "Hopper", "1980-12-09"), ("Alan", "Turing", "1982-06-23")][:passengers])
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()


def test_loyalty_dashboard_shows_balance_tier_progress_and_history(page, new_traveller, ui_server, ui_env):
    register(page, new_traveller)
    points = award_points(ui_server, ui_env, new_traveller, 150_000)
    page.goto("/loyalty")
    expect(page.locator("[data-balance]")).to_contain_text(f"{points:,}")
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.locator("table.history tbody tr")).to_have_count(1)


def test_points_that_cover_the_fare_pay_for_it_alone(page, new_traveller, ui_server, ui_env):
    register(page, new_traveller)
    points = award_points(ui_server, ui_env, new_traveller, 500_000)
    hold_atlanta_dallas(page, passengers=1)
    total = money_to_minor(page.locator(".summary .totals .total").last.inner_text())
    rate_points, rate_value = points_rate(page, "USD")
    needed = -(-total // rate_value) * rate_points

    page.get_by_role("button", name="Pay entirely with points").click()
    expect(page.locator("[data-split-cash]")).to_have_text("$0.00")
    expect(page.get_by_label("Card number")).to_be_disabled()
    page.locator("[data-pay-button]").click()

    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    expect(page.locator("[data-points-used]")).to_have_text(f"{needed:,} pts")
    expect(page.locator("[data-card-charged]")).to_have_count(0)
    page.goto("/loyalty")
    expect(page.locator("[data-balance]")).to_contain_text(f"{points - needed:,}")
