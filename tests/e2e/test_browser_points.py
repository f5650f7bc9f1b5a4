"""Paying with points in the browser: the live cash + points split, and a booking paid by points alone."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from flightbook.kernel.auth import Tokens
from tests.e2e.conftest import screenshot
from tests.e2e.journey import VISA, fill_passengers, money_to_minor, pay_by_card, register, search

pytestmark = pytest.mark.browser


def award_points(server, env: dict, who: dict, cash_paid_minor: int) -> int:
    """Points as loyalty awards them for cash paid, asked for the way flightbook's services ask."""
    login = requests.post(server.url + "/api/users/login",
                          json={"username": who["username"], "password": who["password"]}, timeout=10)
    user_id = login.json()["user"]["id"]
    token = Tokens(env["FLIGHTBOOK_SECRET_KEY"], env["FLIGHTBOOK_SERVICE_SECRET"]).issue_service_token(
        "flights", "loyalty")
    answer = requests.post(server.url + "/api/loyalty/earn", headers={"Authorization": f"Bearer {token}"},
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
    screenshot(page, "loyalty")


def test_cash_plus_points_split_updates_live_and_the_card_pays_the_rest(page, new_traveller, ui_server, ui_env):
    register(page, new_traveller)
    award_points(ui_server, ui_env, new_traveller, 100_000)  # 10,000 points: $100.00 of fares
    hold_atlanta_dallas(page, passengers=2)
    total = money_to_minor(page.locator(".summary .totals .total").last.inner_text())

    page.get_by_label("Points to use", exact=True).fill("5000")
    expect(page.locator("[data-split-cash]")).to_have_text(f"${(total - 5000) / 100:,.2f}")
    expect(page.locator("[data-pay-button]")).to_have_text(f"Pay ${(total - 5000) / 100:,.2f}")
    screenshot(page, "payment-points")
    pay_by_card(page, VISA)

    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    expect(page.locator("[data-card-charged]")).to_have_text(f"${(total - 5000) / 100:,.2f}")


def test_points_that_cover_the_fare_pay_for_it_alone(page, new_traveller, ui_server, ui_env):
    register(page, new_traveller)
    award_points(ui_server, ui_env, new_traveller, 500_000)
    hold_atlanta_dallas(page, passengers=1)
    total = money_to_minor(page.locator(".summary .totals .total").last.inner_text())

    page.get_by_role("button", name="Pay entirely with points").click()
    expect(page.locator("[data-split-cash]")).to_have_text("$0.00")
    expect(page.get_by_label("Card number")).to_be_disabled()
    page.locator("[data-pay-button]").click()

    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    expect(page.locator("[data-points-used]")).to_have_text(f"{total:,} pts")
    expect(page.locator("[data-card-charged]")).to_have_count(0)
    page.goto("/loyalty")
    expect(page.locator("[data-balance]")).to_contain_text(f"{50_000 - total:,}")
