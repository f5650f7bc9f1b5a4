"""The gateway: the traveller's web UI and the one-origin API. Stateless; owns no database."""
from __future__ import annotations

import falcon

from flightbook.contracts import Contracts
from flightbook.gateway import (account_pages, admin_pages, booking_pages, loyalty_pages, payment_pages, search_pages,
                                trip_pages)
from flightbook.gateway.api import GatewayApi
from flightbook.gateway.web import HERE, Web
from flightbook.kernel.auth import Tokens
from flightbook.kernel.part import Part
from flightbook.kernel.settings import Settings


def build(settings: Settings, tokens: Tokens, contracts: Contracts) -> Part:

    web = Web(settings, tokens, contracts)
    api = GatewayApi(settings, tokens, session_token=web.session_token)

    def add_routes(app) -> None:
        app.add_error_handler(falcon.HTTPNotFound, web.not_found)
        api.mount(app)
        app.add_static_route("/static", str(HERE / "static"))
        app.add_route("/", search_pages.Home(web))
        app.add_route("/flights", search_pages.Results(web))
        app.add_route("/flights/month", search_pages.MonthView(web))
        app.add_route("/ui/places", search_pages.PlaceSuggestions(web))
        app.add_route("/book/passengers", booking_pages.Passengers(web))
        app.add_route("/book", booking_pages.Book(web))
        app.add_route("/bookings", trip_pages.MyBookings(web))
        app.add_route("/bookings/{ref}", trip_pages.BookingPage(web))
        app.add_route("/bookings/{ref}/cancel", trip_pages.Cancel(web))
        app.add_route("/bookings/{ref}/ticket.pdf", trip_pages.TicketPdf(web))
        app.add_route("/bookings/{ref}/pay", payment_pages.Pay(web))
        app.add_route("/loyalty", loyalty_pages.Loyalty(web))
        app.add_route("/login", account_pages.Login(web))
        app.add_route("/register", account_pages.Register(web))
        app.add_route("/logout", account_pages.Logout(web))
        admin_pages.add_routes(app, web)

    return Part(name="gateway", add_routes=add_routes)
