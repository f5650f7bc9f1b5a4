"""After booking: the confirmation / e-ticket page, my bookings and cancelling with the refund shown first."""
from __future__ import annotations

from flightbook.contracts.flights import BookingStatus, BookingView, Direction
from flightbook.contracts.payments import PaymentStatus
from flightbook.gateway import formatting
from flightbook.gateway.web import Page, Web, page
from flightbook.kernel import validate
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import ValidationError

STATUS_LABELS = {BookingStatus.HELD: "Awaiting payment", BookingStatus.CONFIRMED: "Confirmed",
                 BookingStatus.EXPIRED: "Expired", BookingStatus.CANCELLED: "Cancelled"}


def booking_view(web: Web, booking: BookingView) -> dict:
    places = web.places_for({f.origin for f in booking.flights} | {f.destination for f in booking.flights})
    return {"booking": booking, "status_label": STATUS_LABELS.get(booking.status, booking.status),
            "flights": [web.flight_view(f, places) for f in booking.flights], "places": places,
            "journeys": journeys(web, booking, places)}


def journeys(web: Web, booking: BookingView, places: dict) -> list[dict]:
    """The booking's way out and (if any) way back, each with its legs and the layovers between them."""
    found = []
    for direction in (Direction.OUTBOUND, Direction.RETURN):
        legs = [f for f in booking.flights if f.direction == direction]
        if legs:
            layovers = [lay for lay in booking.layovers if lay.direction == direction]
            found.append({"direction": direction, "label": "Outbound" if direction == Direction.OUTBOUND else "Return",
                          **web.journey_view(legs, layovers, places)})
    return found


def card_charges(web: Web, principal: Principal, ref: str) -> list:
    """The card payments that went through for this booking (brand, last four, amount)."""
    history = web.contracts.payments.history(principal, web.user_id(principal))
    # a payment of 0 is the points paying it all (payments' "points" method): no card was charged
    return [p for p in history.payments if p.booking_ref == ref and p.status != PaymentStatus.FAILED and p.amount > 0]


def refund_parts(web: Web, principal: Principal, ref: str, refund_percent: int) -> dict:
    """What goes back at the fare rule's ``refund_percent``, as the owners say: payments for the card,
    loyalty for the points redeemed."""
    card = web.contracts.payments.quote_refund(principal, ref, refund_percent)
    points = web.contracts.loyalty.quote_points_return(principal, ref, refund_percent)
    return {"refund": card.refund, "paid": card.paid, "points": points.returned, "points_used": points.redeemed}


def cancellation_view(web: Web, principal: Principal, booking: BookingView) -> dict:
    """What cancelling now gives back, as flights, payments and loyalty quote it, shown before the
    traveller confirms."""
    quote = web.contracts.flights.quote_cancellation(principal, booking.ref)
    parts = refund_parts(web, principal, booking.ref, quote.refund_percent)
    if quote.status != BookingStatus.CONFIRMED:
        note = "Nothing has been charged yet: cancelling releases the seats."
    elif quote.refund_percent == 100:
        note = (f"Full refund until {formatting.when(quote.full_refund_until)}." if quote.full_refund_until
                else "Full refund.")
    else:
        note = (f"The full-refund period ended {formatting.when(quote.full_refund_until)}: "
                f"{quote.refund_percent}% of what you paid comes back.")
    return {**parts, "quote": quote, "note": note}


class BookingPage(Page):
    """One booking: its e-ticket once confirmed (a held one is still to be paid)."""

    @page
    def on_get(self, req, resp, ref):
        principal, booking = self.web.traveller_booking(req, ref)
        if booking.status == BookingStatus.HELD:
            self.web.redirect(req, resp, f"/bookings/{booking.ref}/pay")
            return
        self.web.render(req, resp, "ticket.html",
                        points=self.web.contracts.loyalty.booking_points(principal, booking.ref),
                        charges=card_charges(self.web, principal, booking.ref),
                        messages=self.web.contracts.flights.messages(principal, booking.ref),
                        **booking_view(self.web, booking))


def card_refunds(web: Web, principal: Principal) -> dict[str, list]:
    """Booking ref -> the refunds payments recorded to the traveller's cards for it (each as payments has it)."""
    found: dict[str, list] = {}
    for payment in web.contracts.payments.history(principal, web.user_id(principal)).payments:
        found.setdefault(payment.booking_ref, []).extend(payment.refunds)
    return found


def settled(web: Web, principal: Principal, booking: BookingView, refunds: dict[str, list]) -> dict:
    """A cancelled booking's refunds as their owners record them: payments' to the card, loyalty's points."""
    if booking.status != BookingStatus.CANCELLED:
        return {"refunds": [], "points_returned": 0}
    points = web.contracts.loyalty.booking_points(principal, booking.ref)
    return {"refunds": refunds.get(booking.ref, []), "points_returned": points.returned}


class TicketPdf(Page):
    """The e-ticket as a PDF, for its owner (flights renders it; anyone else gets the 404 page)."""

    @page
    def on_get(self, req, resp, ref):
        principal = self.web.traveller(req)
        pdf = self.web.contracts.flights.ticket_pdf(principal, ref)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'attachment; filename="e-ticket-{ref.strip().upper()}.pdf"')
        resp.set_header("Cache-Control", "no-store")
        resp.data = pdf


class MyBookings(Page):
    @page
    def on_get(self, req, resp):
        principal = self.web.traveller(req)
        try:
            page_no = validate.integer(validate.query(req), "page", minimum=1, required=False, default=1)
        except ValidationError:
            page_no = 1
        result = self.web.contracts.flights.list_bookings(principal, page_no, 10)
        refunds = card_refunds(self.web, principal)
        self.web.render(req, resp, "bookings.html", result=result,
                        messages=self.web.contracts.flights.messages(principal, limit=10),
                        bookings=[{**booking_view(self.web, b), **settled(self.web, principal, b, refunds)}
                                  for b in result.bookings],
                        pages=max(1, -(-result.total // result.per_page)))


class Cancel(Page):
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
        flights = self.web.contracts.flights
        booking = flights.cancel_booking(principal, ref)
        parts = refund_parts(self.web, principal, booking.ref,
                             flights.quote_cancellation(principal, booking.ref).refund_percent)
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
