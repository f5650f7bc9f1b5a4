"""Travellers and admins: registration, login, profile."""
from __future__ import annotations

import datetime as dt
import re

import peewee as pw

from flightbook.contracts.flights import LoginBlocked, LoginResult, Registration, UserView
from flightbook.kernel import clock
from flightbook.kernel.auth import Tokens
from flightbook.kernel.errors import Conflict, NotFound, Unauthorized, ValidationError
from flightbook.kernel.passwords import DUMMY_HASH, hash_password, verify_password
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.identity import sessions, throttle
from flightbook.modules.flights.identity.throttle import ThrottleRules
from flightbook.modules.flights.models import User, UserBlock

MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


def _view(user: User) -> UserView:
    return UserView(id=user.id, username=user.username, email=user.email, first_name=user.first_name,
                    last_name=user.last_name, is_admin=user.is_admin)


def validate_registration(reg: Registration) -> Registration:
    username = (reg.username or "").strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError("username", "use 3-40 letters, digits, '.', '_' or '-'")
    email = (reg.email or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError("email", "is not a valid email address")
    if len(reg.password or "") < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(reg.password) > 1024:
        raise ValidationError("password", "must be at most 1024 characters")
    for name in ("first_name", "last_name"):
        value = (getattr(reg, name) or "").strip()
        if not value:
            raise ValidationError(name, "is required")
        if len(value) > 100:
            raise ValidationError(name, "must be at most 100 characters")
    return Registration(username=username, email=email, password=reg.password,
                        first_name=reg.first_name.strip(), last_name=reg.last_name.strip())


def register(uow: UnitOfWork, reg: Registration, *, is_admin: bool = False) -> UserView:
    reg = validate_registration(reg)
    password_hash = hash_password(reg.password)  # slow on purpose: outside the transaction
    try:
        with uow.transaction():
            if User.select().where(User.username == reg.username).exists():
                raise Conflict(f"username {reg.username!r} is taken", code="username_taken")
            if User.select().where(User.email == reg.email).exists():
                raise Conflict("an account with this email already exists", code="email_taken")
            user = User.create(username=reg.username, email=reg.email, password_hash=password_hash,
                               first_name=reg.first_name, last_name=reg.last_name, is_admin=is_admin,
                               created_at=clock.to_db(clock.now()))
    except pw.IntegrityError:  # lost a race with an identical registration
        raise Conflict("username or email already registered", code="username_taken") from None
    return _view(user)


def login(uow: UnitOfWork, username: str, password: str, tokens: Tokens, rules: ThrottleRules,
          client_address: str | None = None, session_lifetime: dt.timedelta = dt.timedelta(hours=12)) -> LoginResult:
    """A token for the right password; too many failures for the username or the address: 429 (see throttle)."""
    name, now = (username or "").strip().lower(), clock.now()
    throttle.check(name, client_address, rules, now)
    user = User.get_or_none(User.username == name)
    if user is None:
        verify_password(password or "", DUMMY_HASH)
    if user is None or not verify_password(password or "", user.password_hash):
        throttle.record_failure(uow, name, client_address, rules, now)
        raise InvalidCredentials("unknown username or wrong password")
    if UserBlock.get_or_none(UserBlock.user_id == user.id) is not None:
        raise LoginBlocked("this account is blocked: please contact the airline")
    throttle.record_success(uow, name, client_address, rules)
    return _signed_in(user, sessions.open_session(uow, user.id, session_lifetime, now), tokens)


def _signed_in(user: User, session: sessions.Opened, tokens: Tokens) -> LoginResult:
    token, expires_at = tokens.issue_user_token(user.id, user.username, user.is_admin, session.session_id)
    return LoginResult(token=token, expires_at=dt.datetime.fromtimestamp(expires_at, clock.UTC), user=_view(user),
                       refresh_token=session.refresh_token)


def refresh(uow: UnitOfWork, refresh_token: str, tokens: Tokens) -> LoginResult:
    """The next access token of a live session, and its next refresh token."""
    user_id, session = sessions.rotate(uow, refresh_token, clock.now())
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise sessions.SessionEnded("this session's user is gone")
    return _signed_in(user, session, tokens)


def change_password(uow: UnitOfWork, user_id: int, current: str, new: str) -> None:
    """A new password for the one that is known; every session of the user ends with the old one."""
    user = User.get_or_none(User.id == user_id)
    if user is None or not isinstance(current, str) or not verify_password(current, user.password_hash):
        raise InvalidCredentials("the current password is wrong")
    if not isinstance(new, str) or not MIN_PASSWORD <= len(new) <= 1024:
        raise ValidationError("new_password", f"must be {MIN_PASSWORD}-1024 characters")
    password_hash = hash_password(new)
    with uow.transaction():
        User.update(password_hash=password_hash).where(User.id == user_id).execute()
    sessions.revoke_all(uow, user_id, clock.now())


def revoke_sessions(uow: UnitOfWork, username: str) -> int:
    user = User.get_or_none(User.username == (username or "").strip().lower())
    if user is None:
        raise NotFound(f"no user {username!r}", code="user_not_found")
    return sessions.revoke_all(uow, user.id, clock.now())


def get_user(user_id: int) -> UserView:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    return _view(user)
