"""Login throttling: failed logins are counted per username and per client address in flights' database (so
every worker and instance shares the count). Past the limit within the window, logins for that username (from
anywhere) or from that address answer 429 until the window that began with the first failure ends, so a
stranger can never lock a traveller out for longer than one window; a success resets both counts."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flightbook.contracts.flights import TooManyLoginAttempts
from flightbook.kernel import clock
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.models import LoginThrottle


@dataclass(frozen=True)
class ThrottleRules:
    per_username: int = 10
    per_address: int = 50
    window: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings) -> "ThrottleRules":
        return cls(settings.login_max_failures_per_username, settings.login_max_failures_per_address,
                   dt.timedelta(minutes=settings.login_window_minutes))


def _keys(username: str, address: str | None, rules: ThrottleRules) -> list[tuple[str, int]]:
    keys = [(f"user:{username[:200]}", rules.per_username)]
    if address:
        keys.append((f"address:{address[:200]}", rules.per_address))
    return keys


def check(username: str, address: str | None, rules: ThrottleRules, now: dt.datetime) -> None:
    """429 when the username or the address is locked out now."""
    keys = [key for key, _ in _keys(username, address, rules)]
    rows = LoginThrottle.select().where(LoginThrottle.key.in_(keys) & LoginThrottle.locked_until.is_null(False))
    until = max((clock.from_db(row.locked_until) for row in rows if row.locked_until is not None), default=None)
    if until is not None and until > now:
        wait = math.ceil((until - now).total_seconds())
        raise TooManyLoginAttempts(f"too many failed logins; try again in {wait} seconds", retry_after=wait)


def record_failure(uow: UnitOfWork, username: str, address: str | None, rules: ThrottleRules,
                   now: dt.datetime) -> None:
    """One more failure for the username and the address; the one that reaches a limit starts the lockout."""
    for key, limit in _keys(username, address, rules):
        with uow.transaction():
            window_start = clock.to_db(now - rules.window)
            counted = (LoginThrottle.update(failures=LoginThrottle.failures + 1)
                       .where((LoginThrottle.key == key) & (LoginThrottle.first_failure_at > window_start))
                       .execute())
            if not counted:  # the first failure of a new window (an old row is started again)
                fresh = {LoginThrottle.failures: 1, LoginThrottle.first_failure_at: clock.to_db(now),
                         LoginThrottle.locked_until: None}
                (LoginThrottle.insert({LoginThrottle.key: key, **fresh})
                 .on_conflict(conflict_target=[LoginThrottle.key], update=fresh).execute())
            row = LoginThrottle.get_by_id(key)
            if row.failures >= limit and row.locked_until is None:
                until = clock.from_db(row.first_failure_at) + rules.window
                LoginThrottle.update(locked_until=clock.to_db(until)).where(LoginThrottle.key == key).execute()


def record_success(uow: UnitOfWork, username: str, address: str | None, rules: ThrottleRules) -> None:
    keys = [key for key, _ in _keys(username, address, rules)]
    with uow.transaction():
        LoginThrottle.delete().where(LoginThrottle.key.in_(keys)).execute()
