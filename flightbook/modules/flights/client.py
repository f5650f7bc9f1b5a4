"""The flights contract over HTTP (FLIGHTBOOK_FLIGHTS_URL set)."""
from __future__ import annotations

from flightbook.contracts.flights import (BookingPage, BookingRequest, BookingView, FlightOption, FlightQuery,
                                          LoginResult, Place, Registration, SearchResult, UserView)
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Unauthorized
from flightbook.kernel.data import from_dict, to_dict
from flightbook.kernel.httpclient import ServiceClient
from flightbook.kernel.money import Money


def _token(caller: Principal | None) -> str:
    """The traveller's own token, passed on: the flights service decides what they may do."""
    if caller is None or not caller.token:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>", code="unauthorized")
    return caller.token


class Client:
    """Implements FlightsContract by calling a flights service."""

    def __init__(self, urls, tokens, caller: str, settings):
        self.http = ServiceClient("flights", urls, tokens, caller, connect_timeout=settings.http_connect_timeout,
                                  read_timeout=settings.http_read_timeout)

    def register(self, registration: Registration) -> UserView:
        return from_dict(UserView, self.http.call("POST", "/api/users/register", json=to_dict(registration)))

    def login(self, username: str, password: str) -> LoginResult:
        body = self.http.call("POST", "/api/users/login", json={"username": username, "password": password})
        return from_dict(LoginResult, body)

    def get_user(self, caller: Principal, user_id: int) -> UserView:
        return from_dict(UserView, self.http.call("GET", "/api/users/me", token=_token(caller)))

    def search_places(self, q: str, limit: int = 10) -> list[Place]:
        body = self.http.call("GET", "/api/places/search", params={"q": q, "limit": limit})
        return [from_dict(Place, p) for p in body["places"]]

    def search_flights(self, query: FlightQuery) -> SearchResult:
        params = {k: v for k, v in to_dict(query).items() if v is not None}
        body = self.http.call("GET", "/api/flights/search", params=params)
        return SearchResult(outbound=[from_dict(FlightOption, o) for o in body["outbound"]],
                            inbound=[from_dict(FlightOption, o) for o in body["return"]])

    def book(self, caller: Principal, request: BookingRequest) -> BookingView:
        body = self.http.call("POST", "/api/flights/book", json=to_dict(request), token=_token(caller))
        return from_dict(BookingView, body)

    def get_booking(self, caller: Principal | None, ref: str) -> BookingView:
        token = caller.token if caller is not None and not caller.is_service else None
        return from_dict(BookingView, self.http.call("GET", f"/api/tickets/{ref}", token=token))

    def list_bookings(self, caller: Principal, page: int = 1, per_page: int = 20) -> BookingPage:
        body = self.http.call("GET", "/api/tickets", params={"page": page, "per_page": per_page}, token=_token(caller))
        return from_dict(BookingPage, body)

    def cancel_booking(self, caller: Principal, ref: str) -> BookingView:
        # not retried: a second cancel would answer "already cancelled" for a cancel that worked
        return from_dict(BookingView, self.http.call("POST", f"/api/tickets/{ref}/cancel", token=_token(caller)))

    def confirm_booking(self, ref: str, payment_id: str, paid: Money | None = None) -> BookingView:
        body = self.http.call("POST", f"/api/tickets/{ref}/confirm",
                              json={"payment_id": payment_id, "paid": to_dict(paid) if paid else None},
                              idempotent=True)
        return from_dict(BookingView, body)
