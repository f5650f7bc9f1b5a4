"""Paying for a held booking (card, points or both) and the loyalty dashboard."""
from __future__ import annotations

from flightbook.gateway.trip_pages import booking_view
from flightbook.gateway.web import Web, page
from flightbook.kernel.errors import Unavailable


class Pay:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp, ref):
        principal = self.web.traveller(req)
        booking = self.web.contracts["flights"].get_booking(principal, ref.upper())
        if booking.status != "HELD":
            self.web.redirect(req, resp, f"/bookings/{booking.ref}")
            return
        self.web.render(req, resp, "pay.html", card_error=None, points=None, **booking_view(self.web, booking))

    @page
    def on_post(self, req, resp, ref):
        self.web.form(req)
        raise Unavailable("Card payments are not available yet. Your seats stay held until the time shown.")


class Loyalty:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        self.web.traveller(req)
        raise Unavailable("The points dashboard is not available yet.")
