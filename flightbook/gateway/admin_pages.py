"""The admin console under /admin: the overview with its charts, flights, bookings, travellers, points,
events and the audit. For admins only: anyone signed in without ``is_admin`` gets a 404, anyone signed
out the login page. Every change is a POST with the session's CSRF token from a confirmation page that
says what will happen and asks why; the modules check the admin's token again and record the action.

The gateway holds no rules here either: each figure and each change is asked of the module that owns it,
through its contract (in process, or over HTTP with the admin's own token)."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

from flightbook.contracts.flights import BookingStatus
from flightbook.gateway import formatting
from flightbook.gateway.admin_charts import Chart
from flightbook.gateway.web import LoginRequired, Page, Web, page
from flightbook.kernel import clock, validate
from flightbook.kernel.audit import AuditEntry
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import DomainError, NotFound, ValidationError

CHARTS = ("bookings", "revenue", "load", "points", "declines")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AIRPORT = re.compile(r"^[A-Za-z]{3}$")


def admin(web: Web, req) -> Principal:
    """The signed-in admin; LoginRequired when signed out; 404 for anyone else (the console is not there)."""
    principal = web.principal(req)
    if principal is None or principal.is_service:
        raise LoginRequired("Please log in as an admin.")
    if not principal.is_admin:
        raise _not_here()
    return principal


def _not_here() -> NotFound:
    """What anyone but an admin meets at /admin (and anyone at an address that names nothing): the 404 page."""
    return NotFound("There is no page at this address. It may have moved, or the link may be mistyped.",
                    code="not_found")


def _reason(form: dict) -> str:
    reason = (form.get("reason") or "").strip()
    if not reason:
        raise ValidationError("reason", "is required: say why")
    if len(reason) > 500:
        raise ValidationError("reason", "must be at most 500 characters")
    return reason


def _today() -> dt.date:
    return clock.now().date()


class Overview(Page):
    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        charts, figures = overview_charts(self.web, principal)
        self.web.render(req, resp, "admin/overview.html", charts=charts, figures=figures, section="overview")


def overview_charts(web: Web, principal: Principal) -> tuple[dict[str, Chart], dict]:
    """The overview's charts, each from the module that owns its numbers."""
    today = _today()
    flights = web.contracts.flights.admin_overview(principal, today, 30, 14)
    weeks = web.contracts.loyalty.admin_points_by_week(principal, today, 12)
    since = dt.datetime.combine(today - dt.timedelta(days=29), dt.time(), clock.UTC)
    declines = web.contracts.payments.admin_declines(principal, since)
    labels = [formatting.short_day(d.day) for d in flights.days]
    cabins = sorted({load.cabin for load in flights.load}, key=lambda c: ("economy", "business", "first").index(c)
                    if c in ("economy", "business", "first") else 9)
    load_days = sorted({load.day for load in flights.load})
    by_key = {(load.day, load.cabin): load for load in flights.load}
    charts = {
        "bookings": Chart("bookings", "Bookings made per day, last 30 days", labels,
                          {"confirmed": [d.confirmed for d in flights.days],
                           "not confirmed": [d.bookings - d.confirmed for d in flights.days]},
                          stacked=True, columns=["day", "confirmed", "not_confirmed"]),
        "revenue": Chart("revenue", f"Revenue of confirmed bookings per day ({flights.currency}), last 30 days",
                         labels, {"revenue": [d.revenue.amount / 100 for d in flights.days]}, unit=flights.currency,
                         columns=["day", f"revenue_{flights.currency.lower()}"]),
        "load": Chart("load", "Load factor by cabin, next 14 days", [formatting.short_day(d) for d in load_days],
                      {cabin: [round(by_key[(d, cabin)].load_percent, 1) if (d, cabin) in by_key else 0.0
                               for d in load_days] for cabin in cabins},
                      unit="%", max_value=100, columns=["day", *[f"{c}_percent" for c in cabins]]),
        "points": Chart("points", "Points earned, redeemed and expired per week", [formatting.short_day(w.week)
                                                                                    for w in weeks],
                        {"earned": [w.earned for w in weeks], "redeemed": [w.redeemed for w in weeks],
                         "expired": [w.expired for w in weeks]}, columns=["week", "earned", "redeemed", "expired"]),
        "declines": Chart("declines", "Payments declined by code, last 30 days", [d.code for d in declines] or ["none"],
                          {"declined": [d.count for d in declines] or [0]}, columns=["code", "declined"]),
    }
    # the CSV's first column in ISO dates rather than short labels
    iso = {"bookings": [d.day.isoformat() for d in flights.days], "revenue": [d.day.isoformat() for d in flights.days],
           "load": [d.isoformat() for d in load_days], "points": [w.week.isoformat() for w in weeks]}
    for slug, keys in iso.items():
        charts[slug].csv_labels = keys  # type: ignore[attr-defined]
    today_row = flights.days[-1] if flights.days else None
    figures = {"today": today, "bookings_today": today_row.bookings if today_row else 0,
               "confirmed_today": today_row.confirmed if today_row else 0,
               "revenue_today": today_row.revenue if today_row else None, "flights_today": flights.flights_today,
               "held_now": flights.held_now, "users": flights.users,
               "declined_30d": sum(d.count for d in declines)}
    return charts, figures


