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
import threading
import time
from dataclasses import dataclass, field

from flightbook.kernel.errors import Forbidden, Unauthorized

COOKIE = "fb_session"
CSRF_FIELD = "csrf_token"


class CsrfRejected(Forbidden):
    code = "csrf_failed"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token: str | None = None
    expires_at: int | None = None  # of the token, epoch seconds
    refresh: str | None = None  # the session's refresh token: the next access token when this one expires
    flash: dict | None = None  # {"kind": "info" | "error", "text": ...}, shown once
    changed: bool = False

    def sign_in(self, token: str, expires_at: int, refresh: str | None = None) -> None:
        self.token, self.expires_at, self.refresh = token, expires_at, refresh
        self.csrf = secrets.token_urlsafe(24)  # a new token on privilege change
        self.changed = True

    def renew(self, token: str, expires_at: int, refresh: str | None) -> None:
        """The same login's next access and refresh tokens (the CSRF token stays: pages open keep working)."""
        self.token, self.expires_at, self.refresh = token, expires_at, refresh
        self.changed = True

    def sign_out(self) -> None:
        self.token, self.expires_at, self.refresh = None, None, None
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
            return Session(csrf=str(data["c"]), token=data.get("t"), expires_at=data.get("e"), flash=data.get("f"),
                           refresh=data.get("r"))
        except (ValueError, KeyError, TypeError):
            return None

    def save(self, resp, session: Session) -> None:
        if not session.changed:
            return
        payload = json.dumps({"c": session.csrf, "t": session.token, "e": session.expires_at, "f": session.flash,
                              "r": session.refresh},
                             separators=(",", ":")).encode()
        value = base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)
        resp.set_cookie(COOKIE, value, path="/", http_only=True, secure=self._secure, same_site="Lax")


class LiveSessions:
    """What the gateway asks flights about its web sessions: whether one still lives (remembered for at most
    LIVENESS_SECONDS, so a logout anywhere ends a copied cookie within seconds) and the next tokens once an
    access token expired (one refresh per refresh token in this process, shared by the requests that arrive
    together, since a refresh token used twice ends its session)."""

    LIVENESS_SECONDS = 5.0
    RENEWAL_SECONDS = 30.0
    REMEMBERED_MAX = 10000

    def __init__(self, flights, tokens):
        self._flights = flights
        self._tokens = tokens
        self._live: dict = {}  # session id -> (alive, when asked)
        self._renewed: dict = {}  # refresh token -> (LoginResult, when)
        self._lock = threading.Lock()

    def is_live(self, session_id: str) -> bool:
        now = time.monotonic()
        known = self._live.get(session_id)
        if known is not None and now - known[1] < self.LIVENESS_SECONDS:
            return known[0]
        alive = self._flights.session_alive(session_id)
        if len(self._live) >= self.REMEMBERED_MAX:
            self._live.clear()
        self._live[session_id] = (alive, now)
        return alive

    def forget(self, session_id: str) -> None:
        self._live.pop(session_id, None)

    def renewed(self, session: Session):
        """The Principal of the session's next access token (the cookie is updated), or None if it ended."""
        if not session.refresh:
            return None
        with self._lock:
            now = time.monotonic()
            known = self._renewed.get(session.refresh)
            if known is not None and now - known[1] < self.RENEWAL_SECONDS:
                result = known[0]
            else:
                try:
                    result = self._flights.refresh_session(session.refresh)
                except Unauthorized:
                    return None
                if len(self._renewed) >= self.REMEMBERED_MAX:
                    self._renewed.clear()
                self._renewed[session.refresh] = (result, now)
        session.renew(result.token, int(result.expires_at.timestamp()), result.refresh_token)
        try:
            return self._tokens.verify(result.token)
        except Unauthorized:
            return None
