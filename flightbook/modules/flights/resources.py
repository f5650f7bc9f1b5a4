"""HTTP <-> the flights service. No business rules here: parse, call, answer."""
from __future__ import annotations

from typing import cast

import falcon

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, MAX_STOPS, SORTS, BookingRequest, CalendarQuery,
                                          FlightQuery, PassengerInput, PassengerType, Registration)
from flightbook.kernel import admin_http, data, validate
from flightbook.kernel.auth import require_user
from flightbook.kernel.errors import NotFound, ValidationError
from flightbook.kernel.money import Money, is_currency


def _principal(req):
    return getattr(req.context, "principal", None)


class Register:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        registration = Registration(
            username=validate.text(body, "username", max_len=40),
            email=validate.email(body),
            password=validate.text(body, "password", max_len=1024, strip=False),
            first_name=validate.text(body, "first_name", max_len=100),
            last_name=validate.text(body, "last_name", max_len=100),
        )
        resp.status = falcon.HTTP_201
        resp.media = data.to_dict(self.service.register(registration))


def client_address(req, body: dict) -> str | None:
    """Who is logging in, for the throttle: the address another part vouches for (the gateway passes the
    browser's with a service token), else the address the request came from."""
    principal = _principal(req)
    if principal is not None and principal.is_service and body.get("client_address") is not None:
        return validate.text(body, "client_address", max_len=200)
    return getattr(req.context, "client_address", None) or req.remote_addr


class Login:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        username = validate.text(body, "username", max_len=40)
        password = validate.text(body, "password", max_len=1024, strip=False)
        result = self.service.login(username, password, client_address(req, body))
        resp.media = data.to_dict(result)


class Refresh:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        resp.media = data.to_dict(self.service.refresh_session(validate.text(body, "refresh_token", max_len=200)))


class Logout:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req) if req.content_length else {}
        self.service.logout(_principal(req), validate.text(body, "refresh_token", max_len=200, required=False))
        resp.status = falcon.HTTP_204


class ChangePassword:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        caller = require_user(_principal(req))
        body = validate.body(req)
        self.service.change_password(caller, validate.text(body, "current_password", max_len=1024, strip=False),
                                     validate.text(body, "new_password", max_len=1024, strip=False))
        resp.status = falcon.HTTP_204


class SessionAlive:
    """Services only: whether a login session still lives (the gateway asks for its web sessions)."""

    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, session_id):
        resp.media = {"alive": self.service.session_alive(session_id[:64], caller=_principal(req))}


class Me:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        caller = require_user(_principal(req))
        resp.media = data.to_dict(self.service.get_user(caller, caller.user_id))


class PlaceSearch:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        q = validate.text(params, "q", max_len=100)
        limit = validate.integer(params, "limit", minimum=1, maximum=50, required=False, default=10)
        resp.media = {"places": [data.to_dict(p) for p in self.service.search_places(q, limit)]}


def _journey_params(params: dict) -> dict:
    """What a search and a fare calendar read alike: the airports, the cabin, the passengers and the stops."""
    return dict(
        origin=validate.text(params, "origin", max_len=3, min_len=3).upper(),
        destination=validate.text(params, "destination", max_len=3, min_len=3).upper(),
        cabin=validate.choice(params, "cabin", CABINS, required=False, default="economy"),
        passengers=_adults(params),
        max_stops=validate.integer(params, "max_stops", minimum=0, maximum=MAX_STOPS, required=False, default=1),
    )


def _adults(params: dict) -> int:
    """``adults``, or ``passengers`` as before passenger types (that many adults); not both unless equal."""
    adults = validate.integer(params, "adults", minimum=1, maximum=MAX_PASSENGERS, required=False)
    passengers = validate.integer(params, "passengers", minimum=1, maximum=MAX_PASSENGERS, required=False)
    if adults is not None and passengers is not None and adults != passengers:
        raise ValidationError("adults", "give adults or passengers (the same: that many adults), not both")
    return adults or passengers or 1


