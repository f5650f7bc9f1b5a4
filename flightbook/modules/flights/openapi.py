"""The flights part's operations for its OpenAPI description, beside ``resources.py`` (kept in step by
tests/kernel/test_openapi.py): each names the contract type it answers with."""
from __future__ import annotations

from flightbook.contracts.flights import (CABINS, MAX_PASSENGERS, MAX_STOPS, SORTS, PassengerType, AdminFlight, AdminFlightDetail,
                                          AdminUser, BookingPage, BookingView, CancellationQuote, FareCalendar,
                                          FlightCancellationResult, FlightOption, FlightsOverview, LoginResult,
                                          MessageView, Place, RescheduledFlight, TripQuote, UserView)
from flightbook.kernel.money import Money
from flightbook.kernel.openapi import ERROR, Description, body_schema, describe_admin_events, path, query

_IATA = {"type": "string", "minLength": 3, "maxLength": 3, "pattern": "^[A-Za-z]{3}$"}
_REF = path("ref", {"type": "string", "maxLength": 16}, "the booking reference", "K7Q2ZD")


def _journey() -> list:
    return [query("origin", _IATA, True, "departure airport (IATA)", "JFK"),
            query("destination", _IATA, True, "arrival airport (IATA)", "LHR"),
            query("cabin", {"type": "string", "enum": list(CABINS), "default": "economy"}),
            *_adults(),
            query("max_stops", {"type": "integer", "minimum": 0, "maximum": MAX_STOPS, "default": 1})]


def _adults() -> list:
    return [query("adults", {"type": "integer", "minimum": 1, "maximum": MAX_PASSENGERS, "default": 1},
                  description="adults (12 or older on the day of the last flight); ``passengers`` means the same "
                              "(both given: they must be equal)", example=2),
            query("passengers", {"type": "integer", "minimum": 1, "maximum": MAX_PASSENGERS, "default": 1},
                  description="that many adults (the name from before passenger types)")]


def _party() -> list:
    """The children and infants of a party beside its adults (search and quote; a fare calendar is for adults)."""
    return [query("children", {"type": "integer", "minimum": 0, "maximum": MAX_PASSENGERS, "default": 0},
                  description="children (2-11 on the day of the last flight): a seat each, at the child share of "
                              "the adult fare (default 75 %); adults and children take at most "
                              f"{MAX_PASSENGERS} seats"),
            query("infants", {"type": "integer", "minimum": 0, "maximum": MAX_PASSENGERS, "default": 0},
                  description="infants (under 2): on an adult's lap (at most one per adult), no seat, at the "
                              "infant share of that adult's fare (default 10 %)")]


_PASSENGER = {"type": "object", "required": ["first_name", "last_name", "date_of_birth"],
              "properties": {"first_name": {"type": "string"}, "last_name": {"type": "string"},
                             "date_of_birth": {"type": "string", "format": "date"},
                             "gender": {"type": ["string", "null"]},
                             "type": {"type": ["string", "null"], "enum": [t.value for t in PassengerType] + [None],
                                      "description": "adult, child or infant; left out: the type the date of "
                                                     "birth gives on the day of the last flight (a type that does "
                                                     "not match is a 400 naming the passenger and the rule)"}}}