class ChartCsv(Page):
    @page
    def on_get(self, req, resp, name):
        principal = admin(self.web, req)
        if name not in CHARTS:
            raise _not_here()
        chart = overview_charts(self.web, principal)[0][name]
        labels = getattr(chart, "csv_labels", None)
        if labels:
            chart = Chart(chart.slug, chart.title, labels, chart.series, chart.unit, chart.stacked, chart.max_value,
                          chart.columns)
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", f'attachment; filename="{name}-{_today().isoformat()}.csv"')
        resp.set_header("Cache-Control", "no-store")
        resp.text = chart.csv()


def parse_flight_query(q: str) -> dict:
    """'LHR JFK 2026-12-01', 'BA117', 'JFK 2026-12-01': airports (origin then destination), a date, a number."""
    found: dict = {}
    for word in q.split():
        if _DATE.match(word):
            try:
                found["date"] = dt.date.fromisoformat(word)
            except ValueError:
                raise ValidationError("q", f"{word} is not a date") from None
        elif _AIRPORT.match(word) and "destination" not in found and "number" not in found:
            found["destination" if "origin" in found else "origin"] = word.upper()
        else:
            found["number"] = word.upper()
    return found


class Flights(Page):
    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        q = (validate.query(req).get("q") or "").strip()[:100]
        flights, error = [], None
        if q:
            try:
                flights = self.web.contracts.flights.admin_find_flights(principal, **parse_flight_query(q), limit=100)
            except ValidationError as exc:
                error = exc.message
        self.web.render(req, resp, "admin/flights.html", q=q, flights=flights, error=error, section="flights")


def _flight_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _not_here() from None


class FlightPage(Page):
    @page
    def on_get(self, req, resp, flight_id):
        principal = admin(self.web, req)
        detail = self.web.contracts.flights.admin_flight(principal, _flight_id(flight_id))
        audit = self.web.contracts.flights.admin_audit(principal, 20, f"flight {detail.flight.id}")
        self.web.render(req, resp, "admin/flight.html", detail=detail, f=detail.flight, audit=audit,
                        section="flights", departs_default=detail.flight.departs_local[:16])


