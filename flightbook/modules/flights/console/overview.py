"""The figures of the admin overview that flights owns: bookings and their revenue per day, load factor by
cabin for the days ahead, and today's counts.

The load factor of the days ahead reads each day's seat totals and the differences the inventory's triggers
appended since they were folded (``console.flights.load_by_day``: a few hundred rows a fortnight, where summing
the inventory of the next 14 days' 55,000 flights on the 1,000,000-flight benchmark took most of a cold page),
so it is read each time. The bookings per day aggregate a month of bookings: the past days' are kept in memory
for ``memo.TTL_SECONDS`` (60 s), as the catalogue keeps its airports, and today's are read each time. While an
admin has looked at the overview in the last ``WATCHED_SECONDS``, the serving process's ``admin-figures`` job
computes them again before they lapse, so a page seldom waits for them."""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from typing import Any

import peewee as pw

from flightbook.contracts.flights import CabinDayLoad, DayFigures, FlightsOverview
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.booking.states import CONFIRMED, HELD
from flightbook.modules.flights.catalogue import memo
from flightbook.modules.flights.console.flights import load_by_day
from flightbook.modules.flights.models import Booking, Flight, User


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


WATCHED_SECONDS = 600.0
_watched: dict = {"at": float("-inf"), "asks": set()}  # when the overview was last asked for, and for what


def _midnight(day: dt.date):
    return clock.to_db(dt.datetime.combine(day, dt.time(), clock.UTC))


def _bookings_by_day(since: dt.date, until: dt.date | None) -> list[tuple]:
    """(day, currency, status, count, total) of the bookings made from ``since`` to before ``until``."""
    day = pw.fn.date(Booking.created_at)
    window = Booking.created_at >= _midnight(since)
    if until is not None:
        window &= Booking.created_at < _midnight(until)
    rows: Any = (Booking.select(day.alias("day"), Booking.currency, Booking.status, pw.fn.COUNT(Booking.ref),
                                pw.fn.SUM(Booking.total_amount))
                 .where(window).group_by(day, Booking.currency, Booking.status).tuples())
    return [(_day(when), currency, status, count, total) for when, currency, status, count, total in rows]


def _kept(key: tuple, compute):
    found = memo.recall(Booking._meta.database, key)
    if found is None:
        found = compute()
        memo.keep(Booking._meta.database, key, found)
    return found


def refresh(now: float | None = None) -> int:
    """The serving process's job: compute again the kept figures of the overviews asked for lately (none when
    no admin has looked for WATCHED_SECONDS); how many."""
    now = time.monotonic() if now is None else now
    if now - _watched["at"] > WATCHED_SECONDS:
        _watched["asks"] = set()
        return 0
    asks = set(_watched["asks"])
    for today, days, _ in asks:
        first = today - dt.timedelta(days=days - 1)
        memo.keep(Booking._meta.database, ("admin-bookings-by-day", first, today), _bookings_by_day(first, today))
    return len(asks)


def overview(today: dt.date, days: int, ahead: int) -> FlightsOverview:
    ask = (today, days, ahead)
    _watched["at"] = time.monotonic()
    _watched["asks"] = {*_watched["asks"], ask} if len(_watched["asks"]) < 8 else {ask}
    first = today - dt.timedelta(days=days - 1)
    last = today + dt.timedelta(days=ahead - 1)
    rows = (_kept(("admin-bookings-by-day", first, today), lambda: _bookings_by_day(first, today))
            + _bookings_by_day(today, None))  # today's, as they are now
    made: Counter = Counter()
    confirmed: Counter = Counter()
    revenue: dict = defaultdict(Counter)
    for d, currency, status, count, total in rows:
        made[d] += count
        if status == CONFIRMED:
            confirmed[d] += count
            revenue[currency][d] += int(total or 0)
    currency = max(revenue, key=lambda c: sum(revenue[c].values())) if revenue else "USD"
    figures = [DayFigures(day=d, bookings=made[d], confirmed=confirmed[d],
                          revenue=Money(revenue[currency][d], currency))
               for d in (first + dt.timedelta(days=i) for i in range(days))]
    load = [CabinDayLoad(day=d, cabin=cabin, capacity=capacity, sold=sold)
            for d, cabin, capacity, sold in sorted(load_by_day(today, last))]
    now = clock.to_db(clock.now())
    return FlightsOverview(
        today=today, currency=currency, days=figures, load=load,
        flights_today=_kept(("admin-flights-on", today),
                            lambda: Flight.select().where(Flight.service_date == today).count()),
        held_now=Booking.select().where((Booking.status == HELD) & (Booking.hold_expires_at > now)).count(),
        users=_kept(("admin-users",), lambda: User.select().count()))
