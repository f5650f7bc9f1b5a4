"""After booking: the confirmation / e-ticket page, my bookings and cancelling with the refund shown first."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import BookingStatus
from flightbook.contracts.loyalty import HoldStatus, TransactionKind
from flightbook.gateway.web import Web, page
from flightbook.kernel import clock
from flightbook.kernel import validate
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money

STATUS_LABELS = {"HELD": "Awaiting payment", "CONFIRMED": "Confirmed", "EXPIRED": "Expired",
                 "CANCELLED": "Cancelled"}


def booking_view(web: Web, booking) -> dict:
    places = web.places_for({f.origin for f in booking.flights} | {f.destination for f in booking.flights})
    return {"booking": booking, "status_label": STATUS_LABELS.get(booking.status, booking.status),
            "flights": [web.flight_view(f, places) for f in booking.flights], "places": places}


def points_on_booking(web: Web, principal, ref: str) -> dict:
    """Points earned on this booking and points used to pay for it, from the traveller's history."""
    history = web.contracts["loyalty"].history(principal, principal.user_id, 1, 100)
    mine = [t for t in history.transactions if t.booking_ref == ref]
    return {"earned": sum(t.points for t in mine if t.kind == TransactionKind.EARN),
            "used": -sum(t.points for t in mine if t.kind == TransactionKind.REDEEM)}


def card_charges(web: Web, principal, ref: str) -> list:
    """The successful card payments for this booking (brand, last four, amount)."""
    history = web.contracts["payments"].history(principal, principal.user_id)
    # a payment of 0 is the points paying it all (payments' "points" method): no card was charged
    return [p for p in history.payments if p.booking_ref == ref and p.status != "failed" and p.amount > 0]


def cancellation_quote(web: Web, booking) -> dict:
    """What cancelling now gives back, shown before the traveller confirms. A preview of the fare rule
    flights applies (full refund until the cutoff before the first departure, the late percentage after);
    the refund actually paid is the one flights records on the cancelled booking."""
    rules, now = web.settings, clock.now()
    hold = web.contracts["loyalty"].active_hold_for_booking(booking.ref)
    points = hold.points if hold is not None and hold.status == HoldStatus.COMMITTED else 0
    if booking.status != BookingStatus.CONFIRMED:
        return {"refund": Money(0, booking.total.currency), "points": points,
                "note": "Nothing has been charged yet: cancelling releases the seats."}
    cash_paid = booking.total - (hold.value if points else Money(0, booking.total.currency))
    first_departure = min(f.departs_at for f in booking.flights)
    if now <= first_departure - dt.timedelta(hours=rules.refund_cutoff_hours):
        return {"refund": cash_paid, "points": points, "note": "Full refund to your card."}
    late = Money(cash_paid.amount * rules.late_refund_percent // 100, cash_paid.currency)
    return {"refund": late, "points": points,
            "note": f"Less than {rules.refund_cutoff_hours} hours before departure: "
                    f"{rules.late_refund_percent}% of the fare is refunded."}


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
        self.web.render(req, resp, "ticket.html", points=points_on_booking(self.web, principal, booking.ref),
                        charges=card_charges(self.web, principal, booking.ref),
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
        if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
            self.web.redirect(req, resp, f"/bookings/{booking.ref}", f"Booking {booking.ref} is "
                              f"{booking.status.lower()}; there is nothing to cancel.")
            return
        quote = cancellation_quote(self.web, booking)
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
