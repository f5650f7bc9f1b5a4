"""Steps a traveller takes in the browser, shared by the journey tests."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, travel_date
from tests.e2e.deployments import eventually

VISA = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}
DECLINED = {"number": "4000 0000 0000 0002", "expiry": "12/34", "cvc": "123"}


def register(page, who: dict) -> None:
    page.goto("/register")
    page.get_by_label("First name").fill(who["first_name"])
    page.get_by_label("Last name").fill(who["last_name"])
    page.get_by_label("Email").fill(who["email"])
    page.get_by_label("Username").fill(who["username"])
    page.get_by_label("Password", exact=True).fill(who["password"])
    page.get_by_label("Password again").fill(who["password"])
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()


def pick_airport(page, label: str, typed: str, code: str) -> None:
    """Type part of a city and choose the airport from the autocomplete list with the keyboard or mouse."""
    field = page.get_by_label(label, exact=True)
    field.fill("")
    field.type(typed, delay=20)
    code_cell = page.locator(".code", has_text=re.compile(rf"^{code}$"))
    option = page.get_by_role("option").filter(has=code_cell).first
    expect(option).to_be_visible()
    option.click()
    expect(field).to_have_value(re.compile(rf"\({code}\)$"))


def search(page, origin: tuple[str, str], destination: tuple[str, str], passengers: int = 1,
           days_ahead: int = 2, return_days_ahead: int | None = None, shot: str | None = None,
           children: int = 0, infants: int = 0) -> None:
    """``passengers`` adults (and children and infants) in the passenger picker."""
    page.goto("/")
    if return_days_ahead is None:
        page.get_by_label("One way").check()
    else:
        page.get_by_label("Return", exact=True).check()
    pick_airport(page, "From", *origin)
    pick_airport(page, "To", *destination)
    page.get_by_label("Depart").fill(travel_date(days_ahead))
    if return_days_ahead is not None:
        page.get_by_label("Return date").fill(travel_date(return_days_ahead))
    page.get_by_label("Adults").select_option(str(passengers))
    if children or infants:
        page.get_by_label("Children").select_option(str(children))
        page.get_by_label("Infants").select_option(str(infants))
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Search flights").click()
    expect(page.get_by_role("heading", level=2).first).to_contain_text("Outbound")


def fill_passengers(page, people: list[tuple[str, str, str]]) -> None:
    for i, (first, last, born) in enumerate(people):
        page.locator(f"#p{i}_first_name").fill(first)
        page.locator(f"#p{i}_last_name").fill(last)
        page.locator(f"#p{i}_date_of_birth").fill(born)


def pay_by_card(page, card: dict) -> None:
    page.get_by_label("Name on card").fill("Grace Hopper")
    page.get_by_label("Card number").fill(card["number"])
    page.get_by_label("Expiry (MM/YY)").fill(card["expiry"])
    page.get_by_label("Security code").fill(card["cvc"])
    page.locator("[data-pay-button]").click()


def money_to_minor(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def hold_one_way(page, origin: tuple[str, str], destination: tuple[str, str], people: list[tuple[str, str, str]],
                 days_ahead: int = 2) -> str:
    """Search, take the first option, enter the passengers and hold the seats; returns the booking's ref."""
    search(page, origin, destination, passengers=len(people), days_ahead=days_ahead)
    page.get_by_role("button", name="Continue to passengers").click()
    fill_passengers(page, people)
    page.get_by_role("button", name="Hold seats and pay").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    return re.search(r"/bookings/([A-Z0-9]+)/pay", page.url).group(1)


def points_earned_on(page, ref: str, timeout: float = 30.0) -> int:
    """The points the saga awards for a confirmed booking (loyalty reacts to booking.confirmed
    asynchronously), read from its e-ticket once they are there."""
    def earned():
        page.goto(f"/bookings/{ref}")
        return int(re.sub(r"[^0-9]", "", page.locator("[data-points-earned]").inner_text()) or 0)
    return eventually(earned, timeout=timeout, interval=0.5)


def balance(page) -> int:
    page.goto("/loyalty")
    return int(re.sub(r"[^0-9]", "", page.locator("[data-balance]").inner_text()))


def points_rate(page, currency: str) -> tuple[int, int]:
    """Loyalty's published rate (points, minor units they pay), as any client of the gateway API reads it."""
    answer = page.request.get(f"/api/gateway/loyalty/points-rate?currency={currency}")
    assert answer.ok, answer.text()
    rate = answer.json()
    return rate["points"], rate["value"]["amount"]
