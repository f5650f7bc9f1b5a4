"""The admin console in the browser, in one process and in four services: a traveller's cookie meets a 404
at /admin; an admin sees the overview's charts, finds the traveller's booking, the flight and the traveller,
and takes every action through its confirmation page (move the flight, block and unblock the login, adjust
points, cancel the booking with a full refund, cancel the flight, retry the events), then sees each in the
audit; an admin changes a tier (and changes it back), and retries a dead-lettered event from the events page.
Screenshots of each page (docs/screenshots/admin-*.png) from the one-process run."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess

import pytest
from playwright.sync_api import expect

from flightbook.kernel.db import open_database
from flightbook.kernel.outbox import DEAD
from tests.e2e.conftest import DESKTOP, screenshot
from tests.e2e.deployments import Deployment
from tests.e2e.journey import VISA, hold_one_way, pay_by_card, register
from tests.kernel.test_broker_cli import outbox_row
from tests.servers import FLIGHTBOOK, ROOT

pytestmark = pytest.mark.browser

ADMIN = {"username": "consoleboss", "password": "a long admin password"}


class Site:
    def __init__(self, mode: str, url: str, env: dict):
        self.mode, self.url, self.env = mode, url, env


@pytest.fixture(scope="module", params=["one_process", "four_services"])
def site(request, tmp_path_factory, worker):
    if request.param == "one_process":
        server, env = request.getfixturevalue("ui_server"), request.getfixturevalue("ui_env")
        running = None
        found = Site("one_process", server.url, env)
    else:
        running = Deployment("four_services", tmp_path_factory.mktemp("admin-four"), f"admin_{worker}").start()
        found = Site("four_services", running.url, running.env)
    subprocess.run([FLIGHTBOOK, "create-admin", ADMIN["username"]], input=ADMIN["password"], text=True,
                   env={**os.environ, **found.env}, cwd=ROOT, capture_output=True, timeout=60)  # once per site
    yield found
    if running is not None:
        running.stop()


@pytest.fixture
def site_page(browser, site):
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC", base_url=site.url)
    page = context.new_page()
    yield page
    context.close()


def shot(site: Site, page, name: str) -> None:
    if site.mode == "one_process":
        screenshot(page, f"admin-{name}")


def log_in(page, who: dict) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(who["username"])
    page.get_by_label("Password").fill(who["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name=re.compile("Log out")).click()


def login_refused(browser, site: Site, who: dict) -> None:
    """A blocked traveller's login answers on the login form itself: 403, why, their username kept."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC", base_url=site.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(who["username"])
        page.get_by_label("Password").fill(who["password"])
        with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
            page.get_by_role("button", name="Log in").click()
        assert answer.value.status == 403
        expect(page.get_by_role("alert")).to_contain_text("This account is blocked")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        expect(page.get_by_label("Username")).to_have_value(who["username"])
    finally:
        context.close()


def confirm(page, reason: str, button: str) -> None:
    expect(page.locator("[data-confirm-form]")).to_be_visible()
    page.get_by_label("Why (recorded in the audit)").fill(reason)
    page.get_by_role("button", name=button).click()