class CancelFlight(Page):
    """GET: what cancelling does, and why; POST: do it."""

    @page
    def on_get(self, req, resp, flight_id):
        principal = admin(self.web, req)
        detail = self.web.contracts.flights.admin_flight(principal, _flight_id(flight_id))
        open_bookings = [b for b in detail.bookings if b.status in (BookingStatus.HELD, BookingStatus.CONFIRMED)]
        self.web.render(req, resp, "admin/confirm.html", section="flights",
                        title=f"Cancel flight {detail.flight.flight_number}?",
                        action=f"/admin/flights/{detail.flight.id}/cancel", back=f"/admin/flights/{detail.flight.id}",
                        button="Cancel the flight", danger=True, fields={},
                        lines=[f"{detail.flight.flight_number} {detail.flight.origin}–{detail.flight.destination}, "
                               f"departing {detail.flight.departs_local[:16].replace('T', ' ')} (local).",
                               f"{len(open_bookings)} open booking(s) will be cancelled with a full refund of the card "
                               "and the points used given back; points earned on them are taken back; seats return.",
                               "The flight is closed to new bookings. Doing it again changes nothing."])

    @page
    def on_post(self, req, resp, flight_id):
        principal = admin(self.web, req)
        form = self.web.form(req)
        result = self.web.contracts.flights.admin_cancel_flight(principal, _flight_id(flight_id), _reason(form))
        self.web.redirect(req, resp, f"/admin/flights/{result.flight_id}",
                          f"Flight cancelled: {result.cancelled} booking(s) cancelled with a full refund, "
                          f"{result.already_closed} already closed.")


class RescheduleFlight(Page):
    @page
    def on_get(self, req, resp, flight_id):
        principal = admin(self.web, req)
        departs = validate.query(req).get("departs") or ""
        detail = self.web.contracts.flights.admin_flight(principal, _flight_id(flight_id))
        try:
            moment = dt.datetime.fromisoformat(departs)
        except ValueError:
            self.web.redirect(req, resp, f"/admin/flights/{detail.flight.id}",
                              "Give the new departure as a date and time (the origin's local time).", "error")
            return
        confirmed = sum(b.status == BookingStatus.CONFIRMED for b in detail.bookings)
        self.web.render(req, resp, "admin/confirm.html", section="flights",
                        title=f"Move flight {detail.flight.flight_number}?",
                        action=f"/admin/flights/{detail.flight.id}/reschedule",
                        back=f"/admin/flights/{detail.flight.id}", button="Move the flight", danger=False,
                        fields={"departs": moment.isoformat(timespec="minutes")},
                        lines=[f"From {detail.flight.departs_local[:16].replace('T', ' ')} to "
                               f"{moment.isoformat(timespec='minutes').replace('T', ' ')} "
                               f"({detail.flight.origin} local time).",
                               f"Bookings keep their seats; {confirmed} confirmed traveller(s) get an e-mail with the "
                               "new times."])

    @page
    def on_post(self, req, resp, flight_id):
        principal = admin(self.web, req)
        form = self.web.form(req)
        try:
            departs = dt.datetime.fromisoformat(form.get("departs") or "")
        except ValueError:
            raise ValidationError("departs", "is not a date and time") from None
        result = self.web.contracts.flights.admin_reschedule_flight(principal, _flight_id(flight_id), departs,
                                                                    _reason(form))
        self.web.redirect(req, resp, f"/admin/flights/{result.flight_id}",
                          f"Flight moved to {result.departs_local[:16].replace('T', ' ')}; "
                          f"{result.bookings_told} traveller(s) told." if result.moved else "It already departs then.")


class Bookings(Page):
    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        q = (validate.query(req).get("q") or "").strip()[:254]
        bookings = self.web.contracts.flights.admin_find_bookings(principal, q, 100) if q else []
        self.web.render(req, resp, "admin/bookings.html", q=q, bookings=bookings, section="bookings")


def _events(web: Web, principal: Principal, ref: str) -> list:
    found = [(module, e) for module in ("flights", "payments", "loyalty")
             for e in web.contracts[module].admin_booking_events(principal, ref)]
    return sorted(found, key=lambda pair: pair[1].created_at)


class BookingPage(Page):
    @page
    def on_get(self, req, resp, ref):
        principal = admin(self.web, req)
        booking = self.web.contracts.flights.get_booking(principal, ref)
        user = self.web.contracts.flights.admin_user(principal, booking.user_id)
        payments = self.web.contracts.payments.admin_payments(principal, booking_ref=booking.ref)
        events = _events(self.web, principal, booking.ref)
        audit = self.web.contracts.flights.admin_audit(principal, 20, f"booking {booking.ref}")
        self.web.render(req, resp, "admin/booking.html", booking=booking, user=user, payments=payments,
                        events=events, audit=audit, section="bookings",
                        cancellable=booking.status in (BookingStatus.HELD, BookingStatus.CONFIRMED))


