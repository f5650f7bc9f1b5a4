"""Paying for a held booking (card, points or both) and the loyalty dashboard.

The gateway orchestrates the traveller's steps (hold points, open the intent, charge the card); what is
due, what points are worth and whether a charge succeeds are decided by flights, loyalty and payments."""
from __future__ import annotations

import datetime as dt
import uuid

import falcon

from flightbook.contracts.flights import BookingStatus
from flightbook.contracts.payments import CardInput
from flightbook.gateway.trip_pages import booking_view
from flightbook.gateway.web import Web, page
from flightbook.kernel import validate
from flightbook.kernel.errors import Conflict, DomainError, ValidationError
from flightbook.kernel.money import Money

DECLINE_REASONS = {
    "card_declined": "Your bank declined this card.",
    "insufficient_funds": "The card does not have enough funds for this payment.",
    "expired_card": "This card has expired.",
    "incorrect_cvc": "The security code (CVC) is not right.",
    "invalid_number": "That card number is not valid.",
}


def worth(points: int, rate) -> int:
    """Minor units ``points`` pay at loyalty's rate (whole blocks of ``rate.points``, as loyalty holds them)."""
    return points // rate.points * rate.value.amount


def points_offer(web: Web, principal, booking) -> dict | None:
    """What the points control needs (loyalty's rate for the booking's currency, rendered for the page's
    live split), or None when the traveller has no points to use."""
    loyalty = web.contracts["loyalty"]
    account = loyalty.get_account(principal, principal.user_id)
    if account.available <= 0:
        return None
    rate = loyalty.points_rate(booking.total.currency)
    needed = -(-booking.total.amount // rate.value.amount) * rate.points
    usable = min(account.available - account.available % rate.points, needed)
    if usable <= 0:
        return None
    return {"balance": account.available, "usable": usable, "rate": rate, "covers_total": usable >= needed,
            "value": Money(worth(account.available, rate), booking.total.currency)}


def split(total: Money, points: int, rate) -> dict:
    covered = min(total.amount, worth(points, rate)) if points else 0
    return {"points": points, "points_value": Money(covered, total.currency),
            "cash": Money(total.amount - covered, total.currency)}


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


class Pay:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp, ref):
        principal, booking = self.web.traveller_booking(req, ref)
        if booking.status != BookingStatus.HELD:
            self.web.redirect(req, resp, f"/bookings/{booking.ref}")
            return
        self.render(req, resp, principal, booking)

    def render(self, req, resp, principal, booking, points_requested: int = 0, card_error: str | None = None,
               card_name: str = "", status=falcon.HTTP_200):
        offer = points_offer(self.web, principal, booking)
        points_requested = min(points_requested, offer["usable"]) if offer else 0
        self.web.render(req, resp, "pay.html", status=status, points=offer, points_requested=points_requested,
                        split=split(booking.total, points_requested, offer and offer["rate"]),
                        card_error=card_error, card_name=card_name,
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
        again = dict(points_requested=max(points, 0), card_name=form.get("card_name") or "")
        if points < 0:
            return self.render(req, resp, principal, booking, card_error="Points must be a whole number.",
                               status=falcon.HTTP_400, **again)
        try:
            hold = self.hold_points(principal, booking, points)
            covered = hold.value.amount if hold else 0
            if covered >= booking.total.amount:
                self.pay_with_points_only(principal, booking, form.get("attempt") or uuid.uuid4().hex)
                return self.web.redirect(req, resp, f"/bookings/{booking.ref}",
                                         f"Paid with {hold.points:,} points. Booking {booking.ref} is confirmed.")
            result = self.charge_card(principal, booking, read_card(form), form.get("attempt") or uuid.uuid4().hex)
        except ValidationError as exc:
            return self.render(req, resp, principal, booking, card_error=_readable(exc), status=falcon.HTTP_400,
                               **again)
        except Conflict as exc:
            return self.render(req, resp, principal, booking, card_error=exc.message, status=exc.status, **again)
        if result.is_success:
            return self.web.redirect(req, resp, f"/bookings/{booking.ref}",
                                     f"Payment received. Booking {booking.ref} is confirmed.")
        if result.status == "refunded":
            raise DomainError(result.message or "Your seats were released before the payment arrived; the charge "
                              "was refunded to your card.", code="hold_expired")
        reason = DECLINE_REASONS.get(result.failure_code, result.message or "The payment did not go through.")
        return self.render(req, resp, principal, booking, card_error=f"{reason} Please try another card.",
                           status=falcon.HTTP_402, **again)

    def hold_points(self, principal, booking, points: int):
        """The points hold the traveller asked for, replacing an earlier one of another size."""
        loyalty = self.web.contracts["loyalty"]
        existing = loyalty.active_hold_for_booking(booking.ref)
        if existing is not None and existing.points == points:
            return existing
        if existing is not None:
            loyalty.release_hold(existing.hold_id)
        if points == 0:
            return None
        return loyalty.hold_points(principal, principal.user_id, points, booking.ref, booking.total.currency)

    def pay_with_points_only(self, principal, booking, attempt: str) -> None:
        """Points cover the whole fare: payments takes the intent with no card (a payment of 0 made with
        the points hold), and the saga confirms the booking and commits the hold as for a card."""
        payments = self.web.contracts["payments"]
        intent = payments.create_intent(principal, booking.ref)
        payments.process_payment(principal, intent.id, None, f"{booking.ref}-{attempt}")

    def charge_card(self, principal, booking, card, attempt: str):
        payments = self.web.contracts["payments"]
        intent = payments.create_intent(principal, booking.ref)
        return payments.process_payment(principal, intent.id, card, f"{booking.ref}-{attempt}")


def _readable(exc: ValidationError) -> str:
    field = exc.field.replace("card_", "card ").replace("_", " ")
    text = exc.message.split(": ", 1)[-1]
    return f"{field[:1].upper()}{field[1:]}: {text}."


class Loyalty:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        principal = self.web.traveller(req)
        loyalty = self.web.contracts["loyalty"]
        account = loyalty.get_account(principal, principal.user_id)
        tiers = sorted(loyalty.tiers(), key=lambda t: t.threshold)
        current = next((t for t in tiers if t.name == account.tier), tiers[0] if tiers else None)
        following = next((t for t in tiers if t.name == account.next_tier), None)
        progress = 100
        if current and following and following.threshold > current.threshold:
            progress = max(0, min(100, (account.qualifying_points - current.threshold) * 100
                                  // (following.threshold - current.threshold)))
        try:
            page_no = validate.integer(validate.query(req), "page", minimum=1, required=False, default=1)
        except ValidationError:
            page_no = 1
        history = loyalty.history(principal, principal.user_id, page_no, 20)
        self.web.render(req, resp, "loyalty.html", account=account, tiers=tiers, current=current,
                        following=following, progress=progress, history=history,
                        pages=max(1, -(-history.total // history.per_page)), today=dt.date.today())