def _party_params(params: dict) -> dict:
    return {kind: validate.integer(params, kind, minimum=0, maximum=MAX_PASSENGERS, required=False, default=0)
            for kind in ("children", "infants")}


class FlightSearch:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        query = FlightQuery(
            **_journey_params(params),
            date=validate.date(params, "date"),
            return_date=validate.date(params, "return_date", required=False),
            sort=validate.choice(params, "sort", SORTS, required=False, default="price"),
            **_party_params(params),
        )
        result = self.service.search_flights(query)
        resp.media = {"outbound": [data.to_dict(o) for o in result.outbound],
                      "return": [data.to_dict(o) for o in result.inbound]}


class TripQuoteResource:
    """``GET /api/flights/quote?cabin=&adults=(or passengers=)&children=&infants=&outbound_id=[&return_id=]``:
    what booking them would cost for that party."""

    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        quote = self.service.quote_trip(
            cabin=validate.choice(params, "cabin", CABINS, required=False, default="economy"),
            passengers=_adults(params),
            outbound_id=validate.text(params, "outbound_id", max_len=80),
            return_id=validate.text(params, "return_id", max_len=80, required=False) or None,
            **_party_params(params))
        resp.media = data.to_dict(quote)


class FlightCalendar:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        query = CalendarQuery(**_journey_params(params), first=validate.date(params, "from"),
                              last=validate.date(params, "to"))
        resp.media = data.to_dict(self.service.flight_calendar(query))


def _passenger(i: int, p) -> PassengerInput:
    """Shapes only; the service checks names and dates, so in-process callers meet the same rules."""
    if not isinstance(p, dict):
        raise ValidationError(f"passengers[{i}]", "must be an object")
    try:
        date_of_birth = validate.date(p, "date_of_birth")
    except ValidationError as exc:
        raise ValidationError(f"passengers[{i}].date_of_birth", exc.message.split(": ", 1)[-1]) from None
    # names go on as sent (cast only for the type checker): the service tells a missing name from a wrong one
    kind = p.get("type")
    if kind is not None and kind not in set(PassengerType):
        raise ValidationError(f"passengers[{i}].type", f"must be one of {', '.join(PassengerType)}")
    return PassengerInput(first_name=cast(str, p.get("first_name")), last_name=cast(str, p.get("last_name")),
                          date_of_birth=date_of_birth, gender=p.get("gender"),
                          type=PassengerType(kind) if kind is not None else None)


def _expected_total(body: dict) -> Money | None:
    value = body.get("expected_total")
    if value is None:
        return None
    amount = value.get("amount") if isinstance(value, dict) else None
    currency = value.get("currency") if isinstance(value, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0 or not isinstance(currency, str) \
            or not is_currency(currency):
        raise ValidationError("expected_total", "must be {amount, currency}: the total search showed, in minor units")
    return Money(amount, currency)


_ITINERARY_ID_CHARS = 80  # three 19-digit flight ids and their dashes fit


def parse_booking_request(body: dict) -> BookingRequest:
    passengers = body.get("passengers")
    if not isinstance(passengers, list):
        raise ValidationError("passengers", "must be a list of passengers")
    parsed = [_passenger(i, p) for i, p in enumerate(passengers)]
    return BookingRequest(
        outbound_id=validate.text(body, "outbound_id", max_len=_ITINERARY_ID_CHARS, required=False),
        return_id=validate.text(body, "return_id", max_len=_ITINERARY_ID_CHARS, required=False),
        outbound_flight_id=validate.integer(body, "outbound_flight_id", minimum=1, required=False),
        return_flight_id=validate.integer(body, "return_flight_id", minimum=1, required=False),
        cabin=validate.text(body, "cabin", max_len=20),
        passengers=parsed,
        contact_email=validate.email(body, "contact_email"),
        expected_total=_expected_total(body),
    )


class Book:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        request = parse_booking_request(validate.body(req))
        resp.status = falcon.HTTP_201
        resp.media = data.to_dict(self.service.book(_principal(req), request))


class Bookings:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        page = validate.integer(params, "page", minimum=1, maximum=100000, required=False, default=1)
        per_page = validate.integer(params, "per_page", minimum=1, maximum=100, required=False, default=20)
        resp.media = data.to_dict(self.service.list_bookings(_principal(req), page, per_page))


class Booking:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, ref):
        caller = _principal(req)
        if caller is None:
            require_user(caller)
        resp.media = data.to_dict(self.service.get_booking(caller, ref.upper()))


