"""The e-ticket PDF drawn on the canvas: everything the ticket says is on it, a long ticket runs onto a second
page, and its QR code is reportlab's own (the same mask, chosen by the same scores, computed faster)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
import string

import io

from pypdf import PdfReader
from reportlab.graphics.barcode import qrencoder

from flightbook.contracts.flights import BookingStatus, PassengerInput
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.notifications.ticket_pdf import lost_points, qr_modules, render_pdf
from flightbook.modules.flights.notifications.tickets import Paid, Place, Ticket, TicketFlight, local_moment
from tests.mailkit import pdf_text, qr_codes

LHR = Place("LHR", "Heathrow", "London", "Europe/London")
JFK = Place("JFK", "John F. Kennedy International", "New York", "America/New_York")


def a_ticket(ref: str) -> Ticket:
    """London - New York and back, one passenger, paid by card."""
    out = dt.datetime(2027, 3, 1, 9, 5, tzinfo=clock.UTC)
    back = out + dt.timedelta(days=7)
    flights = [TicketFlight(id=1, direction="Outbound", flight_number="FB100", airline="FB", origin=LHR,
                            destination=JFK, departs=local_moment(out, LHR.tz),
                            arrives=local_moment(out + dt.timedelta(hours=8), JFK.tz), duration="8h 00m"),
               TicketFlight(id=2, direction="Return", flight_number="FB101", airline="FB", origin=JFK,
                            destination=LHR, departs=local_moment(back, JFK.tz),
                            arrives=local_moment(back + dt.timedelta(hours=7), LHR.tz), duration="7h 00m")]
    return Ticket(ref=ref, status=BookingStatus.CONFIRMED, cabin="economy", contact_email="ada@example.com",
                  passengers=[PassengerInput(first_name="Ada", last_name="Lovelace", date_of_birth=dt.date(1990, 1, 1))],
                  flights=flights, paid=Paid(total=Money(49900, "USD"), card=Money(49900, "USD"), points_redeemed=None,
                                             points_value=None, points_earned=499),
                  url=f"http://127.0.0.1:8000/bookings/{ref}", site_url="http://127.0.0.1:8000", confirmed_at=out,
                  issued_at=out)


def test_the_ticket_shows_the_reference_its_qr_code_the_flights_the_passengers_and_the_payment():
    ticket = a_ticket("QX42AB")
    pdf = render_pdf(ticket)
    words = pdf_text(pdf)
    assert pdf.startswith(b"%PDF") and qr_codes(pdf) == [ticket.ref]
    for said in (ticket.ref, "London (LHR) → New York (JFK)", "Confirmed · Economy · 1 passenger", "FB · FB100",
                 "FB · FB101", "09:05 GMT", "LHR Heathrow", "JFK John F. Kennedy International", "8h 00m",
                 "Ada Lovelace", "born 01 Jan 1990", "Fare, all passengers", "$499.00", "Paid by card",
                 "+499 points", f"Your booking online: {ticket.url}"):
        assert said in words, said


def test_a_long_ticket_runs_onto_a_second_page_and_wraps_long_names():
    ticket = a_ticket("LONG77")
    far = Place("MEX", "Aeropuerto Internacional de la Ciudad de México Benito Juárez Terminal Dos Norte", "Mexico City",
                "America/Mexico_City")
    passengers = [PassengerInput(first_name=name, last_name="Łukasiewicz", date_of_birth=dt.date(1980, 1, i + 1))
                  for i, name in enumerate(["Ана", "Zoë", "José", "Αλέξης", "Jürgen", "Øyvind", "Şule", "Ǆemal", "Ian"])]
    ticket = dataclasses.replace(
        ticket, flights=[dataclasses.replace(ticket.flights[0], origin=far)] + ticket.flights * 2 + [ticket.flights[1]],
        passengers=passengers, paid=dataclasses.replace(ticket.paid, points_redeemed=12000,
                                                        points_value=Money(12000, "USD"), points_earned=None))
    pdf = render_pdf(ticket)
    pages = pdf_text(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2 and qr_codes(pdf) == [ticket.ref]
    assert "Aeropuerto Internacional de la" in pages and "Benito Juárez" in pages
    assert all(f"{p.first_name} Łukasiewicz" in pages for p in passengers)
    assert "12,000 points ($120.00)" in pages and "on their way to your account" in pages


def test_the_qr_codes_mask_is_scored_as_reportlab_scores_it():
    rng = random.Random(22)
    for _ in range(60):
        text = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.choice((6, 14, 40))))
        qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        qr.addData(text)
        qr.version = qr.calculate_version()
        for mask in range(8):
            qr.makeImpl(True, mask)
            assert lost_points(qr.modules) == qrencoder.QRUtil.getLostPoint(qr)
        qr.make()
        assert qr_modules(text) == tuple(tuple(bool(m) for m in row) for row in qr.modules)
