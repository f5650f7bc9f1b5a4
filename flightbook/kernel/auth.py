"""Tokens: travellers' JWTs (issued by flights at login, verified by every part) and short-lived
service tokens that name the calling part and the audience."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field

import jwt

from flightbook.kernel.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a traveller (maybe an admin) or another part of flightbook."""
    kind: str  # "user" or "service"
    user_id: int | None = None
    username: str | None = None
    is_admin: bool = False
    service: str | None = None
    #: the login session a traveller's token belongs to (flights can end it: logout, revoke-sessions)
    session_id: str | None = None
    #: the bearer token the principal came with, so an HTTP adapter can act for the same caller
    token: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


#: Another part calling in this process: it holds the in-process contract object, which only the wiring
#: hands out, so it is a service. The default caller of the contracts' service-only methods.
IN_PROCESS = Principal(kind="service", service="in-process")


class Tokens:
    """Issues and verifies tokens.

    Two caches keep JWT work off the hops between parts (a booking in four services makes about ten):
    ``service_token`` hands out the same token to a caller for half its lifetime instead of signing one per
    call, and ``verify`` remembers a token it has verified until that token expires (a token's validity
    only ever changes by expiring). Both are keyed by the exact token or (caller, audience)."""

    VERIFIED_MAX = 4096  # remembered tokens per process; the memory is forgotten at once when full

    def __init__(self, secret_key: str, service_secret: str, ttl_seconds: int = 12 * 3600,
                 service_ttl_seconds: int = 60):
        self._secret = secret_key
        self._service_secret = service_secret
        self._ttl = ttl_seconds
        self._service_ttl = service_ttl_seconds
        self._verified: dict = {}  # (token, audience) -> (Principal, expires at)
        self._issued: dict = {}  # (caller, audience) -> (token, reissue after)
        self._lock = threading.Lock()

    def issue_user_token(self, user_id: int, username: str, is_admin: bool,
                         session_id: str | None = None) -> tuple[str, int]:
        """A traveller's access token: it lives ``ttl_seconds`` (minutes), naming its session when it has one."""
        expires_at = int(time.time()) + self._ttl
        claims = {"sub": str(user_id), "username": username, "adm": bool(is_admin), "typ": "user",
                  "iat": int(time.time()), "exp": expires_at}
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires_at

    def issue_service_token(self, caller: str, audience: str) -> str:
        now = int(time.time())
        claims = {"iss": caller, "aud": audience, "typ": "service", "iat": now, "exp": now + self._service_ttl}
        return jwt.encode(claims, self._service_secret, algorithm=ALGORITHM)

    def service_token(self, caller: str, audience: str) -> str:
        """A service token for ``caller`` to call ``audience``: a fresh one at most every half lifetime."""
        now = time.time()
        issued = self._issued.get((caller, audience))
        if issued is not None and now < issued[1]:
            return issued[0]
        token = self.issue_service_token(caller, audience)
        with self._lock:
            self._issued[(caller, audience)] = (token, now + self._service_ttl / 2)
        return token

    def vouch_for_address(self, address: str) -> str:
        """``X-Client-Address`` for a request passed on between parts: the first caller's address, signed with
        the service secret so only another part can say where a request came from."""
        return f"{address} {self._address_signature(address)}"

    def vouched_address(self, header: str | None) -> str | None:
        """The address an ``X-Client-Address`` header names, when another part signed it; else None."""
        address, _, signature = (header or "").rpartition(" ")
        if address and hmac.compare_digest(signature, self._address_signature(address)):
            return address
        return None

    def _address_signature(self, address: str) -> str:
        return hmac.new(self._service_secret.encode(), b"client-address " + address.encode("utf-8", "replace"),
                        hashlib.sha256).hexdigest()

    def verify(self, token: str, audience: str | list | None = None) -> Principal:
        """The principal a bearer token stands for; Unauthorized if it is bad or expired."""
        key = (token, tuple(audience) if isinstance(audience, list) else audience)
        known = self._verified.get(key)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires_at = self._verify(token, audience)
        with self._lock:
            if len(self._verified) >= self.VERIFIED_MAX:
                self._verified.clear()
            self._verified[key] = (principal, expires_at)
        return principal

    def _verify(self, token: str, audience) -> tuple[Principal, float]:
        try:
            header_claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("malformed token", code="invalid_token") from None
        try:
            if header_claims.get("typ") == "service":
                claims = jwt.decode(token, self._service_secret, algorithms=[ALGORITHM],
                                    audience=audience, options={"verify_aud": audience is not None,
                                                                "require": ["exp", "iss"]})
                return Principal(kind="service", service=claims["iss"], token=token), claims["exp"]
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired, log in again", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token", code="invalid_token") from None
        sid = claims.get("sid")
        return Principal(kind="user", user_id=int(claims["sub"]), username=claims.get("username"),
                         is_admin=bool(claims.get("adm")), session_id=sid if isinstance(sid, str) else None,
                         token=token), claims["exp"]


def require_user(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>", code="unauthorized")
    if principal.is_service:
        raise Forbidden("this endpoint is for travellers", code="forbidden")
    return principal


def traveller_id(principal: Principal | None) -> int:
    """The signed-in traveller's user id (401 without a token, 403 for a service)."""
    user_id = require_user(principal).user_id
    if user_id is None:  # a user token always names its user
        raise Unauthorized("this token names no user", code="invalid_token")
    return user_id


def require_service(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("a service token is required", code="unauthorized")
    if not principal.is_service:
        raise Forbidden("only flightbook services may call this endpoint", code="service_only")
    return principal


def require_service_or_admin(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("a service token or an admin's token is required", code="unauthorized")
    if not (principal.is_service or principal.is_admin):
        raise Forbidden("only services and admins may call this endpoint", code="forbidden")
    return principal


def require_self_or_admin(principal: Principal | None, user_id: int, *, allow_service: bool = False) -> Principal:
    if principal is None:
        raise Unauthorized("sign in first", code="unauthorized")
    if principal.is_service and allow_service:
        return principal
    if principal.is_admin or (principal.kind == "user" and principal.user_id == user_id):
        return principal
    raise Forbidden("you may only see your own data", code="forbidden")


def require_admin(principal: Principal | None) -> Principal:
    """An admin's token (a traveller's with ``is_admin``); a service token is not an admin."""
    if principal is None:
        raise Unauthorized("an admin's token is required", code="unauthorized")
    if principal.is_service or not principal.is_admin or principal.user_id is None:
        raise Forbidden("only admins may do this", code="admin_only")
    return principal