class CancelBooking:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, ref):
        resp.media = data.to_dict(self.service.cancel_booking(_principal(req), ref.upper()))


class CancellationQuote:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, ref):
        resp.media = data.to_dict(self.service.quote_cancellation(_principal(req), ref.upper()))


class ConfirmBooking:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, ref):
        body = validate.body(req)
        payment_id = validate.text(body, "payment_id", max_len=64)
        paid = validate.money(body, "paid", required=False)
        resp.media = data.to_dict(self.service.confirm_booking(ref.upper(), payment_id, paid=paid,
                                                               caller=_principal(req)))


class TicketPdf:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, ref):
        pdf = self.service.ticket_pdf(require_user(_principal(req)), ref)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'attachment; filename="e-ticket-{ref.strip().upper()}.pdf"')
        resp.set_header("Cache-Control", "no-store")
        resp.data = pdf


class Messages:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        booking_ref = validate.text(params, "booking_ref", max_len=6, required=False)
        limit = validate.integer(params, "limit", minimum=1, maximum=100, required=False, default=20)
        found = self.service.messages(_principal(req), booking_ref, limit)
        resp.media = {"messages": [data.to_dict(m) for m in found]}


def add_routes(app, service) -> None:
    app.add_route("/api/users/register", Register(service))
    app.add_route("/api/users/login", Login(service))
    app.add_route("/api/users/me", Me(service))
    app.add_route("/api/users/refresh", Refresh(service))
    app.add_route("/api/users/logout", Logout(service))
    app.add_route("/api/users/password", ChangePassword(service))
    app.add_route("/api/users/sessions/{session_id}/alive", SessionAlive(service))
    app.add_route("/api/places/search", PlaceSearch(service))
    app.add_route("/api/flights/quote", TripQuoteResource(service))
    app.add_route("/api/flights/search", FlightSearch(service))
    app.add_route("/api/flights/calendar", FlightCalendar(service))
    app.add_route("/api/flights/book", Book(service))
    # The seed's API calls bookings "tickets" in its URLs; they stay, the code says booking.
    app.add_route("/api/tickets", Bookings(service))
    app.add_route("/api/tickets/{ref}", Booking(service))
    app.add_route("/api/tickets/{ref}/cancel", CancelBooking(service))
    app.add_route("/api/tickets/{ref}/cancellation", CancellationQuote(service))
    app.add_route("/api/tickets/{ref}/confirm", ConfirmBooking(service))
    app.add_route("/api/tickets/{ref}/pdf", TicketPdf(service))
    app.add_route("/api/messages", Messages(service))
    add_admin_routes(app, service)


# the admin console's API (an admin's token; the service checks)
def _stored_id(value: int, what: str) -> int:
    """An id from a path (Falcon's ``int`` converter takes any size): one no database row can have is no such
    thing, not a fault on our side."""
    if not 0 < value < 2 ** 63:
        raise NotFound(f"no {what} {value}")
    return value


class AdminFlights:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        found = self.service.admin_find_flights(
            _principal(req), origin=validate.text(params, "origin", max_len=3, required=False),
            destination=validate.text(params, "destination", max_len=3, required=False),
            date=validate.date(params, "date", required=False),
            number=validate.text(params, "number", max_len=10, required=False),
            limit=validate.integer(params, "limit", minimum=1, maximum=100, required=False, default=50))
        resp.media = {"flights": [data.to_dict(f) for f in found]}


