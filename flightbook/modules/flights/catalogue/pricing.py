"""The pricing rules, pure and deterministic (no randomness, no clock of their own):

- **Fare buckets.** A dated flight's cabin sells its seats in buckets, cheapest first: each bucket is a share
  of the cabin's seats (``share`` percent, sizes rounded by largest remainder so they add up to the cabin) at
  a share of the schedule's base fare (``percent``). The next seat costs the cheapest open bucket's price; a
  party that spans buckets pays each seat's own price.
- **Time of day.** A flight's bucket prices are scaled by its local departure time's factor
  (``time_of_day_percent``): early morning and evening peaks cost more, the red-eye less.
- **Advance purchase.** What a seat costs on the day is its bucket price scaled by the days from the booking
  (the origin's local date) to the first flight's local date (``advance_purchase_percent``).
- **Passenger types.** Adults take the party's seats first (cheapest first), then children; a child pays
  ``child_percent`` of the adult fare of its seat, an infant (on an adult's lap, no seat) ``infant_percent`` of
  the fare of the adult whose lap it sits on (the first infant on the first adult's, and so on).

Every percentage is applied to integer minor units, rounding half up."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence, cast

from flightbook.contracts.flights import MAX_PASSENGERS, PassengerType

#: the most seats a party may take (adults + children; infants ride on laps)
MAX_SEATED = MAX_PASSENGERS


@dataclass(frozen=True)
class Bucket:
    percent: int  # of the base fare
    share: int  # of the cabin's seats, in percent

    def __post_init__(self):
        if not 1 <= self.percent <= 1000:
            raise ValueError(f"a bucket's percent of the base fare must be from 1 to 1000, not {self.percent}")
        if not 0 <= self.share <= 100:
            raise ValueError(f"a bucket's share of the cabin must be from 0 to 100, not {self.share}")


#: five buckets from 60 % to 200 % of the base fare (the rules file's defaults, data/fare_rules.toml)
DEFAULT_BUCKETS = (Bucket(60, 20), Bucket(80, 25), Bucket(100, 25), Bucket(140, 20), Bucket(200, 10))
FLAT = (Bucket(100, 100),)

#: (first local hour, percent): a departure from that hour on until the next row's costs that percent
DEFAULT_TIME_OF_DAY = ((0, 85), (6, 115), (9, 100), (16, 110), (20, 95), (22, 85))
#: (at least this many days before the first flight, percent), the last row that applies wins
DEFAULT_ADVANCE_PURCHASE = ((0, 130), (3, 115), (7, 105), (14, 100), (21, 95), (45, 90))


def percent_of(amount: int, percent: int) -> int:
    """``percent`` % of ``amount`` minor units, rounded half up."""
    return (amount * percent + 50) // 100


def check_buckets(buckets: Sequence[Bucket]) -> tuple[Bucket, ...]:
    """Buckets in selling order: prices that never fall and shares that make up the whole cabin."""
    buckets = tuple(buckets)
    if not buckets:
        raise ValueError("at least one fare bucket is needed")
    if sum(b.share for b in buckets) != 100:
        raise ValueError(f"the buckets' shares must add up to 100, not {sum(b.share for b in buckets)}")
    if any(a.percent > b.percent for a, b in zip(buckets, buckets[1:])):
        raise ValueError("the buckets must be listed cheapest first")
    return buckets


def parse_buckets(text: str) -> tuple[Bucket, ...]:
    """'60:20 80:25 100:25 140:20 200:10' (percent of the fare:share of the cabin) -> buckets."""
    buckets = []
    for item in text.split():
        percent, sep, share = item.partition(":")
        if not sep or not percent.isdigit() or not share.isdigit():
            raise ValueError(f"a fare bucket is PERCENT:SHARE (e.g. 60:20), not {item!r}")
        buckets.append(Bucket(int(percent), int(share)))
    return check_buckets(buckets)


def bucket_sizes(capacity: int, buckets: Sequence[Bucket]) -> list[int]:
    """Each bucket's seats: its share of ``capacity``, the seats rounding leaves over going to the largest
    remainders (the cheaper bucket first on a tie), so the sizes add up to the cabin."""
    exact = [capacity * b.share for b in buckets]  # in hundredths of a seat
    sizes = [e // 100 for e in exact]
    by_remainder = sorted(range(len(buckets)), key=lambda i: (-(exact[i] % 100), i))
    for i in by_remainder[:capacity - sum(sizes)]:
        sizes[i] += 1
    return sizes


def time_of_day_percent(departure_local: dt.time,
                        table: Sequence[tuple[int, int]] = DEFAULT_TIME_OF_DAY) -> int:
    percent = 100
    for hour, value in table:
        if departure_local.hour >= hour:
            percent = value
    return percent


def bucket_prices(base_fare: int, departure_local: dt.time, buckets: Sequence[Bucket],
                  time_of_day: Sequence[tuple[int, int]] = DEFAULT_TIME_OF_DAY) -> list[int]:
    """The price of a seat in each bucket of a flight leaving at ``departure_local``."""
    scaled = percent_of(base_fare, time_of_day_percent(departure_local, time_of_day))
    return [percent_of(scaled, b.percent) for b in buckets]


def advance_purchase_percent(days_before: int,
                             table: Sequence[tuple[int, int]] = DEFAULT_ADVANCE_PURCHASE) -> int:
    percent = table[0][1]
    for days, value in table:
        if days_before >= days:
            percent = value
    return percent


def next_seat_prices(open_buckets: Sequence[tuple[int, int]], n: int) -> list[int]:
    """The prices of the next ``n`` seats from ``open_buckets`` ((price, seats left) in selling order), cheapest
    bucket first; fewer when the cabin has fewer seats left."""
    prices: list[int] = []
    for price, left in open_buckets:
        take = min(max(left, 0), n - len(prices))
        prices.extend([price] * take)
        if len(prices) == n:
            break
    return prices


def ladder_text(open_buckets: Sequence[tuple[int, int]], seats: int = MAX_SEATED) -> str:
    """The next ``seats`` seats' prices as kept beside the cabin's seats for search ('9900 9900 13200 ...'): the
    nine a party may take, or more (PostgreSQL's fare_sell keeps 27, migration 015, so the next sales can drop
    theirs from the front)."""
    return " ".join(map(str, next_seat_prices(open_buckets, seats)))


def parse_ladder(text: str | None, n: int = MAX_SEATED) -> list[int]:
    """The first ``n`` of the next seats' prices kept."""
    return [int(v) for v in text.split(maxsplit=n)[:n]] if text else []


