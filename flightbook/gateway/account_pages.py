"""Register, log in and log out."""
from __future__ import annotations

import falcon

from flightbook.contracts.flights import LoginBlocked, Registration, TooManyLoginAttempts
from flightbook.gateway.web import Page, page, safe_next
from flightbook.kernel.errors import Conflict, DomainError, Unauthorized, ValidationError

REGISTRATION_FIELDS = ("username", "email", "first_name", "last_name")


class Login(Page):
    @page
    def on_get(self, req, resp):
        next_path = safe_next(req.get_param("next"))
        if self.web.principal(req):
            self.web.redirect(req, resp, next_path)
            return
        self.web.render(req, resp, "login.html", next_path=next_path, username="", error=None)

    @page
    def on_post(self, req, resp):
        form = self.web.form(req)
        next_path = safe_next(form.get("next"))
        username = (form.get("username") or "").strip()
        password = form.get("password") or ""
        if not username or not password:
            return self._again(req, resp, next_path, username, "Enter your username and password.")
        try:
            result = self.web.contracts.flights.login(username, password, req.context.client_address)
        except TooManyLoginAttempts as exc:
            resp.set_header("Retry-After", str(exc.details.get("retry_after", 60)))
            return self._again(req, resp, next_path, username, "Too many failed logins. Please wait "
                               f"{exc.details.get('retry_after', 60)} seconds and try again.", falcon.HTTP_429)
        except LoginBlocked:  # the password was right: say why, on the form, not as an error page
            return self._again(req, resp, next_path, username, "This account is blocked. Please contact the "
                               "airline to have it unblocked.", falcon.HTTP_403)
        except (Unauthorized, ValidationError):
            return self._again(req, resp, next_path, username, "That username and password do not match.")
        self.web.session(req).sign_in(result.token, int(result.expires_at.timestamp()), result.refresh_token)
        self.web.redirect(req, resp, next_path, f"Welcome back, {result.user.first_name}.")

    def _again(self, req, resp, next_path, username, error, status=falcon.HTTP_400):
        self.web.render(req, resp, "login.html", status=status, next_path=next_path,
                        username=username, error=error)


class Register(Page):
    @page
    def on_get(self, req, resp):
        self.web.render(req, resp, "register.html", next_path=safe_next(req.get_param("next")),
                        form={f: "" for f in REGISTRATION_FIELDS}, errors={}, error=None)

    @page
    def on_post(self, req, resp):
        form = self.web.form(req)
        next_path = safe_next(form.get("next"))
        values = {f: (form.get(f) or "").strip() for f in REGISTRATION_FIELDS}
        password = form.get("password") or ""
        if password != (form.get("password_again") or ""):
            return self._again(req, resp, next_path, values, {"password_again": "The two passwords differ."})
        flights = self.web.contracts.flights
        try:
            flights.register(Registration(password=password, **values))
            result = flights.login(values["username"], password, req.context.client_address)
        except ValidationError as exc:
            return self._again(req, resp, next_path, values, {exc.field: _sentence(exc.message)})
        except Conflict as exc:
            return self._again(req, resp, next_path, values, {}, _sentence(exc.message))
        except DomainError as exc:
            return self._again(req, resp, next_path, values, {}, _sentence(exc.message))
        self.web.session(req).sign_in(result.token, int(result.expires_at.timestamp()), result.refresh_token)
        self.web.redirect(req, resp, next_path, f"Welcome to flightbook, {result.user.first_name}!")

    def _again(self, req, resp, next_path, values, errors, error=None):
        self.web.render(req, resp, "register.html", status=falcon.HTTP_400, next_path=next_path,
                        form=values, errors=errors, error=error)


class Logout(Page):
    @page
    def on_post(self, req, resp):
        self.web.form(req)
        session = self.web.session(req)
        if session.token or session.refresh:
            self.web.end_session(self.web.principal(req), session.refresh)
        session.sign_out()
        self.web.redirect(req, resp, "/", "You are logged out. See you soon!")


def _sentence(message: str) -> str:
    """'password: must be at least 10 characters' -> 'Password must be at least 10 characters.'"""
    field, sep, rest = message.partition(": ")
    text = f"{field.replace('_', ' ')} {rest}" if sep and " " not in field else message
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