class AdminFlight:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, flight_id):
        resp.media = data.to_dict(self.service.admin_flight(_principal(req), _stored_id(flight_id, "flight")))


class AdminCancelFlight:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, flight_id):
        body = validate.body(req)
        resp.media = data.to_dict(self.service.admin_cancel_flight(
            _principal(req), _stored_id(flight_id, "flight"), validate.text(body, "reason", max_len=500)))


class AdminRescheduleFlight:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, flight_id):
        body = validate.body(req)
        departs = admin_http.moment(body, "departs", naive=True)
        resp.media = data.to_dict(self.service.admin_reschedule_flight(
            _principal(req), _stored_id(flight_id, "flight"), departs,
            validate.text(body, "reason", max_len=500)))


class AdminBookings:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        found = self.service.admin_find_bookings(
            _principal(req), validate.text(params, "q", max_len=254),
            validate.integer(params, "limit", minimum=1, maximum=100, required=False, default=50))
        resp.media = {"bookings": [data.to_dict(b) for b in found]}


class AdminCancelBooking:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, ref):
        body = validate.body(req)
        resp.media = data.to_dict(self.service.admin_cancel_booking(
            _principal(req), ref, admin_http.boolean(body, "full_refund"), validate.text(body, "reason", max_len=500)))


class AdminUsers:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        found = self.service.admin_find_users(
            _principal(req), validate.text(params, "q", max_len=254, required=False) or "",
            validate.integer(params, "limit", minimum=1, maximum=100, required=False, default=50))
        resp.media = {"users": [data.to_dict(u) for u in found]}


class AdminUser:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        resp.media = data.to_dict(self.service.admin_user(_principal(req), _stored_id(user_id, "user")))


class AdminUserBookings:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        params = validate.query(req)
        found = self.service.admin_user_bookings(
            _principal(req), _stored_id(user_id, "user"),
            validate.integer(params, "limit", minimum=1, maximum=100, required=False, default=50))
        resp.media = {"bookings": [data.to_dict(b) for b in found]}


class AdminBlockUser:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, user_id):
        body = validate.body(req)
        resp.media = data.to_dict(self.service.admin_block_user(
            _principal(req), _stored_id(user_id, "user"), admin_http.boolean(body, "blocked"),
            validate.text(body, "reason", max_len=500)))


class AdminOverview:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        resp.media = data.to_dict(self.service.admin_overview(
            _principal(req), validate.date(params, "today"),
            validate.integer(params, "days", minimum=1, maximum=366, required=False, default=30),
            validate.integer(params, "ahead", minimum=1, maximum=62, required=False, default=14)))


def add_admin_routes(app, service) -> None:
    prefix = "/api/admin/flights"
    app.add_route(f"{prefix}/dated", AdminFlights(service))
    app.add_route(f"{prefix}/dated/{{flight_id:int}}", AdminFlight(service))
    app.add_route(f"{prefix}/dated/{{flight_id:int}}/cancel", AdminCancelFlight(service))
    app.add_route(f"{prefix}/dated/{{flight_id:int}}/reschedule", AdminRescheduleFlight(service))
    app.add_route(f"{prefix}/bookings", AdminBookings(service))
    app.add_route(f"{prefix}/bookings/{{ref}}/cancel", AdminCancelBooking(service))
    app.add_route(f"{prefix}/users", AdminUsers(service))
    app.add_route(f"{prefix}/users/{{user_id:int}}", AdminUser(service))
    app.add_route(f"{prefix}/users/{{user_id:int}}/bookings", AdminUserBookings(service))
    app.add_route(f"{prefix}/users/{{user_id:int}}/block", AdminBlockUser(service))
    app.add_route(f"{prefix}/overview", AdminOverview(service))
    admin_http.add_routes(app, service, prefix)