@dataclass(frozen=True)
class Party:
    adults: int = 1
    children: int = 0
    infants: int = 0

    @property
    def seated(self) -> int:
        return self.adults + self.children

    def problem(self) -> tuple[str, str] | None:
        """(field, what is wrong), or None for a party that may book."""
        for name in ("adults", "children", "infants"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return name, "must be a whole number, 0 or more"
        if not 1 <= self.adults <= MAX_SEATED:
            return "adults", f"must be from 1 to {MAX_SEATED}"
        if self.seated > MAX_SEATED:
            return "children", f"adults and children together take at most {MAX_SEATED} seats"
        if self.infants > self.adults:
            return "infants", "at most one infant per adult (an infant sits on an adult's lap)"
        return None

    def types(self) -> list[PassengerType]:
        return ([PassengerType.ADULT] * self.adults + [PassengerType.CHILD] * self.children
                + [PassengerType.INFANT] * self.infants)


@dataclass(frozen=True)
class FareRules:
    child_percent: int = 75
    infant_percent: int = 10
    advance_purchase: tuple[tuple[int, int], ...] = field(default=DEFAULT_ADVANCE_PURCHASE)

    def __post_init__(self):
        for name in ("child_percent", "infant_percent"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be from 0 to 100")

    @classmethod
    def from_settings(cls, settings) -> "FareRules":
        return cls(getattr(settings, "child_fare_percent", 75), getattr(settings, "infant_fare_percent", 10))

    def advance_percent(self, days_before: int | None) -> int:
        """The advance-purchase rule's percent; None (a cabin priced flat) is 100."""
        return 100 if days_before is None else advance_purchase_percent(days_before, self.advance_purchase)

    def party_fares(self, types: Sequence[PassengerType], leg_seat_prices: Sequence[Sequence[int]],
                    days_before: int | None | Sequence[int | None]) -> list[list[int]]:
        """Each passenger's fare on each leg (``types`` in the booking's order; ``leg_seat_prices`` the party's
        seats on each leg in selling order, one per adult and child; ``days_before`` for every leg, or per leg,
        None for a leg priced flat). Adults take the cheapest seats first, then children; the k-th infant pays its
        share of the k-th adult's fare."""
        per_leg: list[int | None] = list(days_before) if isinstance(days_before, (list, tuple)) else \
            [cast(int | None, days_before)] * len(leg_seat_prices)
        seated = [i for i, t in enumerate(types) if t == PassengerType.ADULT] + \
                 [i for i, t in enumerate(types) if t == PassengerType.CHILD]
        lap = [i for i, t in enumerate(types) if t == PassengerType.INFANT]
        fares: list[list[int]] = [[0] * len(leg_seat_prices) for _ in types]
        for leg, prices in enumerate(leg_seat_prices):
            advance = self.advance_percent(per_leg[leg])
            if len(prices) < len(seated):
                raise ValueError("fewer seat prices than seated passengers")
            for seat, i in enumerate(seated):
                adult_fare = percent_of(prices[seat], advance)
                fares[i][leg] = adult_fare if types[i] == PassengerType.ADULT else \
                    percent_of(adult_fare, self.child_percent)
            for k, i in enumerate(lap):
                fares[i][leg] = percent_of(fares[seated[k]][leg], self.infant_percent)
        return fares

    def party_total(self, party: Party, leg_seat_prices: Sequence[Sequence[int]],
                    days_before: int | None | Sequence[int | None]) -> int:
        return sum(map(sum, self.party_fares(party.types(), leg_seat_prices, days_before)))

    def adult_fare(self, leg_next_prices: Sequence[int], days_before: Sequence[int | None]) -> int:
        """One adult's fare for a journey whose legs' next seats cost ``leg_next_prices``."""
        return sum(percent_of(price, self.advance_percent(days))
                   for price, days in zip(leg_next_prices, days_before))


def passenger_type(date_of_birth: dt.date, on: dt.date) -> PassengerType:
    """A passenger's type by their age on ``on`` (the day of the last flight): under 2 an infant, 2-11 a child."""
    years = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    if years < 2:
        return PassengerType.INFANT
    if years < 12:
        return PassengerType.CHILD
    return PassengerType.ADULT


WITH_ARTICLE = {PassengerType.INFANT: "an infant", PassengerType.CHILD: "a child", PassengerType.ADULT: "an adult"}
AGE_RULES = {PassengerType.INFANT: "an infant is under 2", PassengerType.CHILD: "a child is 2 to 11",
             PassengerType.ADULT: "an adult is 12 or older"}


class BucketState(NamedTuple):
    price: int  # what a seat of this bucket costs (minor units, before the advance-purchase rule)
    left: int
    size: int


def state_text(states: Sequence[BucketState]) -> str:
    """A cabin's buckets as kept in its inventory row: 'price:left:size' each, in selling order."""
    return " ".join(f"{s.price}:{s.left}:{s.size}" for s in states)


def parse_state(text: str) -> list[BucketState]:
    return [BucketState(*map(int, item.split(":"))) for item in text.split()]


def opening_state(base_fare: int, capacity: int, departure_local: dt.time, buckets: Sequence[Bucket],
                  time_of_day: Sequence[tuple[int, int]] = DEFAULT_TIME_OF_DAY) -> list[BucketState]:
    """A cabin's buckets before any seat is sold (empty buckets left out)."""
    prices = bucket_prices(base_fare, departure_local, buckets, time_of_day)
    return [BucketState(price, size, size)
            for price, size in zip(prices, bucket_sizes(capacity, buckets)) if size > 0]


def next_price(states: Sequence[BucketState]) -> int | None:
    """The cheapest open bucket's price; None when the cabin is full."""
    return next((s.price for s in states if s.left > 0), None)


def take(states: Sequence[BucketState], n: int) -> tuple[list[BucketState], list[tuple[int, int]]]:
    """Sell ``n`` seats, cheapest open bucket first: (the buckets after, (bucket index, price) per seat sold).
    ValueError when fewer than ``n`` are left."""
    after: list[BucketState] = list(states)
    sold: list[tuple[int, int]] = []
    for i, s in enumerate(after):
        k = min(s.left, n - len(sold))
        if k > 0:
            after[i] = s._replace(left=s.left - k)
            sold.extend([(i, s.price)] * k)
    if len(sold) < n:
        raise ValueError(f"{n} seats wanted, {len(sold)} left")
    return after, sold


def give_back(states: Sequence[BucketState], buckets: Sequence[int]) -> list[BucketState]:
    """Return seats to the buckets they were sold from (``buckets``: a bucket index per seat); a seat whose
    bucket is full (or gone) goes to the cheapest bucket with room, so no seat is ever lost."""
    after = list(states)
    for i in buckets:
        if not (0 <= i < len(after) and after[i].left < after[i].size):
            i = next(j for j, s in enumerate(after) if s.left < s.size)
        after[i] = after[i]._replace(left=after[i].left + 1)
    return after


def sold_value(states: Sequence[BucketState]) -> int:
    """What the seats sold are worth at their buckets' prices."""
    return sum(s.price * (s.size - s.left) for s in states)


@dataclass(frozen=True)
class ImportRules:
    """What the import prices a schedule by (the rules file, data/fare_rules.toml)."""
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS
    time_of_day: tuple[tuple[int, int], ...] = DEFAULT_TIME_OF_DAY

    def is_flat(self, buckets: Sequence[Bucket]) -> bool:
        """One bucket at the base fare and no time-of-day factor: the cabin is priced flat (one fare for every
        seat, whenever it is bought: no advance-purchase rule either)."""
        return tuple(buckets) == FLAT and all(percent == 100 for _, percent in self.time_of_day)


#: the rules of flat pricing (a rules file of ``buckets = "100:100"`` and ``time_of_day = [[0, 100]]``)
FLAT_RULES = ImportRules(FLAT, ((0, 100),))


def load_import_rules(path) -> ImportRules:
    """The rules file: ``buckets = "60:20 80:25 ..."`` and ``time_of_day = [[0, 85], [6, 115], ...]``
    (first local hour, percent); either may be left out for the default. ValueError naming what is wrong."""
    import tomllib
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"buckets", "time_of_day"}
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    buckets = parse_buckets(data["buckets"]) if "buckets" in data else DEFAULT_BUCKETS
    table = data.get("time_of_day", DEFAULT_TIME_OF_DAY)
    try:
        time_of_day = tuple((int(hour), int(percent)) for hour, percent in table)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: time_of_day is a list of [first hour, percent] pairs") from None
    hours = [hour for hour, _ in time_of_day]
    if not time_of_day or hours[0] != 0 or hours != sorted(set(hours)) or hours[-1] > 23 \
            or any(not 1 <= p <= 1000 for _, p in time_of_day):
        raise ValueError(f"{path}: time_of_day must start at hour 0, hours rising to at most 23, "
                         f"percents from 1 to 1000")
    return ImportRules(buckets, time_of_day)
