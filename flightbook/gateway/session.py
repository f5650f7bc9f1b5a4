"""The traveller's session: a signed cookie holding their JWT, a CSRF token and a one-shot message.

The gateway keeps no state of its own, so everything a browser session needs rides in this cookie,
signed with a key derived from the secret key (tampering makes the cookie worthless, not an error).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from flightbook.kernel.errors import Forbidden

COOKIE = "fb_session"
CSRF_FIELD = "csrf_token"


class CsrfRejected(Forbidden):
    code = "csrf_failed"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token: str | None = None
    expires_at: int | None = None  # of the token, epoch seconds
    flash: dict | None = None  # {"kind": "info" | "error", "text": ...}, shown once
    changed: bool = False

    def sign_in(self, token: str, expires_at: int) -> None:
        self.token, self.expires_at = token, expires_at
        self.csrf = secrets.token_urlsafe(24)  # a new token on privilege change
        self.changed = True

    def sign_out(self) -> None:
        self.token, self.expires_at = None, None
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True

    def say(self, text: str, kind: str = "info") -> None:
        self.flash = {"kind": kind, "text": text}
        self.changed = True

    def take_flash(self) -> dict | None:
        message, self.flash = self.flash, None
        if message:
            self.changed = True
        return message

    def check_csrf(self, submitted) -> None:
        if not isinstance(submitted, str) or not hmac.compare_digest(submitted, self.csrf):
            raise CsrfRejected("This form has expired. Please go back, reload the page and try again.")


class SessionCookies:
    """Reads and writes the session cookie: HttpOnly, SameSite=Lax, Secure when configured."""

    def __init__(self, secret_key: str, secure: bool):
        self._key = hmac.new(secret_key.encode(), b"flightbook gateway session", hashlib.sha256).digest()
        self._secure = secure

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def load(self, req) -> Session:
        raw = req.cookies.get(COOKIE)
        session = self._decode(raw) if raw else None
        if session is None:
            session = Session(changed=True)
        return session

    def _decode(self, raw: str) -> Session | None:
        body, _, signature = raw.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(payload)
            return Session(csrf=str(data["c"]), token=data.get("t"), expires_at=data.get("e"), flash=data.get("f"))
        except (ValueError, KeyError, TypeError):
            return None

    def save(self, resp, session: Session) -> None:
        if not session.changed:
            return
        payload = json.dumps({"c": session.csrf, "t": session.token, "e": session.expires_at, "f": session.flash},
                             separators=(",", ":")).encode()
        value = base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)
        resp.set_cookie(COOKIE, value, path="/", http_only=True, secure=self._secure, same_site="Lax")
