"""The flights contract over HTTP (FLIGHTBOOK_FLIGHTS_URL set)."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote
from flightbook.contracts.flights import (AdminFlight, AdminFlightDetail, AdminUser, BookingPage, BookingRequest,
                                          BookingView, CalendarQuery, CancellationQuote, FareCalendar,
                                          FlightCancellationResult, FlightOption, FlightQuery, FlightsContract,
                                          FlightsOverview, LoginResult, MessageView, Place, Registration,
                                          RescheduledFlight, SearchResult, TripQuote, UserView)
from flightbook.kernel.admin_http import EventsClient
from flightbook.kernel.auth import IN_PROCESS, Principal
from flightbook.kernel.data import from_dict, to_dict
from flightbook.kernel.httpclient import ServiceClient, bearer
from flightbook.kernel.money import Money


class Client(EventsClient, FlightsContract):
    """Implements FlightsContract by calling a flights service."""
    admin_prefix = "/api/admin/flights"

    def __init__(self, urls, tokens, caller: str, settings):
        self.http = ServiceClient.for_settings("flights", urls, tokens, caller, settings)

    def register(self, registration: Registration) -> UserView:
        return from_dict(UserView, self.http.call("POST", "/api/users/register", json=to_dict(registration)))

    def login(self, username: str, password: str, client_address: str | None = None) -> LoginResult:
        body = self.http.call("POST", "/api/users/login", json={"username": username, "password": password,
                                                                "client_address": client_address})
        return from_dict(LoginResult, body)

    def refresh_session(self, refresh_token: str) -> LoginResult:
        return from_dict(LoginResult, self.http.call("POST", "/api/users/refresh",
                                                     json={"refresh_token": refresh_token}))

    def logout(self, caller: Principal | None, refresh_token: str | None = None) -> None:
        token = caller.token if caller is not None and not caller.is_service else None
        self.http.call("POST", "/api/users/logout", json={"refresh_token": refresh_token}, token=token)

    def session_alive(self, session_id: str, *, caller: Principal | None = IN_PROCESS) -> bool:
        body = self.http.call("GET", f"/api/users/sessions/{quote(session_id, safe='')}/alive",
                              token=bearer(caller))
        return bool(body["alive"])

    def change_password(self, caller: Principal, current_password: str, new_password: str) -> None:
        self.http.call("POST", "/api/users/password", token=bearer(caller),
                       json={"current_password": current_password, "new_password": new_password})

    def get_user(self, caller: Principal, user_id: int) -> UserView:
        return from_dict(UserView, self.http.call("GET", "/api/users/me", token=bearer(caller)))

    def search_places(self, q: str, limit: int = 10) -> list[Place]:
        body = self.http.call("GET", "/api/places/search", params={"q": q, "limit": limit})
        return [from_dict(Place, p) for p in body["places"]]

    def search_flights(self, query: FlightQuery) -> SearchResult:
        params = {k: v for k, v in to_dict(query).items() if v is not None}
        body = self.http.call("GET", "/api/flights/search", params=params)
        return SearchResult(outbound=[from_dict(FlightOption, o) for o in body["outbound"]],
                            inbound=[from_dict(FlightOption, o) for o in body["return"]])

    def flight_calendar(self, query: CalendarQuery) -> FareCalendar:
        params = to_dict(query)
        params["from"], params["to"] = params.pop("first"), params.pop("last")  # Python keywords, API names
        return from_dict(FareCalendar, self.http.call("GET", "/api/flights/calendar", params=params))

    def quote_trip(self, cabin: str, passengers: int, outbound_id: str, return_id: str | None = None,
                   children: int = 0, infants: int = 0) -> TripQuote:
        params = {"cabin": cabin, "passengers": passengers, "outbound_id": outbound_id}
        if return_id is not None:
            params["return_id"] = return_id
        if children:
            params["children"] = children
        if infants:
            params["infants"] = infants
        return from_dict(TripQuote, self.http.call("GET", "/api/flights/quote", params=params))

    def book(self, caller: Principal, request: BookingRequest) -> BookingView:
        body = self.http.call("POST", "/api/flights/book", json=to_dict(request), token=bearer(caller))
        return from_dict(BookingView, body)

    def get_booking(self, caller: Principal | None, ref: str) -> BookingView:
        token = caller.token if caller is not None and not caller.is_service else None
        return from_dict(BookingView, self.http.call("GET", f"/api/tickets/{ref}", token=token))

    def list_bookings(self, caller: Principal, page: int = 1, per_page: int = 20) -> BookingPage:
        body = self.http.call("GET", "/api/tickets", params={"page": page, "per_page": per_page}, token=bearer(caller))
        return from_dict(BookingPage, body)

    def cancel_booking(self, caller: Principal, ref: str) -> BookingView:
        # not retried: a second cancel would answer "already cancelled" for a cancel that worked
        return from_dict(BookingView, self.http.call("POST", f"/api/tickets/{ref}/cancel", token=bearer(caller)))

    def quote_cancellation(self, caller: Principal, ref: str) -> CancellationQuote:
        body = self.http.call("GET", f"/api/tickets/{ref}/cancellation", token=bearer(caller))
        return from_dict(CancellationQuote, body)

    def confirm_booking(self, ref: str, payment_id: str, paid: Money | None = None, *,
                        caller: Principal | None = IN_PROCESS) -> BookingView:
        # a service-only call: it carries this client's service token whatever ``caller`` says
        body = self.http.call("POST", f"/api/tickets/{ref}/confirm",
                              json={"payment_id": payment_id, "paid": to_dict(paid) if paid else None},
                              idempotent=True)
        return from_dict(BookingView, body)

    def ticket_pdf(self, caller: Principal, ref: str) -> bytes:
        return self.http.call_bytes("GET", f"/api/tickets/{ref}/pdf", token=bearer(caller))

    def messages(self, caller: Principal, booking_ref: str | None = None, limit: int = 20) -> list[MessageView]:
        params = {"limit": limit, **({"booking_ref": booking_ref} if booking_ref is not None else {})}
        body = self.http.call("GET", "/api/messages", params=params, token=bearer(caller))
        return [from_dict(MessageView, m) for m in body["messages"]]

    # the admin console's: the admin's own token is passed on
    def admin_find_flights(self, caller: Principal, origin: str | None = None, destination: str | None = None,
                           date: dt.date | None = None, number: str | None = None,
                           limit: int = 50) -> list[AdminFlight]:
        params = {k: v for k, v in {"origin": origin, "destination": destination,
                                    "date": date.isoformat() if date else None, "number": number,
                                    "limit": limit}.items() if v is not None}
        body = self.http.call("GET", f"{self.admin_prefix}/dated", params=params, token=bearer(caller))
        return [from_dict(AdminFlight, f) for f in body["flights"]]

    def admin_flight(self, caller: Principal, flight_id: int) -> AdminFlightDetail:
        body = self.http.call("GET", f"{self.admin_prefix}/dated/{int(flight_id)}", token=bearer(caller))
        return from_dict(AdminFlightDetail, body)

    def admin_cancel_flight(self, caller: Principal, flight_id: int, reason: str) -> FlightCancellationResult:
        # idempotent by design: a retry after a lost answer finishes the work and changes nothing more
        body = self.http.call("POST", f"{self.admin_prefix}/dated/{int(flight_id)}/cancel", json={"reason": reason},
                              token=bearer(caller), idempotent=True)
        return from_dict(FlightCancellationResult, body)

    def admin_reschedule_flight(self, caller: Principal, flight_id: int, departs_local: dt.datetime,
                                reason: str) -> RescheduledFlight:
        body = self.http.call("POST", f"{self.admin_prefix}/dated/{int(flight_id)}/reschedule",
                              json={"departs": departs_local.replace(tzinfo=None).isoformat(), "reason": reason},
                              token=bearer(caller))
        return from_dict(RescheduledFlight, body)

    def admin_find_bookings(self, caller: Principal, q: str, limit: int = 50) -> list[BookingView]:
        body = self.http.call("GET", f"{self.admin_prefix}/bookings", params={"q": q, "limit": limit},
                              token=bearer(caller))
        return [from_dict(BookingView, b) for b in body["bookings"]]

    def admin_cancel_booking(self, caller: Principal, ref: str, full_refund: bool, reason: str) -> BookingView:
        body = self.http.call("POST", f"{self.admin_prefix}/bookings/{quote(str(ref), safe='')}/cancel",
                              json={"full_refund": full_refund, "reason": reason}, token=bearer(caller))
        return from_dict(BookingView, body)

    def admin_find_users(self, caller: Principal, q: str, limit: int = 50) -> list[AdminUser]:
        body = self.http.call("GET", f"{self.admin_prefix}/users", params={"q": q, "limit": limit},
                              token=bearer(caller))
        return [from_dict(AdminUser, u) for u in body["users"]]

    def admin_user(self, caller: Principal, user_id: int) -> AdminUser:
        return from_dict(AdminUser, self.http.call("GET", f"{self.admin_prefix}/users/{int(user_id)}",
                                                   token=bearer(caller)))

    def admin_user_bookings(self, caller: Principal, user_id: int, limit: int = 50) -> list[BookingView]:
        body = self.http.call("GET", f"{self.admin_prefix}/users/{int(user_id)}/bookings", params={"limit": limit},
                              token=bearer(caller))
        return [from_dict(BookingView, b) for b in body["bookings"]]

    def admin_block_user(self, caller: Principal, user_id: int, blocked: bool, reason: str) -> AdminUser:
        body = self.http.call("POST", f"{self.admin_prefix}/users/{int(user_id)}/block",
                              json={"blocked": blocked, "reason": reason}, token=bearer(caller), idempotent=True)
        return from_dict(AdminUser, body)

    def admin_overview(self, caller: Principal, today: dt.date, days: int = 30, ahead: int = 14) -> FlightsOverview:
        body = self.http.call("GET", f"{self.admin_prefix}/overview",
                              params={"today": today.isoformat(), "days": days, "ahead": ahead}, token=bearer(caller))
        return from_dict(FlightsOverview, body)
