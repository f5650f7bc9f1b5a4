"""What a traveller minds, in a real browser (issue 20): cities rather than airports, errors that keep the form,
the chosen flights surviving the log-in detour, trip totals, the payment page's hold clock and honest nav, the
points slider's steps, and axe-core's audit of every page of the journey (signed in and out, desktop and phone).
Every test runs against both deployments (the one process, and four services); screenshots come from the one.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import audit, failing
from tests.e2e.conftest import DESKTOP, PHONE, screenshot, travel_date
from tests.e2e.journey import (DECLINED, VISA, fill_passengers, money_to_minor, pay_by_card, pick_airport, register,
                               search)
from tests.e2e.test_browser_points import award_points, hold_atlanta_dallas

pytestmark = pytest.mark.browser


def quote(page, cabin: str, passengers: int, outbound_id: str, return_id: str) -> int:
    """flights' own quote for the chosen return trip, as any client of the gateway API reads it."""
    answer = page.request.get(f"/api/gateway/flights/quote?cabin={cabin}&passengers={passengers}"
                              f"&outbound_id={outbound_id}&return_id={return_id}")
    assert answer.ok, answer.text()
    return answer.json()["total"]["amount"]


def give_points(request, deployment, who: dict, cash_paid_minor: int) -> int:
    """award_points against the deployment's loyalty: the one process, or the loyalty service of four (the
    traveller's log-in then goes to the flights service, where users live)."""
    if deployment.mode == "one_process":
        return award_points(request.getfixturevalue("ui_server"), request.getfixturevalue("ui_env"), who,
                            cash_paid_minor)
    return award_points(deployment.servers["flights"], deployment.env, who, cash_paid_minor,
                        loyalty=deployment.servers["loyalty"])


def chosen(page, name: str) -> str:
    return page.locator(f"input[name={name}]:checked").get_attribute("value")


def test_typed_cities_search_every_airport_and_return_totals_survive_logging_in(deployed_page, deployment,
                                                                                new_traveller):
    page, shots = deployed_page, deployment.mode == "one_process"
    page.goto("/")
    page.get_by_label("Return", exact=True).check()
    origin = page.get_by_label("From", exact=True)
    origin.type("london", delay=20)
    first = page.get_by_role("option").first
    expect(first).to_contain_text("London")
    expect(first.locator(".code")).to_have_text("LON")
    expect(first).to_contain_text("All airports: LHR, LGW")
    if shots:
        screenshot(page, "search-city")
    # typed, not chosen: the city is searched, not one of its airports
    origin.fill("new york")
    page.get_by_label("To", exact=True).fill("london")
    page.get_by_label("Depart").fill(travel_date(2))
    page.get_by_label("Return date").fill(travel_date(4))
    page.get_by_label("Adults").select_option("2")
    page.get_by_role("button", name="Search flights").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New York NYC")
    expect(page.get_by_role("heading", level=1)).to_contain_text("London LON")
    departures = set(page.locator("#outbound_id-options .option-main .flight-end:not(.flight-end-arrive) .flight-code")
                     .all_inner_texts())
    arrivals = set(page.locator("#outbound_id-options .option-main .flight-end-arrive .flight-code").all_inner_texts())
    assert departures >= {"JFK", "EWR"} and departures <= {"JFK", "LGA", "EWR"}, departures
    assert arrivals <= {"LHR", "LGW", "STN", "LTN", "LCY", "SEN"} and "LHR" in arrivals, arrivals

    # the trip's total for both passengers, as flights quotes it, follows the choices
    total = page.locator("[data-trip-amount]")
    expect(total).to_have_text(re.compile(r"^\$"))
    assert money_to_minor(total.inner_text()) == quote(page, "economy", 2, chosen(page, "outbound_id"),
                                                        chosen(page, "return_id"))
    page.locator("#outbound_id-options .option-main").nth(2).click()
    page.locator("#return_id-options .option-main").nth(1).click()
    out_id, back_id = chosen(page, "outbound_id"), chosen(page, "return_id")
    expected = quote(page, "economy", 2, out_id, back_id)
    expect(total).to_have_text(f"${expected / 100:,.2f}")
    if shots:
        screenshot(page, "results-return-total")

    # not signed in: logging in comes back to these very flights
    page.get_by_role("button", name="Continue to passengers").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("First name").fill(new_traveller["first_name"])
    page.get_by_label("Last name").fill(new_traveller["last_name"])
    page.get_by_label("Email").fill(new_traveller["email"])
    page.get_by_label("Username").fill(new_traveller["username"])
    page.get_by_label("Password", exact=True).fill(new_traveller["password"])
    page.get_by_label("Password again").fill(new_traveller["password"])
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=2).first).to_contain_text("Outbound")
    assert (chosen(page, "outbound_id"), chosen(page, "return_id")) == (out_id, back_id)
    page.get_by_role("button", name="Continue to passengers").click()
    expect(page.locator("[data-total]")).to_have_text(f"${expected / 100:,.2f}")
    expect(page.locator("[data-total]")).to_be_visible()
    expect(page.locator(".summary .totals")).to_contain_text("Total for 2 passengers")
    if shots:
        screenshot(page, "passengers-after-login")


