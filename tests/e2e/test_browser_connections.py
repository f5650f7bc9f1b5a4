"""A journey with a connection in a real browser, against both deployments (screenshots from the one-process
run): Boston to Seattle has no direct flight in the sample schedule, so the traveller sees stops and layovers,
the date strip and the month view, filters by stops, books the connection, pays and gets an e-ticket listing
each leg and layover."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, travel_date
from tests.e2e.journey import VISA, fill_passengers, pay_by_card, register, search

pytestmark = pytest.mark.browser

STOP = re.compile(r"^1 stop · \d+h \d\dm in .+ \([A-Z]{3}\)$")


def test_a_connection_from_boston_to_seattle_is_found_booked_paid_and_ticketed(deployed_page, deployment,
                                                                                 new_traveller):
    page, shots = deployed_page, deployment.mode == "one_process"
    register(page, new_traveller)
    search(page, ("Bosto", "BOS"), ("Seattl", "SEA"), days_ahead=2)
    options = page.locator("#outbound_id-options .option")
    expect(options.first).to_be_visible()
    assert options.count() >= 2
    for label in options.locator("[data-stops-label]").all_inner_texts():
        assert STOP.match(label), label

    chosen = page.locator(".date-cell-chosen")
    expect(chosen).to_have_attribute("data-date", travel_date(2))
    expect(chosen.locator(".date-price")).to_have_text(re.compile(r"^\$[0-9,]+\.\d\d$"))
    assert page.locator(".date-strip [data-date]").count() >= 4  # three days either side, from today

    page.get_by_role("link", name="Nonstop").click()
    expect(page.locator("#outbound_id-options .empty")).to_contain_text("No direct flights")
    page.get_by_role("link", name="Up to 1 stop").click()
    expect(options.first).to_be_visible()

    page.get_by_role("link", name=re.compile("Month view")).click()
    expect(page.locator("#month-title")).to_be_visible()
    priced = page.locator(".month-grid [data-price]")
    assert priced.count() >= 3
    if shots:
        screenshot(page, "month")
    # another day of the month shown (the search's own month: near a month's end, the day after is not in it)
    days = page.locator(".month-grid td[data-date]:has(a)").evaluate_all("cells => cells.map(c => c.dataset.date)")
    other = max(day for day in days if day != travel_date(2))
    page.locator(f".month-grid td[data-date='{other}'] a").click()
    expect(page.locator(".date-cell-chosen")).to_have_attribute("data-date", other)

    first = page.locator("#outbound_id-options .option").first
    first.locator("summary").click()
    expect(first.locator("[data-leg]")).to_have_count(2)
    expect(first.locator("[data-layover]")).to_have_count(1)
    if shots:
        screenshot(page, "results-connection")
    fare = first.locator(".fare").inner_text()
    page.get_by_role("button", name="Continue to passengers").click()
    expect(page.get_by_role("heading", name="Who is flying?")).to_be_visible()
    trip = page.locator(".summary")
    expect(trip.locator("[data-leg]")).to_have_count(2)
    expect(trip.locator("[data-layover]")).to_have_count(1)
    expect(trip.locator("[data-total]")).to_have_text(fare)
    fill_passengers(page, [("Grace", "Hopper", "1980-12-09")])
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    expect(page.locator(".summary [data-leg]")).to_have_count(2)
    ref = re.search(r"/bookings/([A-Z0-9]+)/pay", page.url).group(1)
    if shots:
        screenshot(page, "payment-connection")
    pay_by_card(page, VISA)

    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    ticket = page.locator(".ticket-flight")
    expect(ticket).to_have_count(1)
    expect(ticket.locator("[data-leg]")).to_have_count(2)
    expect(ticket.locator("[data-layover]")).to_have_text(re.compile(r"^\d+h \d\dm layover in .+ \([A-Z]{3}\)$"))
    expect(page.locator("[data-fare-paid]")).to_have_text(fare)
    if shots:
        screenshot(page, "ticket-connection")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My bookings").click()
    route = page.locator(f"[data-booking='{ref}'] .booking-route")
    expect(route).to_contain_text("Boston (BOS) → Seattle (SEA)")
    expect(route).to_contain_text("with connections")
