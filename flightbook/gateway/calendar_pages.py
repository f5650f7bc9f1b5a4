"""Prices across dates: the strip of nearby days on the results page and the month view, both drawn from
flights' fare calendar (the cheapest outbound journey of each day, as flights prices it)."""
from __future__ import annotations

import calendar
import datetime as dt

from flightbook.contracts.flights import CalendarDay, CalendarQuery, FlightQuery
from flightbook.gateway.urls import results_url
from flightbook.gateway.web import Web
from flightbook.kernel.errors import ValidationError

STRIP_DAYS = 3  # either side of the chosen date
MONTHS_AHEAD = 11


def cheapest_days(web: Web, query: FlightQuery, first: dt.date, last: dt.date) -> list[CalendarDay]:
    """The fare calendar of the outbound journey from ``first`` to ``last``. Our today may still be the origin's
    yesterday: a first day in the past there is skipped."""
    for start in (first, first + dt.timedelta(days=1)):
        if start > last:
            return []
        try:
            return web.contracts.flights.flight_calendar(CalendarQuery(
                origin=query.origin, destination=query.destination, first=start, last=last, cabin=query.cabin,
                passengers=query.passengers, max_stops=query.max_stops)).days
        except ValidationError as exc:
            if exc.field != "from":
                raise
    return []


def on_day(form: dict, query: FlightQuery, day: dt.date) -> dict:
    """The search's dates moved to ``day``, the return as many days after it as before."""
    moved = {"date": day.isoformat()}
    if query.return_date is not None:
        moved["return_date"] = (query.return_date + (day - query.date)).isoformat()
    return moved


def date_strip(web: Web, query: FlightQuery, form: dict) -> list[dict]:
    first = max(query.date - dt.timedelta(days=STRIP_DAYS), dt.date.today())
    days = cheapest_days(web, query, first, query.date + dt.timedelta(days=STRIP_DAYS))
    return [{"day": d, "is_chosen": d.date == query.date, "url": results_url(form, **on_day(form, query, d.date))}
            for d in days]


def month_url(form: dict, day: dt.date) -> str:
    return results_url(form, path="/flights/month") + f"&month={day:%Y-%m}"


def month_view(web: Web, query: FlightQuery, form: dict, raw_month) -> dict:
    """The month (YYYY-MM, default: the chosen date's) as weeks of days, each with its cheapest journey and a
    link to that day's results; with links to the months before and after."""
    month = _month(raw_month, query.date)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    days = {d.date: d for d in cheapest_days(web, query, max(month, dt.date.today()), last)}
    weeks = [[_cell(day, month, days, form, query) for day in week]
             for week in calendar.Calendar().monthdatescalendar(month.year, month.month)]
    return {"month": month, "weeks": weeks, "earlier": _neighbour_url(form, month, -1),
            "later": _neighbour_url(form, month, +1)}


def _month(raw, chosen: dt.date) -> dt.date:
    """The first day of the month asked for (default: the chosen date's), from this month to MONTHS_AHEAD on."""
    if not raw:
        return chosen.replace(day=1)
    try:
        month = dt.date.fromisoformat(f"{raw}-01") if isinstance(raw, str) and len(raw) == 7 else None
    except ValueError:
        month = None
    this = dt.date.today().replace(day=1)
    if month is None or not this <= month <= _add_months(this, MONTHS_AHEAD):
        raise ValidationError("month", f"choose a month (YYYY-MM) from {this:%Y-%m} to "
                                       f"{_add_months(this, MONTHS_AHEAD):%Y-%m}")
    return month


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _neighbour_url(form: dict, month: dt.date, step: int) -> str | None:
    other = _add_months(month, step)
    this = dt.date.today().replace(day=1)
    if not this <= other <= _add_months(this, MONTHS_AHEAD):
        return None
    return results_url(form, path="/flights/month") + f"&month={other:%Y-%m}"


def _cell(day: dt.date, month: dt.date, days: dict, form: dict, query: FlightQuery) -> dict:
    found = days.get(day)
    return {"date": day, "in_month": day.month == month.month, "total": found.total if found else None,
            "stops": found.stops if found else None, "is_chosen": day == query.date,
            "url": results_url(form, **on_day(form, query, day)) if found and found.total else None}