def test_a_typed_place_that_is_not_one_gets_did_you_mean_choices_and_no_matches_is_said(deployed_page, deployment):
    page = deployed_page
    page.goto("/")
    field = page.get_by_label("From", exact=True)
    field.type("zzqxw", delay=20)
    expect(page.locator("#origin-suggestions [role=option]")).to_have_text("No matches for “zzqxw”")
    field.fill("portland")
    pick_airport(page, "To", "Londo", "LHR")
    page.get_by_label("One way").check()
    page.get_by_label("Depart").fill(travel_date(2))
    page.get_by_role("button", name="Search flights").click()
    expect(page.locator("#origin-error")).to_contain_text("Did you mean")
    expect(page.get_by_label("From", exact=True)).to_be_focused()
    expect(page.get_by_label("To", exact=True)).to_have_value(re.compile(r"\(LHR\)$"))
    choices = page.locator("#origin-choices a")
    assert choices.count() >= 2
    if deployment.mode == "one_process":
        screenshot(page, "search-did-you-mean")
    choices.filter(has_text="(PDX)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PDX")


def test_search_errors_from_the_flights_module_are_shown_on_the_form_with_what_was_typed(deployed_page):
    page = deployed_page
    page.goto("/")
    page.get_by_label("One way").check()
    page.get_by_label("From", exact=True).fill("XQZ")
    pick_airport(page, "To", "Londo", "LHR")
    page.get_by_label("Depart").fill(travel_date(2))
    page.get_by_role("button", name="Search flights").click()
    expect(page.locator("#origin-error")).to_have_text("From: Unknown airport or city 'XQZ'.")
    expect(page.get_by_label("From", exact=True)).to_be_focused()
    expect(page.get_by_label("From", exact=True)).to_have_value("XQZ")
    expect(page.get_by_label("Depart")).to_have_value(travel_date(2))
    # the browser's date check is not the only one: a past date typed into the address is caught on the form
    page.goto(f"/flights?origin=ATL&destination=DFW&trip=oneway&date={travel_date(-3)}")
    expect(page.locator("#date-error")).to_contain_text("in the past")
    expect(page.get_by_label("Depart")).to_be_focused()
    expect(page.get_by_label("From", exact=True)).to_have_value("ATL")


def test_passenger_and_payment_errors_are_inline_keep_the_form_and_take_focus(deployed_page, new_traveller):
    page = deployed_page
    register(page, new_traveller)
    search(page, ("Atlan", "ATL"), ("Dalla", "DFW"), passengers=2, days_ahead=2)
    page.get_by_role("button", name="Continue to passengers").click()
    fill_passengers(page, [("Grace", "Hopper", "1980-12-09")])
    page.locator("#p1_last_name").fill("Turing")
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.locator("#p1_first_name-error")).to_be_visible()
    expect(page.locator("#p1_first_name")).to_be_focused()
    expect(page.locator("#p1_last_name")).to_have_value("Turing")
    expect(page.locator("#p0_first_name")).to_have_value("Grace")
    page.locator("#p1_first_name").fill("Alan")
    page.locator("#p1_date_of_birth").fill("1982-06-23")
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()

    page.get_by_label("Name on card").fill("Grace Hopper")
    page.get_by_label("Card number").fill(VISA["number"])
    page.get_by_label("Expiry (MM/YY)").fill("13/99")
    page.get_by_label("Security code").fill("123")
    page.locator("[data-pay-button]").click()
    expect(page.locator("#card_expiry-error")).to_contain_text("MM/YY")
    expect(page.get_by_label("Expiry (MM/YY)")).to_be_focused()
    expect(page.get_by_label("Name on card")).to_have_value("Grace Hopper")
    expect(page.get_by_label("Card number")).to_have_value("")  # never sent back

    pay_by_card(page, DECLINED)
    expect(page.locator("#card_number-error")).to_contain_text("declined")
    expect(page.get_by_label("Card number")).to_be_focused()
    expect(page.get_by_label("Name on card")).to_have_value("Grace Hopper")
    expect(page.get_by_label("Expiry (MM/YY)")).to_have_value(DECLINED["expiry"])
    expect(page.get_by_label("Security code")).to_have_value("")
    page.get_by_label("Card number").fill(VISA["number"])
    page.get_by_label("Security code").fill(VISA["cvc"])
    page.locator("[data-pay-button]").click()
    expect(page.locator("[data-status]")).to_have_text("Confirmed")