def describe(doc: Description) -> None:
    doc.add("/api/users/register", "POST", "create a traveller account", answer=UserView, status=201,
            body=body_schema({"username": str, "email": {"type": "string", "format": "email"}, "password": str,
                              "first_name": str, "last_name": str},
                             required=("username", "email", "password", "first_name", "last_name")),
            body_example={"username": "ada", "email": "ada@example.com", "password": "correct horse battery",
                          "first_name": "Ada", "last_name": "Lovelace"},
            security=(), errors=(400, 409, 422, 503))
    doc.add("/api/users/login", "POST", "sign in: a traveller token and a refresh token", answer=LoginResult,
            body=body_schema({"username": str, "password": str,
                              "client_address": {"type": ["string", "null"], "maxLength": 200,
                                                 "description": "read only from a caller with a service token (the "
                                                                "gateway passes the browser's address for the login "
                                                                "throttle, as FlightsContract.login's "
                                                                "client_address); from anyone else it is ignored: "
                                                                "the address the request came from counts (or the "
                                                                "one the gateway vouches for in its signed "
                                                                "X-Client-Address header)"}},
                             required=("username", "password")),
            body_example={"username": "ada", "password": "correct horse battery"}, security=(),
            description="A wrong username or password is a 401; a traveller an admin blocked is a 403 "
                        "``login_blocked``.",
            more={429: ("``too_many_attempts``: too many failed logins for the username or from the address "
                        "(the Retry-After header says when to try again)", ERROR)},
            errors=(400, 401, 403, 503))
    doc.add("/api/users/refresh", "POST", "a new token pair for a live session (the old refresh token is spent)",
            answer=LoginResult, body=body_schema({"refresh_token": {"type": "string", "maxLength": 200}},
                                                 required=("refresh_token",)),
            security=(), description="401 ``session_ended`` when the session ended or the refresh token was "
                                     "used before (which ends its session).", errors=(400, 401, 503))
    doc.add("/api/users/logout", "POST", "end the session of the bearer token (or of a refresh token)", status=204,
            body=body_schema({"refresh_token": {"type": ["string", "null"], "maxLength": 200}}),
            body_required=False, security=("optional", "traveller"), errors=(400, 401, 403, 503))
    doc.add("/api/users/password", "POST", "change the traveller's password: every session of theirs ends",
            status=204, body=body_schema({"current_password": {"type": "string", "maxLength": 1024},
                                          "new_password": {"type": "string", "maxLength": 1024}},
                                         required=("current_password", "new_password")),
            errors=(400, 401, 403, 422, 503))
    doc.add("/api/users/sessions/{session_id}/alive", "GET", "whether a login session still lives (services: "
            "the gateway asks for its web sessions)",
            answer={"type": "object", "required": ["alive"], "properties": {"alive": {"type": "boolean"}}},
            params=[path("session_id", {"type": "string"}, "the session's id (the token's sid)")],
            security=("service",), errors=(400, 401, 403, 503))
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
            params=_journey() + _party() + [
                query("date", {"type": "string", "format": "date"}, True, example="2030-05-01"),
                query("return_date", {"type": "string", "format": "date"}),
                query("sort", {"type": "string", "enum": list(SORTS), "default": "price"})],
            security=("optional", "traveller"), errors=(400, 401, 422, 503))
    doc.add("/api/flights/quote", "GET", "what booking options from search would cost now (what book charges)",
            answer=TripQuote,
            params=[query("outbound_id", {"type": "string", "minLength": 1, "maxLength": 80}, True,
                          "an option id from search", "1042"),
                    query("return_id", {"type": "string", "maxLength": 80}, description="the return option's id"),
                    query("cabin", {"type": "string", "enum": list(CABINS), "default": "economy"}),
                    *_adults(), *_party()],
            description="Priced for the party as booking it would be now, by the booking's own code (each seat "
                        "from its fare bucket, the children's and infants' shares, the advance-purchase rule).",
            security=("optional", "traveller"), errors=(400, 401, 404, 409, 422, 503))
    doc.add("/api/flights/calendar", "GET", "the cheapest fare of each day of a range", answer=FareCalendar,
            params=_journey() + [query("from", {"type": "string", "format": "date"}, True, example="2030-05-01"),
                                 query("to", {"type": "string", "format": "date"}, True, example="2030-05-31")],
            security=("optional", "traveller"), errors=(400, 401, 422, 503))
    doc.add("/api/flights/book", "POST", "hold seats on a journey for the signed-in traveller", answer=BookingView,
            status=201,
            body=body_schema({"outbound_id": str, "return_id": str, "outbound_flight_id": int,
                              "return_flight_id": int, "cabin": {"type": "string", "enum": list(CABINS)},
                              "passengers": {"type": "array", "items": _PASSENGER, "minItems": 1},
                              "contact_email": {"type": "string", "format": "email"},
                              "expected_total": {**doc.schema(Money),
                                                 "description": "the total search (or the quote) showed: a "
                                                                "booking that would cost more now is a 409 "
                                                                "``fare_changed`` and nothing is held"}},
                             required=("cabin", "passengers", "contact_email")),
            body_example={"outbound_id": "1042", "cabin": "economy", "contact_email": "ada@example.com",
                          "passengers": [{"first_name": "Ada", "last_name": "Lovelace",
                                          "date_of_birth": "1985-12-10", "type": "adult"}],
                          "expected_total": {"amount": 19900, "currency": "USD"}},
            description="The total is fixed at the hold: each passenger's fare per flight (``fares``), each seat "
                        "at its fare bucket's price, children's and infants' shares.",
            more={409: ("``fare_changed`` (``details.total``: what the booking costs now, "
                        "``details.expected_total``: what was sent; nothing held), or ``seats_unavailable``, "
                        "``flight_departed``, ``flight_cancelled``", ERROR)},
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
    _describe_admin(doc)


_LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50})
_FLIGHT_ID = path("flight_id", {"type": "integer"}, "the dated flight's id")
_USER_ID = path("user_id", {"type": "integer"}, "the traveller's id")
_REASON = {"type": "string", "minLength": 1, "maxLength": 500}
_FLAG = {"type": "boolean", "description": "also true/false, 1/0, yes/no, on/off as a string"}


