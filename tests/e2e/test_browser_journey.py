"""The traveller's journeys in a real browser against a real one-process server."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, screenshot
from tests.e2e.journey import DECLINED, VISA, fill_passengers, money_to_minor, pay_by_card, register, search

pytestmark = pytest.mark.browser

TWO_PEOPLE = [("Grace", "Hopper", "1980-12-09"), ("Alan", "Turing", "1982-06-23")]


def book_london_new_york_return(page, shots: bool = False) -> str:
    """Search with the autocomplete, pick flights, enter two passengers; returns the held booking's ref."""
    search(page, ("Londo", "LHR"), ("New Yor", "JFK"), passengers=2, days_ahead=2, return_days_ahead=4,
           shot="search" if shots else None)
    options = page.locator("#outbound_flight_id-options .option")
    expect(options.first).to_be_visible()
    expect(options.first.locator(".flight-zone").first).to_have_text(re.compile(r"GMT|BST"))
    expect(options.first.locator(".flight-end-arrive .flight-zone")).to_have_text(re.compile(r"EST|EDT"))
    page.get_by_role("link", name="Shortest").click()
    expect(page).to_have_url(re.compile(r"sort=duration"))
    page.get_by_role("link", name="Lowest price").click()
    fares = [money_to_minor(t) for t in page.locator("#outbound_flight_id-options .fare").all_inner_texts()]
    assert fares == sorted(fares) and fares
    if shots:
        screenshot(page, "results")
    page.locator("#return_flight_id-options .option").nth(1).click()
    page.get_by_role("button", name="Continue to passengers").click()
    expect(page.get_by_role("heading", name="Who is flying?")).to_be_visible()
    fill_passengers(page, TWO_PEOPLE)
    if shots:
        screenshot(page, "passengers")
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    return re.search(r"/bookings/([A-Z0-9]+)/pay", page.url).group(1)


def test_full_journey_book_two_passengers_pay_see_ticket_then_cancel_with_refund(page, new_traveller):
    register(page, new_traveller)
    ref = book_london_new_york_return(page, shots=True)
    screenshot(page, "payment")
    total = page.locator(".summary .totals .total").last.inner_text()
    pay_by_card(page, VISA)

    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    expect(page.locator("[data-ref]")).to_have_text(ref)
    expect(page.locator("[data-passengers] li")).to_have_count(2)
    expect(page.locator("[data-fare-paid]")).to_have_text(total)
    expect(page.locator(".ticket-flight")).to_have_count(2)
    screenshot(page, "ticket")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("[data-print]")).to_be_hidden()
    screenshot(page, "ticket-print")
    page.emulate_media(media="screen")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    booking = page.locator(f"[data-booking='{ref}']")
    expect(booking.locator(".status")).to_have_text("Confirmed")
    screenshot(page, "bookings")
    booking.get_by_role("link", name="Cancel").click()
    expect(page.locator("[data-refund-quote]")).to_have_text(total)  # more than a day ahead: all of it back
    screenshot(page, "cancel")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("status")).to_contain_text(f"A refund of {total} is on its way")
    expect(page.locator(f"[data-booking='{ref}'] .status")).to_have_text("Cancelled")


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