def test_the_payment_page_shows_the_hold_in_local_time_counts_down_and_keeps_the_nav_honest(browser, deployment,
                                                                                            new_traveller):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Asia/Tokyo",
                                  base_url=deployment.url)
    page = context.new_page()
    try:
        register(page, new_traveller)
        hold_atlanta_dallas(page, passengers=1)
        expiry = page.locator("time[data-local-time]")
        expect(expiry).to_contain_text(re.compile(r"GMT\+9|JST"))
        clock = page.get_by_role("timer")
        expect(clock).to_have_text(re.compile(r"^\(1[0-4]:[0-5]\d left\)$"))
        before = clock.inner_text()
        page.wait_for_timeout(1500)
        assert clock.inner_text() != before
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.locator("[aria-current=page]")).to_have_count(0)
    finally:
        context.close()


def test_the_points_slider_moves_in_useful_steps(deployed_page, deployment, new_traveller, request):
    page = deployed_page
    register(page, new_traveller)
    give_points(request, deployment, new_traveller, 300_000)
    hold_atlanta_dallas(page, passengers=1)
    slider = page.locator("[data-points-range]")
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("Points to use", exact=True)).to_have_value("100")
    page.keyboard.press("PageUp")
    expect(page.get_by_label("Points to use", exact=True)).to_have_value("1100")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("Points to use", exact=True)).to_have_value("1000")


def test_on_a_phone_the_continue_bar_never_covers_the_focused_flight(deployed_page):
    page = deployed_page
    page.set_viewport_size(PHONE)
    search(page, ("Atlan", "ATL"), ("Dalla", "DFW"), days_ahead=2)
    radios = page.locator("#outbound_id-options input[type=radio]")
    radios.first.focus()
    for _ in range(min(4, radios.count() - 1)):
        page.keyboard.press("ArrowDown")
        box = page.evaluate("""() => {
            const r = document.activeElement.closest('.option').getBoundingClientRect();
            const bar = document.querySelector('.sticky-actions').getBoundingClientRect();
            return {bottom: r.bottom, top: r.top, barTop: bar.top};
        }""")
        assert box["bottom"] <= box["barTop"] + 1, box


def journey_pages(page, new_traveller, award) -> list[str]:
    """Visit every page of the journey, signed out then in, yielding after each so it can be audited."""
    seen = []

    def at(name):
        seen.append(name)
        yield_to(page, name)

    page.goto("/")
    at("home")
    search(page, ("Atlan", "ATL"), ("Dalla", "DFW"), passengers=1, days_ahead=2, return_days_ahead=4)
    at("results (return)")
    page.locator("[data-trip-amount]").wait_for()
    with page.expect_navigation():  # audited once the month view is the page, not while it replaces the results
        page.get_by_role("link", name="Month view").click()
    at("month")
    page.goto(f"/flights?origin=portland&destination=ATL&trip=oneway&date={travel_date(2)}")
    at("search form with errors")
    page.goto("/login")
    at("login")
    page.goto("/register")
    at("register")
    register(page, new_traveller)
    award(new_traveller, 300_000)
    hold_atlanta_dallas(page, passengers=1)
    at("payment with points")
    pay_by_card(page, DECLINED)
    at("payment declined")
    page.get_by_label("Card number").fill(VISA["number"])
    page.get_by_label("Security code").fill(VISA["cvc"])
    page.locator("[data-pay-button]").click()
    expect(page.locator("[data-status]")).to_have_text("Confirmed")
    at("ticket")
    page.goto("/bookings")
    at("my bookings")
    page.goto("/loyalty")
    at("points")
    page.goto("/bookings")
    with page.expect_navigation():
        page.locator(".booking-row, [data-booking]").first.get_by_role("link", name="Cancel").click()
    at("cancel")
    return seen


def yield_to(page, name):
    violations = audit(page)
    page.context._axe_found = getattr(page.context, "_axe_found", [])  # type: ignore[attr-defined]
    page.context._axe_found.append((name, page.url, violations))  # type: ignore[attr-defined]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_journey_page_passes_axe_with_no_serious_or_critical_violations(browser, deployment, new_traveller,
                                                                             request, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC", base_url=deployment.url)
    page = context.new_page()
    try:
        seen = journey_pages(page, new_traveller,
                             lambda who, cash: give_points(request, deployment, who, cash))
        found = context._axe_found  # type: ignore[attr-defined]
        assert [name for name, _, _ in found] == seen and len(seen) >= 12
        problems = [(name, url, failing(violations)) for name, url, violations in found if failing(violations)]
        assert problems == [], problems
        regions = [(name, v["nodes"]) for name, _, violations in found for v in violations if v["id"] == "region"]
        assert regions == [], regions
    finally:
        context.close()


def test_the_skip_link_lands_on_the_search_form(deployed_page):
    page = deployed_page
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('#search') !== null")
