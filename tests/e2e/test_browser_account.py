"""Register, log in and out, and the manners: readable errors, CSRF, the cookie's flags, a phone-sized window."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, screenshot

pytestmark = pytest.mark.browser


def register(page, who: dict, password_again: str | None = None) -> None:
    page.goto("/register")
    page.get_by_label("First name").fill(who["first_name"])
    page.get_by_label("Last name").fill(who["last_name"])
    page.get_by_label("Email").fill(who["email"])
    page.get_by_label("Username").fill(who["username"])
    page.get_by_label("Password", exact=True).fill(who["password"])
    page.get_by_label("Password again").fill(password_again or who["password"])
    page.get_by_role("button", name="Create account").click()


def log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_register_shows_field_errors_then_signs_the_traveller_in(page, new_traveller):
    register(page, new_traveller, password_again="something else entirely")
    expect(page.locator("#password_again-error")).to_have_text("The two passwords differ.")
    expect(page.get_by_label("Username")).to_have_value(new_traveller["username"])
    screenshot(page, "register")

    register(page, new_traveller)
    expect(page.get_by_role("status")).to_contain_text("Welcome to flightbook, Grace")
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()

    register(page, new_traveller)  # the same username again
    expect(page.get_by_role("alert").first).to_be_visible()
    assert "Traceback" not in page.content()


def test_wrong_password_is_a_plain_message_and_the_right_one_logs_in(page, new_traveller):
    register(page, new_traveller)
    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_role("status")).to_contain_text("logged out")

    log_in(page, new_traveller["username"], "not the password")
    expect(page.get_by_role("alert")).to_have_text("That username and password do not match.")
    screenshot(page, "login")

    log_in(page, new_traveller["username"], new_traveller["password"])
    expect(page.get_by_role("status")).to_contain_text("Welcome back, Grace")


def test_the_demo_traveller_can_log_in(page):
    log_in(page, "demo", "demo-traveller-2026")
    expect(page.get_by_role("link", name="My bookings")).to_be_visible()


def test_session_cookie_is_httponly_and_samesite_lax(page, new_traveller):
    register(page, new_traveller)
    cookie = next(c for c in page.context.cookies() if c["name"] == "fb_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it


def test_a_form_posted_without_its_csrf_token_is_refused_with_a_readable_page(ui_server):
    session = requests.Session()
    session.get(ui_server.url + "/login")
    answer = session.post(ui_server.url + "/login", data={"username": "demo", "password": "demo-traveller-2026"},
                          allow_redirects=False)
    assert answer.status_code == 403
    assert "text/html" in answer.headers["Content-Type"]
    assert "This form has expired" in answer.text
    assert session.get(ui_server.url + "/bookings", allow_redirects=False).status_code == 303  # not signed in


def test_pages_that_need_a_login_send_the_traveller_to_log_in_and_back(page, new_traveller):
    register(page, new_traveller)
    page.get_by_role("button", name=re.compile("Log out")).click()
    page.goto("/bookings")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fbookings"))
    page.get_by_label("Username").fill(new_traveller["username"])
    page.get_by_label("Password").fill(new_traveller["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/bookings$"))
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()


def test_an_unknown_booking_is_a_readable_error_not_a_traceback(page, new_traveller):
    register(page, new_traveller)
    response = page.goto("/bookings/ZZZZZZ")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "Traceback" not in page.content()
    screenshot(page, "error")


def test_home_works_on_a_phone_with_the_keyboard(page):
    page.set_viewport_size(PHONE)
    page.goto("/")
    for label in ("From", "To", "Depart", "Cabin"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    for party in ("Adults", "Children", "Infants"):  # the party picker: "Adults 12+", "Children 2–11", ...
        expect(page.get_by_label(party)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    page.get_by_label("From", exact=True).focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "destination"
    ring = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert ring != "none", "the focused control must show a focus ring"
    screenshot(page, "home-phone")


def test_an_unknown_address_is_a_readable_404_page_while_the_api_keeps_json(page, ui_server):
    response = page.goto("/no/such/page")
    assert response.status == 404 and "text/html" in response.headers["content-type"]
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Back to search")).to_be_visible()
    assert requests.get(ui_server.url + "/static/no-such.css", timeout=10).headers["Content-Type"].startswith(
        "text/html")
    for path in ("/api", "/api/no-such-thing", "/api/gateway/no-such-thing", "/api/tickets/ABC123/nothing"):
        answer = requests.get(ui_server.url + path, timeout=10)
        assert answer.status_code == 404, path
        assert set(answer.json()["error"]) == {"code", "message"}, path