class CancelBooking(Page):
    @page
    def on_get(self, req, resp, ref):
        principal = admin(self.web, req)
        booking = self.web.contracts.flights.get_booking(principal, ref)
        self.web.render(req, resp, "admin/confirm.html", section="bookings", title=f"Cancel booking {booking.ref}?",
                        action=f"/admin/bookings/{booking.ref}/cancel", back=f"/admin/bookings/{booking.ref}",
                        button="Cancel the booking", danger=True, fields={}, refund_choice=True,
                        lines=[f"{booking.ref}: {booking.status}, {formatting.money(booking.total)} for "
                               f"{len(booking.passengers)} passenger(s), on the traveller's behalf.",
                               "By the fare rule the traveller gets back what they would get themselves; with a "
                               "full refund, everything paid (card and points)."])

    @page
    def on_post(self, req, resp, ref):
        principal = admin(self.web, req)
        form = self.web.form(req)
        refund = form.get("refund")
        if refund not in ("fare_rule", "full"):
            raise ValidationError("refund", "choose the fare rule or a full refund")
        booking = self.web.contracts.flights.admin_cancel_booking(principal, ref, refund == "full", _reason(form))
        self.web.redirect(req, resp, f"/admin/bookings/{booking.ref}",
                          f"Booking {booking.ref} cancelled; refund due {formatting.money(booking.refund_due)}."
                          if booking.refund_due else f"Booking {booking.ref} cancelled.")


class Travellers(Page):
    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        q = (validate.query(req).get("q") or "").strip()[:254]
        users = self.web.contracts.flights.admin_find_users(principal, q, 100)
        self.web.render(req, resp, "admin/travellers.html", q=q, users=users, section="travellers")


