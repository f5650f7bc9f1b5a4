"""What every page shares: the session, the signed-in traveller, rendering templates, redirects and
turning any error into a readable page (never a traceback)."""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from urllib.parse import quote

import falcon
import jinja2

from flightbook.contracts import Contracts
from flightbook.contracts.flights import BookingStatus, BookingView, Direction
from flightbook.gateway import formatting
from flightbook.gateway.session import CSRF_FIELD, LiveSessions, SessionCookies
from flightbook.kernel.auth import Principal
from flightbook.kernel.settings import Settings
from flightbook.kernel import validate
from flightbook.kernel.errors import DomainError, Unauthorized, ValidationError

log = logging.getLogger("flightbook.gateway")
HERE = Path(__file__).resolve().parent
MAX_FIELD_CHARS = 2000  # of one form field


class LoginRequired(Exception):
    """Raised by a page that needs a signed-in traveller; the page wrapper sends them to log in."""

    def __init__(self, message: str = "Please log in to continue.", next_path: str | None = None):
        super().__init__(message)
        self.message = message
        self.next_path = next_path


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(money=formatting.money, duration=formatting.duration, day=formatting.day,
                       datetime=formatting.when, points=formatting.points, short_day=formatting.short_day)
    env.globals.update(BookingStatus=BookingStatus, Direction=Direction)
    return env


class Web:
    def __init__(self, settings: Settings, tokens, contracts: Contracts):
        self.settings = settings
        self.tokens = tokens
        self.contracts = contracts
        self.cookies = SessionCookies(settings.secret_key, settings.cookie_secure)
        self.sessions = LiveSessions(contracts.flights, tokens)
        self.templates = _environment()

    def session(self, req):
        if not hasattr(req.context, "session"):
            req.context.session = self.cookies.load(req)
        return req.context.session

    def session_token(self, req) -> str | None:
        """The signed-in traveller's JWT, for the /api/gateway proxy. A cookie alone authorises only
        safe methods; a POST must also carry the session's CSRF token in ``X-CSRF-Token``."""
        principal = self.principal(req)
        if principal is None:
            return None
        if req.method not in ("GET", "HEAD"):
            self.session(req).check_csrf(req.get_header("X-CSRF-Token"))
        return principal.token

    def principal(self, req) -> Principal | None:
        """The signed-in traveller: their access token, renewed with the refresh token once it expired, as long
        as flights says their session still lives (asked at most every LIVENESS_SECONDS)."""
        if not hasattr(req.context, "principal_of_session"):
            req.context.principal_of_session = self._principal(self.session(req))
        return req.context.principal_of_session

    def _principal(self, session) -> Principal | None:
        if not session.token:
            return None
        try:
            principal = self.tokens.verify(session.token)
        except Unauthorized:
            principal = self.sessions.renewed(session)
        if principal is None or (principal.session_id and not self.sessions.is_live(principal.session_id)):
            session.sign_out()
            session.say("Your session has expired. Please log in again.", "error")
            return None
        return principal

    def end_session(self, principal: Principal | None, refresh: str | None) -> None:
        """Logout: flights revokes the session, so a copy of the cookie stops working too."""
        try:
            self.contracts.flights.logout(principal, refresh)
        except Unauthorized:
            pass  # already ended
        if principal is not None and principal.session_id:
            self.sessions.forget(principal.session_id)

    def traveller(self, req) -> Principal:
        principal = self.principal(req)
        if principal is None or principal.is_service:
            raise LoginRequired()
        return principal

    @staticmethod
    def user_id(traveller: Principal) -> int:
        """A signed-in traveller's user id (their token always names one)."""
        if traveller.user_id is None:
            raise LoginRequired()
        return traveller.user_id

    def traveller_booking(self, req, ref: str) -> tuple[Principal, BookingView]:
        """The signed-in traveller and their booking ``ref`` (refs are case-insensitive in flights)."""
        principal = self.traveller(req)
        return principal, self.contracts.flights.get_booking(principal, ref)

    def form(self, req) -> dict:
        """The posted form (after checking its CSRF token)."""
        try:
            data = req.get_media(default_when_empty={}) if req.content_length else {}
        except falcon.MediaMalformedError:
            raise ValidationError("form", "could not be read") from None
        if not isinstance(data, dict):
            data = {}
        self.session(req).check_csrf(data.get(CSRF_FIELD))
        return {k: _form_value(k, v[-1] if isinstance(v, list) and v else v) for k, v in data.items()}

    def places_for(self, codes) -> dict:
        """IATA code -> Place (for the city name and time zone); airports change rarely, so cached."""
        cache = self.__dict__.setdefault("_places", {})
        for code in set(codes) - set(cache):
            found = [p for p in self.contracts.flights.search_places(code, 10) if p.iata == code]
            if found:
                cache[code] = found[0]
        return {code: cache[code] for code in codes if code in cache}

    def flight_view(self, flight, places: dict) -> dict:
        """A flight option, one of its legs or a booked flight with its times in the airports' own zones."""
        origin, destination = places.get(flight.origin), places.get(flight.destination)
        return {
            "flight": flight,
            "departs": formatting.local(flight.departs_at, origin.tz if origin else None, flight.departs_local),
            "arrives": formatting.local(flight.arrives_at, destination.tz if destination else None,
                                        flight.arrives_local),
            "origin_city": _city(places, flight.origin),
            "destination_city": _city(places, flight.destination),
            "days_later": formatting.days_between(flight.departs_local, flight.arrives_local),
        }

    def journey_view(self, legs: list, layovers: list, places: dict, whole=None) -> dict:
        """A journey's legs (flight views) and the layovers between them, named by city; ``whole`` is the
        search option the legs make (its row shows the journey as one), or the journey is its first and last
        legs."""
        leg_views = [self.flight_view(leg, places) for leg in legs]
        stays = [{"airport": lay.airport, "city": _city(places, lay.airport), "minutes": lay.minutes}
                 for lay in layovers]
        view = self.flight_view(whole, places) if whole is not None else {
            **leg_views[0], "arrives": leg_views[-1]["arrives"], "destination_city": leg_views[-1]["destination_city"],
            "days_later": formatting.days_between(legs[0].departs_local, legs[-1].arrives_local)}
        return {**view, "legs": leg_views, "layovers": stays, "stops": formatting.stops(stays),
                "origin": legs[0].origin, "destination": legs[-1].destination}

    def render(self, req, resp, template: str, status=falcon.HTTP_200, **context) -> None:
        session = self.session(req)
        principal = self.principal(req)
        context.setdefault("flash", session.take_flash())
        html = self.templates.get_template(template).render(
            csrf_token=session.csrf, csrf_field=CSRF_FIELD, principal=principal, path=req.path,
            relative_uri=req.relative_uri, **context)
        resp.status = status
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; "
                        "form-action 'self'; frame-ancestors 'none'")
        resp.text = html
        self.cookies.save(resp, session)

    def redirect(self, req, resp, location: str, message: str | None = None, kind: str = "info") -> None:
        session = self.session(req)
        if message:
            session.say(message, kind)
        self.cookies.save(resp, session)
        resp.status = falcon.HTTP_303
        resp.location = location

    def error_page(self, req, resp, status: int, message: str, title: str = "Something is not right") -> None:
        self.render(req, resp, "error.html", status=status, title=title, message=message)

    def not_found(self, req, resp, exc, params) -> None:
        """falcon's 404 (no route, no static file) as a readable page for people; /api/* keeps its JSON."""
        if req.path == "/api" or req.path.startswith("/api/"):
            raise exc
        self.error_page(req, resp, 404, "There is no page at this address. It may have moved, or the link "
                                        "may be mistyped.", title="Page not found")