def _listing(doc: Description, key: str, tp) -> dict:
    return {"type": "object", "required": [key], "properties": {key: doc.schema(list[tp])}}


def _describe_admin(doc: Description) -> None:
    """The admin console's API: an admin's token (anyone else 403); every change is kept in the audit. The
    router's ``{flight_id:int}`` (Falcon's converter) is ``{flight_id}`` here: anything but a number is a 404."""
    prefix = "/api/admin/flights"
    admin = ("admin",)
    doc.add(f"{prefix}/dated", "GET", "dated flights by route, date (the origin's local) and/or number",
            answer=_listing(doc, "flights", AdminFlight),
            params=[query("origin", {"type": "string", "maxLength": 3}), query("destination", {"type": "string",
                                                                                               "maxLength": 3}),
                    query("date", {"type": "string", "format": "date"}), query("number", {"type": "string",
                                                                                          "maxLength": 10}), _LIMIT],
            security=admin, errors=(400, 401, 403, 503))
    doc.add(f"{prefix}/dated/{{flight_id}}", "GET", "one dated flight: seats, bookings", answer=AdminFlightDetail,
            params=[_FLIGHT_ID], security=admin, errors=(400, 401, 403, 404, 503))
    doc.add(f"{prefix}/dated/{{flight_id}}/cancel", "POST",
            "cancel a flight: every held or confirmed booking on it cancelled with a full refund",
            answer=FlightCancellationResult, params=[_FLIGHT_ID],
            body=body_schema({"reason": _REASON}, required=("reason",)),
            body_example={"reason": "aircraft out of service"}, security=admin,
            errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add(f"{prefix}/dated/{{flight_id}}/reschedule", "POST", "move a flight's departure (local time)",
            answer=RescheduledFlight, params=[_FLIGHT_ID],
            body=body_schema({"departs": {"type": "string", "description": "the new local departure, "
                                                                          "YYYY-MM-DDTHH:MM without an offset",
                                          "examples": ["2030-05-01T09:30"]}, "reason": _REASON},
                             required=("departs", "reason")),
            security=admin, errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add(f"{prefix}/bookings", "GET", "bookings by ref, username, e-mail or a passenger's name",
            answer=_listing(doc, "bookings", BookingView),
            params=[query("q", {"type": "string", "minLength": 1, "maxLength": 254}, True, example="K7Q2ZD"),
                    _LIMIT], security=admin, errors=(400, 401, 403, 503))
    doc.add(f"{prefix}/bookings/{{ref}}/cancel", "POST", "cancel on the traveller's behalf (by the fare rule or "
            "with everything back)", answer=BookingView, params=[_REF],
            body=body_schema({"full_refund": _FLAG, "reason": _REASON}, required=("full_refund", "reason")),
            security=admin, errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add(f"{prefix}/users", "GET", "travellers by username, e-mail or name",
            answer=_listing(doc, "users", AdminUser),
            params=[query("q", {"type": "string", "maxLength": 254}), _LIMIT], security=admin,
            errors=(400, 401, 403, 503))
    doc.add(f"{prefix}/users/{{user_id}}", "GET", "one traveller", answer=AdminUser, params=[_USER_ID],
            security=admin, errors=(400, 401, 403, 404, 503))
    doc.add(f"{prefix}/users/{{user_id}}/bookings", "GET", "a traveller's bookings, newest first",
            answer=_listing(doc, "bookings", BookingView), params=[_USER_ID, _LIMIT], security=admin,
            errors=(400, 401, 403, 404, 503))
    doc.add(f"{prefix}/users/{{user_id}}/block", "POST", "block (or unblock) a traveller's login; their "
            "sessions end", answer=AdminUser, params=[_USER_ID],
            body=body_schema({"blocked": _FLAG, "reason": _REASON}, required=("blocked", "reason")),
            security=admin, errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add(f"{prefix}/overview", "GET", "the overview's figures: the last days' and the load of the days ahead",
            answer=FlightsOverview,
            params=[query("today", {"type": "string", "format": "date"}, True, example="2030-05-01"),
                    query("days", {"type": "integer", "minimum": 1, "maximum": 366, "default": 30}),
                    query("ahead", {"type": "integer", "minimum": 1, "maximum": 62, "default": 14})],
            security=admin, errors=(400, 401, 403, 503))
    describe_admin_events(doc, prefix)
