"""The fare calendar: the cheapest journey of each day of a range (direct or connecting, within the search's
connection rules), for the date strip and month view of the results page. A day's price is its cheapest
journey's next seats for adults (each at the next seat's price, by the advance-purchase rule for that day);
search prices the party seat by seat.

One query answers every day at once for direct flights and one-stop journeys (a second one for two stops): the
journeys are found as search finds them (journeys.py) over the whole range, each first leg's departure is put in
its local day (the days' UTC windows are a small table), and each day's lowest journey fare is grouped in the
database."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.flights import MAX_CALENDAR_DAYS, CalendarDay, CalendarQuery, FareCalendar
from flightbook.kernel import clock
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.catalogue import fares, journeys
from flightbook.modules.flights.catalogue.connections import ConnectionRules
from flightbook.modules.flights.catalogue.pricing import DEFAULT_ADVANCE_PURCHASE, FareRules
from flightbook.modules.flights.catalogue.journeys import onward_legs, seats_join
from flightbook.modules.flights.catalogue.search import (check_airports_and_seats, is_date, known_airports,
                                                         local_day_window, local_today, pairs)
from flightbook.kernel.sql import Dialect, Statement


def _days_table(d: Dialect) -> str:
    return d.rows_of("days", {"n": "int", "s": "timestamp", "e": "timestamp"})


def _cheapest_by_day(d: Dialect, stops: int) -> str:
    """Each day's lowest fare of the journeys with ``stops`` connections (paths from table ``p``)."""
    cheapest = fares.cheapest_fare_sql([f"i{k}.fare_amount" for k in range(1, stops + 2)],
                                       [f"i{k}.buckets = ''" for k in range(1, stops + 2)], _advance_sql())
    head = f"""SELECT {d.period_of("f1.departs_at", "days")}, {cheapest}, i1.currency, {stops}"""
    in_range = "f1.departs_at >= {start} AND f1.departs_at < {end}"
    if not stops:
        return f"""{head}
FROM flight f1 {seats_join(1)}
WHERE f1.origin = {{origin}} AND f1.destination = {{destination}} AND {in_range}
GROUP BY 1, i1.currency"""
    return f"""{head}
FROM p JOIN flight f1 ON f1.origin = {{origin}} AND f1.destination = p.a1 AND {in_range}
{seats_join(1)}
{onward_legs(d, stops)}
GROUP BY 1, i1.currency"""


def _advance_sql() -> str:
    """The advance-purchase percent of a journey by its first departure: parameters ``ahead_<row>`` (the UTC
    instant the origin's local day of that row of the rule's table starts) and ``percent_<row>``."""
    rows = range(len(DEFAULT_ADVANCE_PURCHASE) - 1, 0, -1)
    cases = " ".join(f"WHEN f1.departs_at >= {{ahead_{_row(k)}}} THEN CAST({{percent_{_row(k)}}} AS INTEGER)" for k in rows)
    return f"CASE {cases} ELSE CAST({{percent_{_row(0)}}} AS INTEGER) END"


def _row(k: int) -> str:
    return chr(ord("a") + k)  # parameter names of letters only


def advance_params(rules: FareRules, today: dt.date, tz: str) -> dict:
    if len(rules.advance_purchase) != len(DEFAULT_ADVANCE_PURCHASE):
        raise ValueError("the fare calendar's query is written for the default advance-purchase table's rows")
    params: dict[str, object] = {}
    for k, (days, percent) in enumerate(rules.advance_purchase):
        params[f"ahead_{_row(k)}"] = clock.to_db(local_day_window(today + dt.timedelta(days=days), tz)[0])
        params[f"percent_{_row(k)}"] = percent
    return params


def _direct(d: Dialect) -> str:
    return f"WITH days AS ({_days_table(d)})\n{_cheapest_by_day(d, 0)}"


def _direct_or_one_stop(d: Dialect) -> str:
    return f"""WITH days AS ({_days_table(d)}), p AS ({journeys.path_table(d, 1)})
{_cheapest_by_day(d, 0)}
UNION ALL
{_cheapest_by_day(d, 1)}"""


def _two_stops(d: Dialect) -> str:
    return f"WITH days AS ({_days_table(d)}), p AS ({journeys.path_table(d, 2)})\n{_cheapest_by_day(d, 2)}"


DIRECT = Statement("calendar_direct", _direct)
DIRECT_OR_ONE_STOP = Statement("calendar_direct_or_1_stop", _direct_or_one_stop)
TWO_STOPS = Statement("calendar_2_stop", _two_stops)


def validate_calendar(database, query: CalendarQuery):
    check_airports_and_seats(query)
    for field, value in (("from", query.first), ("to", query.last)):
        if not is_date(value):
            raise ValidationError(field, "must be a date YYYY-MM-DD")
    origins, destinations = known_airports(database, query)
    if query.first < local_today(origins[0]):
        raise ValidationError("from", f"{query.first} is in the past at {query.origin}")
    if query.last < query.first:
        raise ValidationError("to", "must not be before from")
    if (query.last - query.first).days + 1 > MAX_CALENDAR_DAYS:
        raise ValidationError("to", f"a calendar covers at most {MAX_CALENDAR_DAYS} days")
    return origins, destinations


def flight_calendar(uow: UnitOfWork, query: CalendarQuery, rules: ConnectionRules = ConnectionRules(),
                    fare_rules: FareRules = FareRules()) -> FareCalendar:
    database = uow.database
    origins, destinations = validate_calendar(database, query)
    days = [query.first + dt.timedelta(days=n) for n in range((query.last - query.first).days + 1)]
    rows = [row for origin, destination in pairs(origins, destinations)
            for row in _cheapest_rows(database, origin, destination, days, query, rules, fare_rules)]
    cheapest: dict[int, tuple[Money, int]] = {}
    for n, amount, currency, stops in sorted(rows, key=lambda row: row[3]):
        if n not in cheapest or amount < cheapest[n][0].amount:  # fewer stops win a tie
            cheapest[n] = (Money(int(amount), currency), stops)
    return FareCalendar(days=[_day(day, cheapest.get(n), query.passengers) for n, day in enumerate(days)])


def _cheapest_rows(database, origin, destination, days: list[dt.date], query: CalendarQuery,
                   rules: ConnectionRules, fare_rules: FareRules) -> list:
    """(day number, lowest fare, currency, stops) rows of one airport pair, days in the origin's local time (and
    the advance-purchase rule by the origin's local today)."""
    windows = [[n, *(clock.to_db(moment) for moment in local_day_window(day, origin.tz))] for n, day in enumerate(days)]
    params = dict(days=windows, start=windows[0][1], end=windows[-1][2], origin=origin.iata,
                  destination=destination.iata, cabin=query.cabin, passengers=query.passengers,
                  **advance_params(fare_rules, local_today(origin), origin.tz))
    if query.max_stops == 0:
        rows = DIRECT.rows(database, **params)
    else:
        one_stop_paths = journeys.paths(database, origin, destination, 1, rules)
        rows = DIRECT_OR_ONE_STOP.rows(database, **params, **journeys.paths_params(one_stop_paths, rules))
    if query.max_stops == 2 and (two_stop_paths := journeys.paths(database, origin, destination, 2, rules)):
        rows += TWO_STOPS.rows(database, **params, **journeys.paths_params(two_stop_paths, rules))
    return rows


def _day(day: dt.date, found: tuple[Money, int] | None, passengers: int) -> CalendarDay:
    if found is None:
        return CalendarDay(date=day, total=None, stops=None)
    fare, stops = found
    return CalendarDay(date=day, total=fares.journey_total(fare, passengers), stops=stops)
