"""HTTP <-> the flights service. No business rules here: parse, call, answer."""
from __future__ import annotations

from typing import cast

import falcon

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, MAX_STOPS, SORTS, BookingRequest, CalendarQuery,
                                          FlightQuery, PassengerInput, PassengerType, Registration)
from flightbook.kernel import data, validate
from flightbook.kernel.auth import require_user
from flightbook.kernel.errors import ValidationError
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


class Login:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        result = self.service.login(validate.text(body, "username", max_len=40),
                                    validate.text(body, "password", max_len=1024, strip=False))
        resp.media = data.to_dict(result)


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
    app.add_route("/api/places/search", PlaceSearch(service))
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
