"""The flights part's operations for its OpenAPI description, beside ``resources.py`` (kept in step by
tests/kernel/test_openapi.py): each names the contract type it answers with."""
from __future__ import annotations

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, MAX_STOPS, SORTS, BookingPage, BookingView,
                                          CancellationQuote, FareCalendar, FlightOption, LoginResult, MessageView,
                                          Place, UserView)
from flightbook.kernel.money import Money
from flightbook.kernel.openapi import Description, body_schema, path, query

_IATA = {"type": "string", "minLength": 3, "maxLength": 3, "pattern": "^[A-Za-z]{3}$"}
_REF = path("ref", {"type": "string", "maxLength": 16}, "the booking reference", "K7Q2ZD")


def _journey() -> list:
    return [query("origin", _IATA, True, "departure airport (IATA)", "JFK"),
            query("destination", _IATA, True, "arrival airport (IATA)", "LHR"),
            query("cabin", {"type": "string", "enum": list(CABINS), "default": "economy"}),
            query("passengers", {"type": "integer", "minimum": 1, "maximum": MAX_PASSENGERS, "default": 1}),
            query("max_stops", {"type": "integer", "minimum": 0, "maximum": MAX_STOPS, "default": 1})]


_PASSENGER = {"type": "object", "required": ["first_name", "last_name", "date_of_birth"],
              "properties": {"first_name": {"type": "string"}, "last_name": {"type": "string"},
                             "date_of_birth": {"type": "string", "format": "date"},
                             "gender": {"type": ["string", "null"]}}}


def describe(doc: Description) -> None:
    doc.add("/api/users/register", "POST", "create a traveller account", answer=UserView, status=201,
            body=body_schema({"username": str, "email": {"type": "string", "format": "email"}, "password": str,
                              "first_name": str, "last_name": str},
                             required=("username", "email", "password", "first_name", "last_name")),
            body_example={"username": "ada", "email": "ada@example.com", "password": "correct horse battery",
                          "first_name": "Ada", "last_name": "Lovelace"},
            security=(), errors=(400, 409, 422, 503))
    doc.add("/api/users/login", "POST", "sign in: a traveller token", answer=LoginResult,
            body=body_schema({"username": str, "password": str}, required=("username", "password")),
            body_example={"username": "ada", "password": "correct horse battery"}, security=(),
            errors=(400, 401, 503))
    doc.add("/api/users/me", "GET", "the signed-in traveller", answer=UserView, errors=(401, 403, 404, 503))
    doc.add("/api/places/search", "GET", "airports and cities matching a few letters",
            answer={"type": "object", "required": ["places"],
                    "properties": {"places": doc.schema(list[Place])}},
            params=[query("q", {"type": "string", "minLength": 1, "maxLength": 100}, True, example="lon"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 50, "default": 10})],
            security=("optional", "traveller"), errors=(400, 401, 503))
    doc.add("/api/flights/search", "GET", "journeys (direct or connecting) for a date, cheapest first",
            answer={"type": "object", "required": ["outbound", "return"],
                    "properties": {"outbound": doc.schema(list[FlightOption]),
                                   "return": doc.schema(list[FlightOption])}},
            params=_journey() + [
                query("date", {"type": "string", "format": "date"}, True, example="2030-05-01"),
                query("return_date", {"type": "string", "format": "date"}),
                query("sort", {"type": "string", "enum": list(SORTS), "default": "price"})],
            security=("optional", "traveller"), errors=(400, 401, 422, 503))
    doc.add("/api/flights/calendar", "GET", "the cheapest fare of each day of a range", answer=FareCalendar,
            params=_journey() + [query("from", {"type": "string", "format": "date"}, True, example="2030-05-01"),
                                 query("to", {"type": "string", "format": "date"}, True, example="2030-05-31")],
            security=("optional", "traveller"), errors=(400, 401, 422, 503))
    doc.add("/api/flights/book", "POST", "hold seats on a journey for the signed-in traveller", answer=BookingView,
            status=201,
            body=body_schema({"outbound_id": str, "return_id": str, "outbound_flight_id": int,
                              "return_flight_id": int, "cabin": {"type": "string", "enum": list(CABINS)},
                              "passengers": {"type": "array", "items": _PASSENGER, "minItems": 1},
                              "contact_email": {"type": "string", "format": "email"}},
                             required=("cabin", "passengers", "contact_email")),
            body_example={"outbound_id": "1042", "cabin": "economy", "contact_email": "ada@example.com",
                          "passengers": [{"first_name": "Ada", "last_name": "Lovelace",
                                          "date_of_birth": "1985-12-10"}]},
            errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/tickets", "GET", "the traveller's bookings, newest first", answer=BookingPage,
            params=[query("page", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}),
                    query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})],
            errors=(400, 401, 403, 503))
    doc.add("/api/tickets/{ref}", "GET", "one booking (its owner, or a service)", answer=BookingView,
            params=[_REF], security=("traveller", "service"), errors=(400, 401, 403, 404, 503))
    doc.add("/api/tickets/{ref}/cancel", "POST", "cancel a booking (a refund follows by event)",
            answer=BookingView, params=[_REF], errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/tickets/{ref}/cancellation", "GET", "what cancelling now would give back", params=[_REF],
            answer=CancellationQuote, errors=(400, 401, 403, 404, 409, 503))
    doc.add("/api/tickets/{ref}/confirm", "POST", "HELD -> CONFIRMED once paid (payments' call)",
            answer=BookingView, params=[_REF],
            body=body_schema({"payment_id": str, "paid": doc.schema(Money)}, required=("payment_id",)),
            security=("service",), errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/tickets/{ref}/pdf", "GET", "the e-ticket of a confirmed booking", params=[_REF], answer=None,
            content_type="application/pdf", errors=(401, 403, 404, 409, 503))
    doc.add("/api/messages", "GET", "the e-mails sent to the traveller, newest first",
            answer={"type": "object", "required": ["messages"],
                    "properties": {"messages": doc.schema(list[MessageView])}},
            params=[query("booking_ref", {"type": "string", "maxLength": 6}),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})],
            errors=(400, 401, 403, 503))
