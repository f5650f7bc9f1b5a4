"""The fare calendar: the cheapest journey of each day of a range (direct or connecting, within the search's
connection rules), for the date strip and month view of the results page.

One query per number of stops answers every day at once: the days' UTC windows are a small table the first
legs are joined to (the flight index again), and each day's lowest journey fare is grouped in the database."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import MAX_CALENDAR_DAYS, CalendarDay, CalendarQuery, FareCalendar
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import fares, journeys
from flightbook.modules.flights.catalogue.connections import ConnectionRules
from flightbook.modules.flights.catalogue.journeys import onward_legs, seats_join
from flightbook.modules.flights.catalogue.search import (check_airports_and_seats, is_date, known_airports,
                                                         local_day_window, local_today)
from flightbook.modules.flights.catalogue.statements import Dialect, Statement


def _days_table(d: Dialect) -> str:
    return d.rows_of("days", {"n": "int", "s": "timestamp", "e": "timestamp"})


def _cheapest(stops: int):
    def write(d: Dialect) -> str:
        cheapest = fares.cheapest_fare_sql([f"i{k}.fare_amount" for k in range(1, stops + 2)])
        head = f"""SELECT {d.period_of("f1.departs_at", "days")}, {cheapest}, i1.currency"""
        in_range = "f1.departs_at >= {start} AND f1.departs_at < {end}"
        if not stops:
            return f"""WITH days AS ({_days_table(d)})
{head}
FROM flight f1 {seats_join(1)}
WHERE f1.origin = {{origin}} AND f1.destination = {{destination}} AND {in_range}
GROUP BY 1, i1.currency"""
        return f"""WITH days AS ({_days_table(d)}), p AS ({journeys.path_table(d, stops)})
{head}
FROM p JOIN flight f1 ON f1.origin = {{origin}} AND f1.destination = p.a1 AND {in_range}
{seats_join(1)}
{onward_legs(d, stops)}
GROUP BY 1, i1.currency"""
    return write


CHEAPEST = {stops: Statement(f"calendar_{stops}_stop", _cheapest(stops)) for stops in (0, 1, 2)}


def validate_calendar(database, query: CalendarQuery):
    check_airports_and_seats(query)
    for field, value in (("from", query.first), ("to", query.last)):
        if not is_date(value):
            raise ValidationError(field, "must be a date YYYY-MM-DD")
    origin, destination = known_airports(database, query)
    if query.first < local_today(origin):
        raise ValidationError("from", f"{query.first} is in the past at {query.origin}")
    if query.last < query.first:
        raise ValidationError("to", "must not be before from")
    if (query.last - query.first).days + 1 > MAX_CALENDAR_DAYS:
        raise ValidationError("to", f"a calendar covers at most {MAX_CALENDAR_DAYS} days")
    return origin, destination


def flight_calendar(uow: UnitOfWork, query: CalendarQuery, rules: ConnectionRules = ConnectionRules()) -> FareCalendar:
    database = uow.database
    origin, destination = validate_calendar(database, query)
    days = [query.first + dt.timedelta(days=n) for n in range((query.last - query.first).days + 1)]
    windows = [[n, *(clock.to_db(moment) for moment in local_day_window(day, origin.tz))] for n, day in enumerate(days)]
    params = dict(days=windows, start=windows[0][1], end=windows[-1][2], origin=origin.iata,
                  destination=destination.iata, cabin=query.cabin, passengers=query.passengers)
    cheapest: dict[int, tuple[Money, int]] = {}
    for stops in range(query.max_stops + 1):
        extra = {}
        if stops:
            found = journeys.paths(database, origin, destination, stops, rules)
            if not found:
                continue
            extra = dict(paths=journeys.paths_param(found), max_layover=rules.max_layover_minutes)
        for n, amount, currency in CHEAPEST[stops].rows(database, **params, **extra):
            if n not in cheapest or amount < cheapest[n][0].amount:  # fewer stops win a tie
                cheapest[n] = (Money(int(amount), currency), stops)
    return FareCalendar(days=[_day(day, cheapest.get(n), query.passengers) for n, day in enumerate(days)])


def _day(day: dt.date, found: tuple[Money, int] | None, passengers: int) -> CalendarDay:
    if found is None:
        return CalendarDay(date=day, total=None, stops=None)
    fare, stops = found
    return CalendarDay(date=day, total=fares.journey_total(fare, passengers), stops=stops)