class Page:
    """A page's responders (``on_get``, ``on_post``), with the gateway's ``Web`` they render and act through."""

    def __init__(self, web: Web):
        self.web = web


def _form_value(name: str, value) -> str:
    """A form field is text (a JSON body posted to a form may hold anything): numbers read as text,
    anything else, or text with control characters, is a 400."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(name, "must be text")
    if len(value) > MAX_FIELD_CHARS:
        raise ValidationError(name, f"must be at most {MAX_FIELD_CHARS} characters")
    return validate.check_text(value, name)


def _city(places: dict, code: str) -> str:
    place = places.get(code)
    return (place.city or place.name) if place else code


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def page(responder):
    """Wrap a page's responder: a domain error becomes a readable page, a missing login a redirect,
    anything unexpected a friendly 500 page naming the request id."""

    @functools.wraps(responder)
    def wrapped(self, req, resp, **params):
        web: Web = self.web
        try:
            return responder(self, req, resp, **params)
        except LoginRequired as exc:
            target = exc.next_path or (req.relative_uri if req.method == "GET" else "/")
            web.redirect(req, resp, f"/login?next={quote(safe_next(target), safe='')}", exc.message)
        except Unauthorized:
            web.session(req).sign_out()
            web.redirect(req, resp, f"/login?next={quote(safe_next(req.relative_uri), safe='')}",
                         "Your session has expired. Please log in again.", "error")
        except DomainError as exc:
            web.error_page(req, resp, exc.status, exc.message)
        except falcon.HTTPError as exc:  # raised by falcon itself (a body it cannot parse, ...): not our fault
            web.error_page(req, resp, exc.status_code, exc.description or exc.title or "This request is not valid.")
        except Exception:
            log.exception("page %s %s failed (request %s)", req.method, req.path, req.context.request_id)
            web.error_page(req, resp, 500, "Something went wrong on our side. Please try again in a moment "
                                           f"(reference {req.context.request_id}).", title="Sorry")
    return wrapped