def test_an_admin_runs_the_console_and_a_traveller_sees_none_of_it(site, site_page, browser, new_traveller):
    page = site_page
    register(page, new_traveller)
    ref = hold_one_way(page, ("Atlan", "ATL"), ("Duba", "DXB"), [("Grace", "Hopper", "1980-12-09")], days_ahead=3)
    pay_by_card(page, VISA)
    expect(page.locator("[data-status]")).to_have_text("Confirmed")

    for path in ("/admin", f"/admin/bookings/{ref}", "/admin/audit", "/admin/overview/bookings.csv"):
        answer = page.request.get(path)
        assert answer.status == 404, (path, answer.status)
    page.goto("/admin")
    expect(page.get_by_text("There is no page at this address")).to_be_visible()
    expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    assert page.request.post(f"/admin/bookings/{ref}/cancel", form={"reason": "x", "refund": "full"}).status in (403, 404)
    log_out(page)

    log_in(page, ADMIN)
    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.locator("#chart-load svg title").first).to_contain_text("Load factor")
    csv = page.request.get("/admin/overview/revenue.csv")
    assert csv.ok and csv.text().splitlines()[0] == "day,revenue_usd"
    shot(site, page, "overview")

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Bookings").click()
    page.get_by_label("Find a booking").fill("hopper")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(f"tr[data-ref='{ref}']")).to_be_visible()
    shot(site, page, "bookings")
    page.get_by_role("link", name=ref).click()
    expect(page.locator("[data-payments]")).to_contain_text("succeeded")
    expect(page.locator("[data-events]")).to_contain_text("booking.confirmed")
    shot(site, page, "booking")

    page.locator("[data-booking-flights] a").first.click()  # the booking's first flight
    expect(page.locator("[data-cabins] tr[data-cabin='economy'] [data-sold]")).not_to_have_text("0")
    flight_url = page.url
    shot(site, page, "flight")
    departs = page.get_by_label(re.compile("New departure"))
    later = dt.datetime.fromisoformat(departs.input_value()) + dt.timedelta(minutes=45)
    departs.fill(later.isoformat(timespec="minutes"))
    page.get_by_role("button", name="Change departure…").click()
    shot(site, page, "confirm")
    confirm(page, "late inbound aircraft", "Move the flight")
    expect(page.locator(".flash")).to_contain_text("Flight moved to " + later.isoformat(timespec="minutes").replace("T", " "))

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Travellers").click()
    page.get_by_label("Find a traveller").fill(new_traveller["username"])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=new_traveller["username"]).click()
    expect(page.locator("[data-bookings]")).to_contain_text(ref)
    shot(site, page, "traveller")
    page.get_by_role("link", name="Block login…").click()
    confirm(page, "card fraud check", "Block login")
    expect(page.locator("[data-blocked]")).to_be_visible()
    login_refused(browser, site, new_traveller)
    page.get_by_role("link", name="Unblock login…").click()
    confirm(page, "cleared by the bank", "Unblock login")
    expect(page.locator("[data-blocked]")).to_have_count(0)

    page.get_by_role("link", name=re.compile("^Points:")).click()
    before = int(re.sub(r"[^0-9]", "", page.locator("[data-balance]").inner_text()))
    page.get_by_label("Adjust by (negative takes away)").fill("750")
    page.get_by_role("button", name="Adjust…").click()
    confirm(page, "goodwill for the delay", "Adjust the points")
    expect(page.locator("[data-balance]")).to_have_text(f"{before + 750:,}")
    shot(site, page, "loyalty")

    page.goto(f"/admin/bookings/{ref}")
    page.get_by_role("link", name="Cancel for the traveller…").click()
    page.get_by_label("Full refund (card and points)").check()
    confirm(page, "schedule change, traveller asked", "Cancel the booking")
    expect(page.locator(".flash")).to_contain_text(f"Booking {ref} cancelled")
    expect(page.locator("h1 .pill")).to_have_text("CANCELLED")

    def refunded():
        page.reload()
        return page.locator("[data-events]").inner_text().count("payment.refunded")
    from tests.e2e.deployments import eventually
    eventually(refunded, timeout=30)

    page.goto(flight_url)
    page.get_by_role("link", name="Cancel flight…").click()
    confirm(page, "aircraft grounded", "Cancel the flight")
    expect(page.locator(".flash")).to_contain_text("Flight cancelled: 0 booking(s)")
    expect(page.locator("h1 .pill")).to_contain_text("CANCELLED")

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Flights").click()
    page.get_by_label("Route, date or flight number").fill("ATL DXB")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("[data-flights] tbody tr").first).to_be_visible()
    shot(site, page, "flights")

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Events").click()
    expect(page.locator("[data-outboxes] tr[data-module]")).to_have_count(3)
    shot(site, page, "events")

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Audit").click()
    audit = page.locator("[data-audit]")
    for action in ("flight.reschedule", "user.block", "user.unblock", "points.adjust", "booking.cancel",
                   "flight.cancel"):
        expect(audit).to_contain_text(action)
    shot(site, page, "audit")


def dead_letter(site: Site) -> str:
    """A delivery of flights' outbox to loyalty, dead after its last attempt, as a relay leaves it."""
    database = open_database(site.env["FLIGHTBOOK_FLIGHTS_DATABASE"])
    try:
        return outbox_row(database, "flights", DEAD, subscriber="loyalty")
    finally:
        database.close()


def test_an_admin_edits_a_tier_and_retries_a_dead_lettered_event(site, site_page):
    page = site_page
    log_in(page, ADMIN)
    page.goto("/admin/loyalty")
    top = page.locator("[data-tiers] tbody tr").last
    name = top.get_attribute("data-tier")
    threshold = page.get_by_label("Threshold").last
    was_threshold, was_multiplier = int(threshold.input_value()), page.get_by_label("Multiplier").last.input_value()
    threshold.fill(str(was_threshold + 1000))
    page.get_by_label("Multiplier").last.fill("2.5")
    top.get_by_role("button", name="Change…").click()
    expect(page.get_by_role("heading", name=f"Change the {name} tier?")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{was_threshold + 1000:,} qualifying points")
    confirm(page, "spring promotion", "Change the tier")
    expect(page.locator(".flash")).to_contain_text(f"The {name} tier is changed.")
    changed = page.locator(f"[data-tiers] tr[data-tier='{name}']")
    expect(changed).to_contain_text(f"{was_threshold + 1000:,}")
    expect(changed).to_contain_text("x2.5")
    expect(page.locator("main")).to_contain_text("spring promotion")  # the tier's history
    changed.get_by_label("Threshold").fill(str(was_threshold))
    changed.get_by_label("Multiplier").fill(was_multiplier)
    changed.get_by_role("button", name="Change…").click()
    confirm(page, "promotion over", "Change the tier")
    expect(page.locator(f"[data-tiers] tr[data-tier='{name}']")).to_contain_text(f"x{was_multiplier}")

    event_id = dead_letter(site)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Events").click()
    row = page.locator(f"[data-dead-letters] tr[data-event='{event_id}']")
    expect(row).to_contain_text("the test's dead letter")
    expect(row).to_have_attribute("data-where", "outbox")
    expect(page.locator("[data-no-broker]")).to_be_visible()  # neither deployment here uses a broker
    row.get_by_role("link", name="Retry…").click()
    confirm(page, "loyalty is back", "Retry")
    expect(page.locator(".flash")).to_contain_text("1 delivery(ies) of flights queued again.")
    expect(page.locator(f"[data-dead-letters] tr[data-event='{event_id}']")).to_have_count(0)
