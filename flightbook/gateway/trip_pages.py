"""After booking: the confirmation / e-ticket page, my bookings and cancelling with the refund shown first."""
from __future__ import annotations

from flightbook.gateway.web import Web, page
from flightbook.kernel import validate
from flightbook.kernel.errors import ValidationError

STATUS_LABELS = {"HELD": "Awaiting payment", "CONFIRMED": "Confirmed", "EXPIRED": "Expired",
                 "CANCELLED": "Cancelled"}


def booking_view(web: Web, booking) -> dict:
    places = web.places_for({f.origin for f in booking.flights} | {f.destination for f in booking.flights})
    return {"booking": booking, "status_label": STATUS_LABELS.get(booking.status, booking.status),
            "flights": [web.flight_view(f, places) for f in booking.flights], "places": places}


def points_earned(web: Web, principal, ref: str) -> int | None:
    """Points this booking earned, when the loyalty part can tell (None while it cannot)."""
    loyalty = web.contracts.get("loyalty")
    earned_for = getattr(loyalty, "points_earned_for", None)
    return earned_for(principal, ref) if earned_for else None


class Ticket:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp, ref):
        principal = self.web.traveller(req)
        booking = self.web.contracts["flights"].get_booking(principal, ref.upper())
        if booking.status == "HELD":
            self.web.redirect(req, resp, f"/bookings/{booking.ref}/pay")
            return
        self.web.render(req, resp, "ticket.html", points=points_earned(self.web, principal, booking.ref),
                        **booking_view(self.web, booking))


class MyBookings:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        principal = self.web.traveller(req)
        try:
            page_no = validate.integer(validate.query(req), "page", minimum=1, required=False, default=1)
        except ValidationError:
            page_no = 1
        result = self.web.contracts["flights"].list_bookings(principal, page_no, 10)
        self.web.render(req, resp, "bookings.html", result=result,
                        bookings=[booking_view(self.web, b) for b in result.bookings],
                        pages=max(1, -(-result.total // result.per_page)))


class Cancel:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp, ref):
        principal = self.web.traveller(req)
        flights = self.web.contracts["flights"]
        booking = flights.get_booking(principal, ref.upper())
        quote = flights.quote_cancellation(principal, booking.ref)
        self.web.render(req, resp, "cancel.html", quote=quote, **booking_view(self.web, booking))

    @page
    def on_post(self, req, resp, ref):
        self.web.form(req)
        principal = self.web.traveller(req)
        booking = self.web.contracts["flights"].cancel_booking(principal, ref.upper())
        refund = booking.refund_due
        message = (f"Booking {booking.ref} is cancelled. A refund of {refund.format()} is on its way."
                   if refund and refund.amount else f"Booking {booking.ref} is cancelled.")
        self.web.redirect(req, resp, "/bookings", message)
