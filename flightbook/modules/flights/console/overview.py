"""The figures of the admin overview that flights owns: bookings and their revenue per day, load factor by
cabin for the days ahead, and today's counts. A few GROUP BY queries, whatever the size of the tables."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import peewee as pw

from flightbook.contracts.flights import CabinDayLoad, DayFigures, FlightsOverview
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.booking.states import CONFIRMED, HELD
from flightbook.modules.flights.console.flights import load_by_day
from flightbook.modules.flights.models import Booking, Flight, User


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def overview(today: dt.date, days: int, ahead: int) -> FlightsOverview:
    first = today - dt.timedelta(days=days - 1)
    since = clock.to_db(dt.datetime.combine(first, dt.time(), clock.UTC))
    day = pw.fn.date(Booking.created_at)
    rows: Any = (Booking.select(day.alias("day"), Booking.currency, Booking.status, pw.fn.COUNT(Booking.ref),
                           pw.fn.SUM(Booking.total_amount))
            .where(Booking.created_at >= since)
            .group_by(day, Booking.currency, Booking.status).tuples())
    made: Counter = Counter()
    confirmed: Counter = Counter()
    revenue: dict = defaultdict(Counter)
    for when, currency, status, count, total in rows:
        d = _day(when)
        made[d] += count
        if status == CONFIRMED:
            confirmed[d] += count
            revenue[currency][d] += int(total or 0)
    currency = max(revenue, key=lambda c: sum(revenue[c].values())) if revenue else "USD"
    figures = [DayFigures(day=d, bookings=made[d], confirmed=confirmed[d], revenue=Money(revenue[currency][d], currency))
               for d in (first + dt.timedelta(days=i) for i in range(days))]
    load = [CabinDayLoad(day=d, cabin=cabin, capacity=capacity, sold=sold)
            for d, cabin, capacity, sold in sorted(load_by_day(today, today + dt.timedelta(days=ahead - 1)))]
    now = clock.to_db(clock.now())
    return FlightsOverview(
        today=today, currency=currency, days=figures, load=load,
        flights_today=Flight.select().where(Flight.service_date == today).count(),
        held_now=Booking.select().where((Booking.status == HELD) & (Booking.hold_expires_at > now)).count(),
        users=User.select().count())
