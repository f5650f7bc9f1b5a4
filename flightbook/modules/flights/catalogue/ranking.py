"""Which journeys a search shows and in what order (pure rules on anything with ``departs_at``, ``arrives_at``,
``fare``, ``stops``, ``duration_minutes`` and ``id``).

- A connecting journey is left out when another journey leaves no earlier, arrives no later, costs no more
  and stops no more often: nobody would choose it. Direct flights are all shown, as before connections.
- ``best`` (the results page's default) ranks by price and duration together: each journey scores
  fare / cheapest fare + duration / shortest duration, both among the journeys found (a journey as cheap as
  the cheapest and as quick as the quickest scores 2); lowest first, earlier departure on a tie. So a fare
  50 % above the cheapest weighs as much as a journey 50 % longer than the quickest.
"""
from __future__ import annotations

import bisect
import datetime as dt
from typing import Protocol, Sequence, TypeVar

from flightbook.kernel.money import Money


class Rankable(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def departs_at(self) -> dt.datetime: ...
    @property
    def arrives_at(self) -> dt.datetime: ...
    @property
    def fare(self) -> Money: ...
    @property
    def stops(self) -> int: ...
    @property
    def duration_minutes(self) -> int: ...


T = TypeVar("T", bound=Rankable)


def drop_dominated(journeys: Sequence[T]) -> list[T]:
    """The journeys minus the connecting ones another journey beats or equals on departure (later),
    arrival (earlier), fare (lower) and stops (fewer); kept in their given order."""
    # Latest departure first: every journey already seen leaves no earlier than the one at hand. For each
    # number of stops, a staircase of the (arrival, fare) pairs seen that no other seen pair beats: arrivals
    # ascending, fares strictly descending. One at hand is beaten if, on some staircase of no more stops, the
    # last step arriving no later costs no more.
    facts = sorted((-_epoch(j.departs_at), _epoch(j.arrives_at), j.fare.amount, j.stops, i)
                   for i, j in enumerate(journeys))
    arrivals: dict[int, list[float]] = {}
    fares: dict[int, list[int]] = {}
    kept = set()
    for _, arrives, fare, stops, i in facts:
        if stops > 0 and any(_beaten(arrivals[s], fares[s], arrives, fare) for s in arrivals if s <= stops):
            continue
        kept.add(i)
        _add_step(arrivals.setdefault(stops, []), fares.setdefault(stops, []), arrives, fare)
    return [journey for i, journey in enumerate(journeys) if i in kept]


def _epoch(moment) -> float:
    return moment.timestamp()


def _beaten(arrivals: list, fares: list, arrives: float, fare: int) -> bool:
    step = bisect.bisect_right(arrivals, arrives)
    return step > 0 and fares[step - 1] <= fare


def _add_step(arrivals: list, fares: list, arrives: float, fare: int) -> None:
    if _beaten(arrivals, fares, arrives, fare):
        return  # a direct flight another direct flight beats: shown, but it beats nothing new
    # the steps it beats (arriving no earlier, costing no less) follow one another from where it goes
    start = end = bisect.bisect_left(arrivals, arrives)
    while end < len(arrivals) and fares[end] >= fare:
        end += 1
    arrivals[start:end] = [arrives]
    fares[start:end] = [fare]


def ordered(journeys: Sequence[T], sort: str) -> list[T]:
    """The journeys in the order ``sort`` asks for (price, departure, duration or best)."""
    if sort == "price":
        key = _by_price
    elif sort == "departure":
        key = _by_departure
    elif sort == "duration":
        key = _by_duration
    elif sort == "best":
        return _by_best(journeys)
    else:
        raise ValueError(f"unknown sort {sort!r}")
    return sorted(journeys, key=key)


def _by_price(j: Rankable):
    return j.fare.amount, j.departs_at, j.duration_minutes, j.id


def _by_departure(j: Rankable):
    return j.departs_at, j.fare.amount, j.duration_minutes, j.id


def _by_duration(j: Rankable):
    return j.duration_minutes, j.departs_at, j.fare.amount, j.id


def best_scores(journeys: Sequence[Rankable]) -> list[float]:
    if not journeys:
        return []
    cheapest = max(1, min(j.fare.amount for j in journeys))
    quickest = max(1, min(j.duration_minutes for j in journeys))
    return [j.fare.amount / cheapest + j.duration_minutes / quickest for j in journeys]


def _by_best(journeys: Sequence[T]) -> list[T]:
    scores = best_scores(journeys)
    order = sorted(range(len(journeys)), key=lambda i: (scores[i], journeys[i].departs_at, journeys[i].id))
    return [journeys[i] for i in order]