def _user_id(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _not_here() from None
    if not 0 < number < 2 ** 63:
        raise _not_here()
    return number


class TravellerPage(Page):
    @page
    def on_get(self, req, resp, user_id):
        principal = admin(self.web, req)
        user = self.web.contracts.flights.admin_user(principal, _user_id(user_id))
        bookings = self.web.contracts.flights.admin_user_bookings(principal, user.id, 50)
        payments = self.web.contracts.payments.admin_payments(principal, user_id=user.id)
        account = self.web.contracts.loyalty.get_account(principal, user.id)
        audit = self.web.contracts.flights.admin_audit(principal, 20, f"user {user.id}")
        self.web.render(req, resp, "admin/traveller.html", user=user, bookings=bookings, payments=payments,
                        account=account, audit=audit, section="travellers")


class BlockTraveller(Page):
    @page
    def on_get(self, req, resp, user_id):
        principal = admin(self.web, req)
        user = self.web.contracts.flights.admin_user(principal, _user_id(user_id))
        verb = "Unblock" if user.blocked else "Block"
        self.web.render(req, resp, "admin/confirm.html", section="travellers", title=f"{verb} {user.username}'s login?",
                        action=f"/admin/travellers/{user.id}/block", back=f"/admin/travellers/{user.id}",
                        button=f"{verb} login", danger=not user.blocked,
                        fields={"blocked": "false" if user.blocked else "true"},
                        lines=[f"{user.first_name} {user.last_name} ({user.email}) "
                               + ("may log in again." if user.blocked else
                                  "cannot log in any more; their bookings stay as they are.")])

    @page
    def on_post(self, req, resp, user_id):
        principal = admin(self.web, req)
        form = self.web.form(req)
        blocked = form.get("blocked")
        if blocked not in ("true", "false"):
            raise ValidationError("blocked", "must be true or false")
        user = self.web.contracts.flights.admin_block_user(principal, _user_id(user_id), blocked == "true",
                                                           _reason(form))
        self.web.redirect(req, resp, f"/admin/travellers/{user.id}",
                          f"{user.username}'s login is {'blocked' if user.blocked else 'open again'}.")


class LoyaltyIndex(Page):
    """The tiers (editable) and a way to an account."""

    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        user_id = validate.query(req).get("user_id")
        if user_id:
            self.web.redirect(req, resp, f"/admin/loyalty/{quote(str(user_id).strip(), safe='')}")
            return
        tiers = self.web.contracts.loyalty.tiers()
        audit = [e for e in self.web.contracts.loyalty.admin_audit(principal, 100) if e.action == "tier.change"]
        self.web.render(req, resp, "admin/loyalty_index.html", tiers=tiers, audit=audit, section="loyalty")


class LoyaltyAccount(Page):
    @page
    def on_get(self, req, resp, user_id):
        principal = admin(self.web, req)
        user = self.web.contracts.flights.admin_user(principal, _user_id(user_id))
        loyalty = self.web.contracts.loyalty
        account = loyalty.get_account(principal, user.id)
        lots = loyalty.admin_lots(principal, user.id)
        history = loyalty.history(principal, user.id, 1, 50)
        audit = loyalty.admin_audit(principal, 20, f"user {user.id}")
        self.web.render(req, resp, "admin/loyalty.html", user=user, account=account, lots=lots, history=history,
                        audit=audit, section="loyalty")


class AdjustPoints(Page):
    def _points(self, value) -> int:
        try:
            points = int(str(value).replace(",", "").strip())
        except (TypeError, ValueError):
            raise ValidationError("points", "must be a whole number (negative to take points away)") from None
        if points == 0:
            raise ValidationError("points", "must not be 0")
        return points

    @page
    def on_get(self, req, resp, user_id):
        principal = admin(self.web, req)
        user = self.web.contracts.flights.admin_user(principal, _user_id(user_id))
        points = self._points(validate.query(req).get("points"))
        account = self.web.contracts.loyalty.get_account(principal, user.id)
        self.web.render(req, resp, "admin/confirm.html", section="loyalty",
                        title=f"{'Add' if points > 0 else 'Take away'} {abs(points):,} points?",
                        action=f"/admin/loyalty/{user.id}/adjust", back=f"/admin/loyalty/{user.id}",
                        button="Adjust the points", danger=points < 0, fields={"points": str(points)},
                        lines=[f"{user.username}: balance {account.balance:,}, available {account.available:,}; "
                               f"after: {account.balance + points:,}.",
                               "Recorded as an ADJUST transaction with your name and the reason. "
                               "A balance never goes below zero (nor below the points held for a payment)."])

    @page
    def on_post(self, req, resp, user_id):
        principal = admin(self.web, req)
        form = self.web.form(req)
        account = self.web.contracts.loyalty.admin_adjust(principal, _user_id(user_id),
                                                          self._points(form.get("points")), _reason(form))
        self.web.redirect(req, resp, f"/admin/loyalty/{account.user_id}",
                          f"Points adjusted: the balance is now {account.balance:,}.")


class EditTier(Page):
    def _numbers(self, values: dict) -> tuple[int, int]:
        threshold = validate.integer(values, "threshold", minimum=0, maximum=10 ** 12)
        try:
            multiplier = round(float(str(values.get("multiplier") or "").strip()) * 1000)
        except ValueError:
            raise ValidationError("multiplier", "must be a number such as 1.25") from None
        return threshold, multiplier

    @page
    def on_get(self, req, resp, name):
        admin(self.web, req)
        threshold, multiplier = self._numbers(validate.query(req))
        tier = next((t for t in self.web.contracts.loyalty.tiers() if t.name == name), None)
        if tier is None:
            raise _not_here()
        self.web.render(req, resp, "admin/confirm.html", section="loyalty", title=f"Change the {tier.name} tier?",
                        action=f"/admin/loyalty/tiers/{quote(tier.name, safe='')}", back="/admin/loyalty",
                        button="Change the tier", danger=False,
                        fields={"threshold": str(threshold), "multiplier": f"{multiplier / 1000:g}"},
                        lines=[f"Threshold {tier.threshold:,} → {threshold:,} qualifying points; multiplier "
                               f"x{tier.multiplier_permille / 1000:g} → x{multiplier / 1000:g}.",
                               "Points already earned stay; the tier rule applies from the next change of each "
                               "account. The audit keeps the old values."])

    @page
    def on_post(self, req, resp, name):
        principal = admin(self.web, req)
        form = self.web.form(req)
        threshold, multiplier = self._numbers(form)
        self.web.contracts.loyalty.admin_set_tier(principal, name, threshold, multiplier, _reason(form))
        self.web.redirect(req, resp, "/admin/loyalty", f"The {name} tier is changed.")


class Events(Page):
    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        reports: dict[str, object] = {}
        for module in ("flights", "payments", "loyalty"):
            try:
                reports[module] = self.web.contracts[module].admin_events(principal)
            except DomainError as exc:  # one module away: the others still show
                reports[module] = exc
        self.web.render(req, resp, "admin/events.html", reports=reports, section="events")


class RetryEvents(Page):
    def _target(self, values: dict) -> tuple[str, str | None]:
        module = values.get("module")
        if module not in ("flights", "payments", "loyalty"):
            raise ValidationError("module", "choose flights, payments or loyalty")
        event_id = (values.get("event_id") or "").strip() or None
        if event_id is not None and not re.fullmatch(r"[0-9a-fA-F-]{1,36}", event_id):
            raise ValidationError("event_id", "is not an event id")
        return module, event_id

    @page
    def on_get(self, req, resp):
        admin(self.web, req)
        module, event_id = self._target(validate.query(req))
        self.web.render(req, resp, "admin/confirm.html", section="events",
                        title=f"Retry {'event ' + event_id if event_id else 'every dead letter'} of {module}?",
                        action="/admin/events/retry", back="/admin/events", button="Retry", danger=False,
                        fields={"module": module, "event_id": event_id or ""},
                        lines=["The dead deliveries go back in the outbox, and on the broker back on the module's "
                               "queue, with a fresh set of attempts; each subscriber's inbox makes a repeated "
                               "delivery harmless."])

    @page
    def on_post(self, req, resp):
        principal = admin(self.web, req)
        form = self.web.form(req)
        module, event_id = self._target(form)
        _reason(form)
        retried = self.web.contracts[module].admin_retry_events(principal, event_id)
        self.web.redirect(req, resp, "/admin/events", f"{retried} delivery(ies) of {module} queued again.")


class Audit(Page):
    @page
    def on_get(self, req, resp):
        principal = admin(self.web, req)
        module = validate.query(req).get("module") or ""
        entries: list[AuditEntry] = []
        if module in ("", "flights"):
            entries += self.web.contracts.flights.admin_audit(principal, 100)
        if module in ("", "loyalty"):
            entries += self.web.contracts.loyalty.admin_audit(principal, 100)
        entries.sort(key=lambda e: e.created_at, reverse=True)
        self.web.render(req, resp, "admin/audit.html", entries=entries, module=module, section="audit")


def add_routes(app, web: Web) -> None:
    app.add_route("/admin", Overview(web))
    app.add_route("/admin/overview/{name}.csv", ChartCsv(web))
    app.add_route("/admin/flights", Flights(web))
    app.add_route("/admin/flights/{flight_id}", FlightPage(web))
    app.add_route("/admin/flights/{flight_id}/cancel", CancelFlight(web))
    app.add_route("/admin/flights/{flight_id}/reschedule", RescheduleFlight(web))
    app.add_route("/admin/bookings", Bookings(web))
    app.add_route("/admin/bookings/{ref}", BookingPage(web))
    app.add_route("/admin/bookings/{ref}/cancel", CancelBooking(web))
    app.add_route("/admin/travellers", Travellers(web))
    app.add_route("/admin/travellers/{user_id}", TravellerPage(web))
    app.add_route("/admin/travellers/{user_id}/block", BlockTraveller(web))
    app.add_route("/admin/loyalty", LoyaltyIndex(web))
    app.add_route("/admin/loyalty/tiers/{name}", EditTier(web))
    app.add_route("/admin/loyalty/{user_id}", LoyaltyAccount(web))
    app.add_route("/admin/loyalty/{user_id}/adjust", AdjustPoints(web))
    app.add_route("/admin/events", Events(web))
    app.add_route("/admin/events/retry", RetryEvents(web))
    app.add_route("/admin/audit", Audit(web))

