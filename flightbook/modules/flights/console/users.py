"""Travellers as an admin sees them, and blocking one's login."""
from __future__ import annotations

import datetime as dt

import peewee as pw

from flightbook.contracts.flights import MAX_ADMIN_ROWS, AdminUser
from flightbook.kernel import clock
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Conflict, NotFound
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.console import audit
from flightbook.modules.flights.identity import sessions
from flightbook.modules.flights.models import Booking, User, UserBlock


class UserNotFound(NotFound):
    code = "user_not_found"


def _views(users: list[User]) -> list[AdminUser]:
    ids = [u.id for u in users]
    if not ids:
        return []
    blocks = {b.user_id: b for b in UserBlock.select().where(UserBlock.user_id.in_(ids))}
    counts: dict[int, int] = dict(Booking.select(Booking.user_id, pw.fn.COUNT(Booking.ref))  # type: ignore[arg-type]
                                  .where(Booking.user_id.in_(ids)).group_by(Booking.user_id).tuples())
    return [AdminUser(id=u.id, username=u.username, email=u.email, first_name=u.first_name, last_name=u.last_name,
                      is_admin=u.is_admin, created_at=clock.from_db(u.created_at), blocked=u.id in blocks,
                      blocked_reason=blocks[u.id].reason if u.id in blocks else None, bookings=counts.get(u.id, 0))
            for u in users]


def find_users(q: str, limit: int) -> list[AdminUser]:
    text = q.strip().lower()
    query = User.select()
    if text.isdigit():
        query = query.where(User.id == int(text))
    elif text:
        query = query.where(User.username.contains(text) | User.email.contains(text)
                            | User.last_name.contains(text))
    return _views(list(query.order_by(User.username).limit(min(limit, MAX_ADMIN_ROWS))))


def user(user_id: int) -> AdminUser:
    found = User.get_or_none(User.id == user_id) if isinstance(user_id, int) and 0 < user_id < 2 ** 63 else None
    if found is None:
        raise UserNotFound(f"no traveller {user_id}")
    return _views([found])[0]


def is_blocked(user_id: int) -> bool:
    return UserBlock.get_or_none(UserBlock.user_id == user_id) is not None


def block(uow: UnitOfWork, user_id: int, blocked: bool, admin: Principal, reason: str,
          now: dt.datetime | None = None) -> AdminUser:
    now = now or clock.now()
    target = user(user_id)
    if blocked and target.id == admin.user_id:
        raise Conflict("you cannot block your own login", code="cannot_block_self")
    if target.blocked == blocked:
        return target
    with uow.transaction():
        if blocked:
            UserBlock.insert(user_id=user_id, blocked_at=clock.to_db(now), admin_id=admin.user_id,
                             reason=reason).on_conflict_ignore().execute()
        else:
            UserBlock.delete().where(UserBlock.user_id == user_id).execute()
        audit.record(uow, admin, "user.block" if blocked else "user.unblock", f"user {user_id}", reason, now,
                     username=target.username)
    if blocked:  # a blocked traveller's live sessions end too, not only their next login
        sessions.revoke_all(uow, user_id, now)
    return user(user_id)
