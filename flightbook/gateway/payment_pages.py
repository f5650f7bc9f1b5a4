"""Paying for a held booking: card, points or both.

The gateway orchestrates the traveller's steps (hold points, open the intent, charge the card); what points
are worth, what the card pays and whether a charge succeeds are loyalty's and payments' answers."""
from __future__ import annotations

import uuid
from typing import Any

import falcon

from flightbook.contracts.flights import BookingStatus, BookingView
from flightbook.contracts.loyalty import PointsOffer
from flightbook.contracts.payments import CardInput, PaymentStatus
from flightbook.gateway.trip_pages import booking_view
from flightbook.gateway.web import Page, Web, page
from flightbook.kernel import validate
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Conflict, DomainError, ValidationError

#: the payment form's fields a problem may be shown on
PAY_FIELDS = ("points", "card_name", "card_number", "card_expiry", "card_cvc")


def points_offer(web: Web, principal: Principal, booking: BookingView) -> PointsOffer | None:
    """Loyalty's offer of the traveller's points against the booking's total, or None when they have no
    points to use on it."""
    offer = web.contracts.loyalty.points_offer(principal, web.user_id(principal), booking.total)
    return offer if offer.usable > 0 else None


def read_card(form: dict) -> CardInput:
    expiry = (form.get("card_expiry") or "").replace(" ", "")
    month, _, year = expiry.partition("/")
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in (2, 4)):
        raise ValidationError("card_expiry", "enter the expiry as MM/YY")
    number = "".join(ch for ch in (form.get("card_number") or "") if ch.isdigit())
    cvc = (form.get("card_cvc") or "").strip()
    if not number:
        raise ValidationError("card_number", "enter the card number")
    if not cvc:
        raise ValidationError("card_cvc", "enter the security code")
    return CardInput(number=number, exp_month=int(month), exp_year=2000 + int(year) if len(year) == 2 else int(year),
                     cvc=cvc, holder_name=(form.get("card_name") or "").strip()[:100])


class Pay(Page):
    @page
    def on_get(self, req, resp, ref):
        principal, booking = self.web.traveller_booking(req, ref)
        if booking.status != BookingStatus.HELD:
            self.web.redirect(req, resp, f"/bookings/{booking.ref}")
            return
        self.render(req, resp, principal, booking)

    def render(self, req, resp, principal, booking, points_requested: int = 0, card_error: str | None = None,
               card_name: str = "", status=falcon.HTTP_200, errors: dict | None = None, card_expiry: str = ""):
        offer = points_offer(self.web, principal, booking)
        points_requested = min(points_requested, offer.usable) if offer else 0
        quote = self.web.contracts.payments.quote_payment(principal, booking.ref, points_requested)
        self.web.render(req, resp, "pay.html", status=status, points=offer, points_requested=points_requested,
                        split=quote,
                        card_error=card_error, card_name=card_name, card_expiry=card_expiry, errors=errors or {},
                        attempt=uuid.uuid4().hex, **booking_view(self.web, booking))

    @page
    def on_post(self, req, resp, ref):
        form = self.web.form(req)
        principal, booking = self.web.traveller_booking(req, ref)
        if booking.status != BookingStatus.HELD:
            self.web.redirect(req, resp, f"/bookings/{booking.ref}", "This booking is already "
                              f"{booking.status.lower()}.")
            return
        try:
            points = validate.integer(form, "points", minimum=0, required=False, default=0)
        except ValidationError:
            points = -1
        # kept after a problem: the points chosen, the name and the expiry; never the card number or its code
        again: dict[str, Any] = {"points_requested": max(points, 0), "card_name": (form.get("card_name") or "")[:100],
                                 "card_expiry": (form.get("card_expiry") or "")[:7]}
        if points < 0:
            return self.render(req, resp, principal, booking, card_error="Please check the highlighted fields.",
                               errors={"points": "Points must be a whole number."}, status=falcon.HTTP_400, **again)
        try:
            hold = self.hold_points(principal, booking, points)
            # whether the points pay it all is payments' answer (its quote), not worked out here
            if hold and self.web.contracts.payments.quote_payment(principal, booking.ref, hold.points).card.amount == 0:
                self.pay_with_points_only(principal, booking, form.get("attempt") or uuid.uuid4().hex)
                return self.web.redirect(req, resp, f"/bookings/{booking.ref}",
                                         f"Paid with {hold.points:,} points. Booking {booking.ref} is confirmed.")
            result = self.charge_card(principal, booking, read_card(form), form.get("attempt") or uuid.uuid4().hex)
        except ValidationError as exc:
            field = exc.field if exc.field in PAY_FIELDS else "card_number"
            return self.render(req, resp, principal, booking, card_error="Please check the highlighted fields.",
                               errors={field: _readable(exc)}, status=falcon.HTTP_400, **again)
        except Conflict as exc:
            return self.render(req, resp, principal, booking, card_error=exc.message, status=exc.status, **again)
        if result.is_success:
            return self.web.redirect(req, resp, f"/bookings/{booking.ref}",
                                     f"Payment received. Booking {booking.ref} is confirmed.")
        if result.status == PaymentStatus.REFUNDED:
            raise DomainError(result.message or "Your seats were released before the payment arrived; the charge "
                              "was refunded to your card.", code="hold_expired")
        reason = result.message or "The payment did not go through."
        return self.render(req, resp, principal, booking, card_error=f"{reason} Please try another card.",
                           errors={"card_number": f"{reason} Enter another card's number and security code."},
                           status=falcon.HTTP_402, **again)

    def hold_points(self, principal, booking, points: int):
        """The points hold the traveller asked for, replacing an earlier one of another size."""
        loyalty = self.web.contracts.loyalty
        existing = loyalty.active_hold_for_booking(booking.ref)
        if existing is not None and existing.points == points:
            return existing
        if existing is not None:
            loyalty.release_hold(existing.hold_id)
        if points == 0:
            return None
        return loyalty.hold_points(principal, self.web.user_id(principal), points, booking.ref,
                                   booking.total.currency)

    def pay_with_points_only(self, principal, booking, attempt: str) -> None:
        """Points cover the whole fare: payments takes the intent with no card (a payment of 0 made with
        the points hold), and the saga confirms the booking and commits the hold as for a card."""
        payments = self.web.contracts.payments
        intent = payments.create_intent(principal, booking.ref)
        payments.process_payment(principal, intent.id, None, f"{booking.ref}-{attempt}")

    def charge_card(self, principal, booking, card, attempt: str):
        payments = self.web.contracts.payments
        intent = payments.create_intent(principal, booking.ref)
        return payments.process_payment(principal, intent.id, card, f"{booking.ref}-{attempt}")


def _readable(exc: ValidationError) -> str:
    field = exc.field.replace("card_", "card ").replace("_", " ")
    text = exc.message.split(": ", 1)[-1]
    return f"{field[:1].upper()}{field[1:]}: {text}."
