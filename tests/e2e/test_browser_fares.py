"""Fares in a real browser: a family of two adults, a child and an infant picked in the passenger picker, priced
by their types on results, the passengers page, payment and the ticket alike; a date of birth that does not fit
its type refused, naming the passenger and the rule."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, travel_date
from tests.e2e.journey import VISA, fill_passengers, money_to_minor, pay_by_card, register, search

pytestmark = pytest.mark.browser

DAYS_AHEAD = 2


def _born(years: int) -> str:
    """A date of birth ``years`` and a half before the flight."""
    flight_day = dt.date.fromisoformat(travel_date(DAYS_AHEAD))
    return (flight_day - dt.timedelta(days=round(years * 365.25) + 180)).isoformat()


FAMILY = [("Grace", "Hopper", "1980-12-09"), ("Alan", "Turing", "1982-06-23"), ("Ada", "Hopper", _born(7)),
          ("Linus", "Turing", _born(1))]


def _percent(amount: int, percent: int) -> int:
    return (amount * percent + 50) // 100  # the fare rules' rounding: half up, in cents


def _direct_option(page):
    option = page.locator('#outbound_id-options .option[data-stops="0"]').first
    expect(option).to_be_visible()
    option.locator(".option-main").click()
    return option


def test_two_adults_a_child_and_an_infant_pay_their_fares_from_results_to_ticket(page, new_traveller):
    register(page, new_traveller)
    search(page, ("Londo", "LHR"), ("New Yor", "JFK"), passengers=2, children=1, infants=1, days_ahead=DAYS_AHEAD)
    expect(page.locator("[data-party]")).to_have_text("2 adults, 1 child, 1 infant")
    option = _direct_option(page)
    adult = money_to_minor(option.locator(".fare").inner_text())
    # every seat of a fresh flight comes from its cheapest bucket: each adult pays the shown fare, the child 75 %
    # of it, the infant (on a lap, no seat) 10 %
    expected = 2 * adult + _percent(adult, 75) + _percent(adult, 10)
    assert money_to_minor(option.locator("[data-option-total]").inner_text()) == expected
    screenshot(page, "results-family")

    page.get_by_role("button", name="Continue to passengers").click()
    expect(page.locator("[data-passenger-type]")).to_have_count(4)
    assert page.locator("[data-passenger-type]").evaluate_all("els => els.map(e => e.dataset.passengerType)") == \
        ["adult", "adult", "child", "infant"]
    assert money_to_minor(page.locator("[data-total]").inner_text()) == expected
    fill_passengers(page, FAMILY)
    screenshot(page, "passengers-family")
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    assert money_to_minor(page.locator(".summary .totals .total").last.inner_text()) == expected

    pay_by_card(page, VISA)
    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    expect(page.locator("[data-passengers] li")).to_have_count(4)
    assert money_to_minor(page.locator("[data-fare-paid]").inner_text()) == expected


def test_a_date_of_birth_that_does_not_fit_the_passengers_type_is_refused_by_name(page, new_traveller):
    register(page, new_traveller)
    search(page, ("Londo", "LHR"), ("New Yor", "JFK"), passengers=1, children=1, days_ahead=DAYS_AHEAD)
    _direct_option(page)
    page.get_by_role("button", name="Continue to passengers").click()
    fill_passengers(page, [FAMILY[0], ("Ada", "Hopper", _born(14))])
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("alert")).to_contain_text("Ada Hopper (passenger 2) is booked as a child")
    expect(page.get_by_role("alert")).to_contain_text("a child is 2 to 11")
    expect(page.locator("#p1_date_of_birth")).to_have_attribute("aria-invalid", "true")
