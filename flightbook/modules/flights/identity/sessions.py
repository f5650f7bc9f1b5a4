"""Travellers' sessions: a login opens one; its refresh token (``<session id>.<secret>``) is kept only as a
hash and changes on every use. Presenting a refresh token the session has already moved past means a copy was
taken, so the whole session is revoked. Logout, a password change and ``flightbook revoke-sessions`` revoke."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flightbook.kernel import clock
from flightbook.kernel.errors import Unauthorized
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.models import UserSession


class SessionEnded(Unauthorized):
    code = "session_ended"


@dataclass(frozen=True)
class Opened:
    session_id: str
    refresh_token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(refresh_token) -> tuple[str, str]:
    if not isinstance(refresh_token, str) or len(refresh_token) > 200:
        raise SessionEnded("this refresh token is not valid; log in again")
    session_id, _, secret = refresh_token.partition(".")
    if not session_id or not secret:
        raise SessionEnded("this refresh token is not valid; log in again")
    return session_id, secret


def open_session(uow: UnitOfWork, user_id: int, lifetime: dt.timedelta, now: dt.datetime) -> Opened:
    session_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    with uow.transaction():
        UserSession.create(id=session_id, user_id=user_id, refresh_hash=_hash(secret), created_at=clock.to_db(now),
                           refreshed_at=clock.to_db(now), expires_at=clock.to_db(now + lifetime))
    return Opened(session_id, f"{session_id}.{secret}")


def rotate(uow: UnitOfWork, refresh_token: str, now: dt.datetime) -> tuple[int, Opened]:
    """(user id, the session with its new refresh token). A revoked, expired or unknown session, or an old
    refresh token of a live one (which revokes it), is 401 ``session_ended``."""
    session_id, secret = _split(refresh_token)
    with uow.transaction():
        row = UserSession.get_or_none(UserSession.id == session_id)
        if row is None or row.revoked_at is not None or clock.from_db(row.expires_at) <= now:
            raise SessionEnded("this session has ended; log in again")
        new_secret = secrets.token_urlsafe(32)
        # conditional on the hash still being the one presented, so two uses of one token cannot both rotate
        moved = (UserSession.update(refresh_hash=_hash(new_secret), refreshed_at=clock.to_db(now))
                 .where((UserSession.id == session_id) & (UserSession.refresh_hash == _hash(secret))
                        & UserSession.revoked_at.is_null()).execute())
    if not moved or not hmac.compare_digest(row.refresh_hash, _hash(secret)):
        revoke(uow, session_id, now)  # a refresh token used twice: someone holds a copy
        raise SessionEnded("this refresh token was already used; the session is ended, log in again")
    return row.user_id, Opened(session_id, f"{session_id}.{new_secret}")


def revoke(uow: UnitOfWork, session_id: str, now: dt.datetime) -> bool:
    with uow.transaction():
        return bool(UserSession.update(revoked_at=clock.to_db(now))
                    .where((UserSession.id == session_id) & UserSession.revoked_at.is_null()).execute())


def revoke_by_refresh_token(uow: UnitOfWork, refresh_token: str, now: dt.datetime) -> bool:
    session_id, secret = _split(refresh_token)
    row = UserSession.get_or_none(UserSession.id == session_id)
    if row is None or not hmac.compare_digest(row.refresh_hash, _hash(secret)):
        return False
    return revoke(uow, session_id, now)


def revoke_all(uow: UnitOfWork, user_id: int, now: dt.datetime) -> int:
    with uow.transaction():
        return UserSession.update(revoked_at=clock.to_db(now)).where(
            (UserSession.user_id == user_id) & UserSession.revoked_at.is_null()).execute()


def is_live(session_id: str, now: dt.datetime) -> bool:
    row = UserSession.get_or_none(UserSession.id == session_id)
    return row is not None and row.revoked_at is None and clock.from_db(row.expires_at) > now
