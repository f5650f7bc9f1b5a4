"""After booking: the confirmation / e-ticket page, my bookings and cancelling with the refund shown first."""
from __future__ import annotations

from flightbook.contracts.flights import BookingStatus
from flightbook.contracts.loyalty import HoldStatus, TransactionKind
from flightbook.gateway import formatting
from flightbook.gateway.web import Web, page
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


def spent_points(web: Web, booking):
    """The points hold that paid part of the booking (committed), or None."""
    hold = web.contracts["loyalty"].active_hold_for_booking(booking.ref)
    return hold if hold is not None and hold.status == HoldStatus.COMMITTED else None


def refund_parts(booking, hold, quote) -> dict:
    """Flights' quote (one share of the price for every part) as the traveller gets it back: payments
    refunds that share of the card's charge and loyalty returns that share of the points, rounded down."""
    currency = booking.total.currency
    cash_paid = booking.total - (hold.value if hold is not None else Money(0, currency))
    return {"refund": Money(cash_paid.amount * quote.refund_percent // 100, currency),
            "points": (hold.points if hold is not None else 0) * quote.refund_percent // 100}


def cancellation_view(web: Web, principal, booking) -> dict:
    """What cancelling now gives back, as flights quotes it, shown before the traveller confirms."""
    quote = web.contracts["flights"].quote_cancellation(principal, booking.ref)
    hold = spent_points(web, booking)
    parts = refund_parts(booking, hold, quote)
    if quote.status != BookingStatus.CONFIRMED:
        note = "Nothing has been charged yet: cancelling releases the seats."
    elif quote.refund_percent == 100:
        note = (f"Full refund until {formatting.when(quote.full_refund_until)}." if quote.full_refund_until
                else "Full refund.")
    else:
        note = (f"The full-refund period ended {formatting.when(quote.full_refund_until)}: "
                f"{quote.refund_percent}% of what you paid comes back.")
    return {**parts, "quote": quote, "note": note, "points_used": hold.points if hold is not None else 0}


class Ticket:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp, ref):
        principal, booking = self.web.traveller_booking(req, ref)
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
        principal, booking = self.web.traveller_booking(req, ref)
        view = cancellation_view(self.web, principal, booking)
        if not view["quote"].is_cancellable:
            self.web.redirect(req, resp, f"/bookings/{booking.ref}", _not_cancellable(view["quote"]))
            return
        self.web.render(req, resp, "cancel.html", quote=view, **booking_view(self.web, booking))

    @page
    def on_post(self, req, resp, ref):
        self.web.form(req)
        principal = self.web.traveller(req)
        flights = self.web.contracts["flights"]
        hold = spent_points(self.web, flights.get_booking(principal, ref))  # before loyalty reverses it
        booking = flights.cancel_booking(principal, ref)
        parts = refund_parts(booking, hold, flights.quote_cancellation(principal, booking.ref))
        message = f"Booking {booking.ref} is cancelled."
        if parts["refund"].amount:
            message += f" A refund of {parts['refund'].format()} is on its way."
        if parts["points"]:
            message += f" {parts['points']:,} points go back to your account."
        self.web.redirect(req, resp, "/bookings", message)


def _not_cancellable(quote) -> str:
    if quote.status == BookingStatus.CONFIRMED:
        return f"Booking {quote.ref} cannot be cancelled: its first flight has departed."
    return f"Booking {quote.ref} is {quote.status.lower()}; there is nothing to cancel."
