"""The e-ticket PDF and the messages in the browser: the ticket page's link downloads the PDF for its owner,
and the same address is a 404 page for another traveller. Also renders the PDF's first page for the README."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.deployments import eventually
from tests.e2e.journey import VISA, hold_one_way, pay_by_card, register
from tests.mailkit import pdf_text, qr_codes

pytestmark = pytest.mark.browser


def test_the_ticket_pages_pdf_link_downloads_the_e_ticket_for_its_owner_and_is_a_404_for_others(
        page, new_traveller):
    register(page, new_traveller)
    ref = hold_one_way(page, ("Londo", "LHR"), ("New Yor", "JFK"), [("Grace", "Hopper", "1980-12-09"),
                                                                     ("Alan", "Turing", "1982-06-23")])
    pay_by_card(page, VISA)
    expect(page.locator("[data-status]")).to_have_text("Confirmed")

    # the confirmation's e-mail is listed on the ticket page once it is sent (the demo's mail: .eml files), by
    # then with the payment's and the points' figures that the PDF shows too
    def mailed():
        page.goto(f"/bookings/{ref}")
        return page.locator("[data-message='booking_confirmed'] [data-message-status]").all_inner_texts() == ["Sent"]
    eventually(mailed, timeout=30, interval=0.5)

    link = page.locator("[data-ticket-pdf]")
    expect(link).to_have_attribute("href", f"/bookings/{ref}/ticket.pdf")
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == f"e-ticket-{ref}.pdf"
    pdf = open(download.path(), "rb").read()
    words = pdf_text(pdf)
    assert pdf.startswith(b"%PDF") and ref in words and "Grace Hopper" in words and "Alan Turing" in words
    assert qr_codes(pdf) == [ref]
    assert "Paid by card" in words and re.search(r"Points earned\s+\+[0-9,]+ points", words)
    _first_page_as_png(pdf, SCREENSHOTS / "ticket-pdf.png")

    page.get_by_role("button", name=re.compile("Log out")).click()
    page.goto(f"/bookings/{ref}/ticket.pdf")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # signed out: asked to log in first
    other = {**new_traveller, "username": new_traveller["username"] + "x",
             "email": "x" + new_traveller["email"]}
    register(page, other)
    answer = page.goto(f"/bookings/{ref}/ticket.pdf")
    assert answer is not None and answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"no booking {ref}")


def _first_page_as_png(pdf: bytes, target) -> None:
    import pypdfium2

    target.parent.mkdir(parents=True, exist_ok=True)
    pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil().save(target)
