"""The traveller's journeys in a real browser: the full journey against both deployments (the same test
code; screenshots from the one-process run), the rest against the one-process server."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, screenshot
from tests.e2e.deployments import eventually
from tests.e2e.journey import (DECLINED, VISA, balance, fill_passengers, hold_one_way, money_to_minor, pay_by_card,
                               points_earned_on, points_rate, register, search)

pytestmark = pytest.mark.browser

TWO_PEOPLE = [("Grace", "Hopper", "1980-12-09"), ("Alan", "Turing", "1982-06-23")]


def book_london_new_york_return(page, shots: bool = False) -> str:
    """Search with the autocomplete, pick flights, enter two passengers; returns the held booking's ref."""
    search(page, ("Londo", "LHR"), ("New Yor", "JFK"), passengers=2, days_ahead=2, return_days_ahead=4,
           shot="search" if shots else None)
    options = page.locator("#outbound_id-options .option")
    expect(options.first).to_be_visible()
    expect(options.first.locator(".flight-zone").first).to_have_text(re.compile(r"GMT|BST"))
    expect(options.first.locator(".flight-end-arrive .flight-zone")).to_have_text(re.compile(r"EST|EDT"))
    page.get_by_role("link", name="Shortest").click()
    expect(page).to_have_url(re.compile(r"sort=duration"))
    page.get_by_role("link", name="Lowest price").click()
    fares = [money_to_minor(t) for t in page.locator("#outbound_id-options .fare").all_inner_texts()]
    assert fares == sorted(fares) and fares
    if shots:
        screenshot(page, "results")
    page.locator("#return_id-options .option-main").nth(1).click()
    page.get_by_role("button", name="Continue to passengers").click()
    expect(page.get_by_role("heading", name="Who is flying?")).to_be_visible()
    fill_passengers(page, TWO_PEOPLE)
    if shots:
        screenshot(page, "passengers")
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    return re.search(r"/bookings/([A-Z0-9]+)/pay", page.url).group(1)


def usd(minor: int) -> str:
    return f"${minor / 100:,.2f}"


def test_full_journey_two_passengers_pay_with_cash_and_points_see_ticket_and_points_then_cancel_with_refund(
        deployed_page, deployment, new_traveller):
    page, shots = deployed_page, deployment.mode == "one_process"
    register(page, new_traveller)

    # a first trip paid by card: the saga (booking.confirmed -> loyalty) awards the points spent below
    hold_one_way(page, ("Atlan", "ATL"), ("Dalla", "DFW"), TWO_PEOPLE[:1])
    pay_by_card(page, VISA)
    first_ref = page.locator("[data-ref]").inner_text()
    first_points = points_earned_on(page, first_ref)
    assert first_points > 0 and balance(page) == first_points

    ref = book_london_new_york_return(page, shots=shots)
    if shots:
        screenshot(page, "payment")
    total = money_to_minor(page.locator(".summary .totals .total").last.inner_text())
    rate_points, rate_value = points_rate(page, "USD")
    used = first_points - first_points % rate_points
    page.get_by_label("Points to use", exact=True).fill(str(used))
    cash = total - used // rate_points * rate_value
    expect(page.locator("[data-split-cash]")).to_have_text(usd(cash))
    expect(page.locator("[data-pay-button]")).to_have_text(f"Pay {usd(cash)}")
    if shots:
        screenshot(page, "payment-points")
    pay_by_card(page, VISA)

    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    expect(page.locator("[data-ref]")).to_have_text(ref)
    expect(page.locator("[data-passengers] li")).to_have_count(2)
    expect(page.locator(".ticket-flight")).to_have_count(2)
    expect(page.locator("[data-fare-paid]")).to_have_text(usd(total))
    expect(page.locator("[data-card-charged]")).to_have_text(usd(cash))
    expect(page.locator("[data-points-used]")).to_have_text(f"{used:,} pts")
    earned = points_earned_on(page, ref)
    assert earned > 0
    if shots:
        screenshot(page, "ticket")
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        expect(page.locator("[data-print]")).to_be_hidden()
        screenshot(page, "ticket-print")
        page.emulate_media(media="screen")
    assert balance(page) == first_points - used + earned
    expect(page.locator("table.history tbody tr")).to_have_count(3)
    if shots:
        screenshot(page, "loyalty")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    booking = page.locator(f"[data-booking='{ref}']")
    expect(booking.locator(".status")).to_have_text("Confirmed")
    if shots:
        screenshot(page, "bookings")
    booking.get_by_role("link", name="Cancel").click()
    expect(page.locator("[data-refund-quote]")).to_have_text(usd(cash))  # more than a day ahead: all of it back
    expect(page.locator("[data-points-quote]")).to_have_text(f"{used:,} of {used:,} pts")
    if shots:
        screenshot(page, "cancel")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("status")).to_contain_text(f"A refund of {usd(cash)} is on its way")
    expect(page.get_by_role("status")).to_contain_text(f"{used:,} points go back to your account")
    expect(page.locator(f"[data-booking='{ref}'] .status")).to_have_text("Cancelled")
    # the saga settles the rest: the card refunded, the points spent back, those earned on the trip gone
    def refunded():
        page.goto(f"/bookings/{ref}")
        return page.locator("[data-refund]").all_inner_texts()
    assert eventually(refunded, timeout=30, interval=0.5) == [usd(cash)]
    eventually(lambda: balance(page) == first_points, timeout=30, interval=0.5)


def test_a_declined_card_is_explained_inline_and_another_card_then_succeeds(page, new_traveller):
    register(page, new_traveller)
    search(page, ("Atlan", "ATL"), ("Dalla", "DFW"), passengers=1, days_ahead=2)
    page.get_by_role("button", name="Continue to passengers").click()
    fill_passengers(page, [("Grace", "Hopper", "1980-12-09")])
    page.get_by_role("button", name="Hold seats and pay").click()

    pay_by_card(page, DECLINED)
    expect(page.locator("[data-decline]")).to_have_text("Your bank declined this card. Please try another card.")
    screenshot(page, "payment-declined")
    pay_by_card(page, VISA)
    expect(page.locator("[data-status]")).to_have_text("Confirmed")


def test_the_booking_pages_fit_a_phone(page, new_traveller):
    page.set_viewport_size(PHONE)
    register(page, new_traveller)
    search(page, ("Atlan", "ATL"), ("Dalla", "DFW"), passengers=1, days_ahead=2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "results-phone")
    page.get_by_role("button", name="Continue to passengers").click()
    fill_passengers(page, [("Grace", "Hopper", "1980-12-09")])
    page.get_by_role("button", name="Hold seats and pay").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "payment-phone")
