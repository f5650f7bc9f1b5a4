"""The flights module's use cases behind its contract: the in-process adapter other parts are handed."""
from __future__ import annotations

from flightbook.contracts.flights import (BookingPage, BookingRequest, BookingView, CancellationQuote, FlightQuery,
                                          LoginResult, Place, Registration, SearchResult, UserView)
from flightbook.kernel.money import Money
from flightbook.kernel.auth import Principal, Tokens, require_self_or_admin, require_user
from flightbook.modules.flights import bookings, places, refs, search, users


class FlightsService:
    """Implements FlightsContract in process."""

    def __init__(self, settings, tokens: Tokens):
        self.settings = settings
        self.tokens = tokens
        self.rules = bookings.BookingRules.from_settings(settings)

    # users
    def register(self, registration: Registration) -> UserView:
        return users.register(registration)

    def login(self, username: str, password: str) -> LoginResult:
        return users.login(username, password, self.tokens)

    def get_user(self, caller: Principal, user_id: int) -> UserView:
        require_self_or_admin(caller, user_id)
        return users.get_user(user_id)

    # places and flights
    def search_places(self, q: str, limit: int = 10) -> list[Place]:
        return places.search_places(q, limit)

    def search_flights(self, query: FlightQuery) -> SearchResult:
        return search.search_flights(query)

    # bookings
    def book(self, caller: Principal, request: BookingRequest) -> BookingView:
        caller = require_user(caller)
        return bookings.hold_seats(caller.user_id, request, self.rules)

    def get_booking(self, caller: Principal | None, ref: str) -> BookingView:
        return bookings.get_booking(refs.normalize(ref), viewer=caller)

    def list_bookings(self, caller: Principal, page: int = 1, per_page: int = 20) -> BookingPage:
        caller = require_user(caller)
        return bookings.list_bookings(caller.user_id, page, per_page)

    def cancel_booking(self, caller: Principal, ref: str) -> BookingView:
        caller = require_user(caller)
        return bookings.cancel_booking(refs.normalize(ref), caller, self.rules)

    def quote_cancellation(self, caller: Principal, ref: str) -> CancellationQuote:
        caller = require_user(caller)
        return bookings.quote_cancellation(refs.normalize(ref), caller, self.rules)

    def confirm_booking(self, ref: str, payment_id: str, paid: Money | None = None) -> BookingView:
        return bookings.confirm_booking(refs.normalize(ref), payment_id, paid=paid)

    def expire_holds(self) -> int:
        return bookings.release_expired_holds()
