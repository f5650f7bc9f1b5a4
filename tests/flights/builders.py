"""Test data for bookings: flights with seat inventory written straight into the flights database
(independent of the schedule importer), and booking requests / bodies with sensible defaults."""
from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from flightbook.contracts.flights import BookingRequest, PassengerInput
from flightbook.kernel import clock
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights import models
from flightbook.modules.flights.catalogue import memo, pricing
from flightbook.modules.flights.catalogue.schedule_import import record_routes
from flightbook.modules.flights.models import Airport, Flight, SeatInventory

#: what the flights use cases are handed (the module's database, bound when a test's system is built)
UOW = UnitOfWork(models.database, "flights")

_numbers = itertools.count(100)

AIRPORTS = {"LHR": ("London Heathrow", "London", "GB", "Europe/London", 51.4706, -0.4619),
            "JFK": ("John F Kennedy Intl", "New York", "US", "America/New_York", 40.6398, -73.7789),
            "CDG": ("Charles de Gaulle", "Paris", "FR", "Europe/Paris", 49.0128, 2.55),
            "ORD": ("Chicago O'Hare Intl", "Chicago", "US", "America/Chicago", 41.9786, -87.9048),
            "LAX": ("Los Angeles Intl", "Los Angeles", "US", "America/Los_Angeles", 33.9425, -118.408),
            "BOS": ("Logan Intl", "Boston", "US", "America/New_York", 42.3643, -71.0052),
            "SEA": ("Seattle Tacoma Intl", "Seattle", "US", "America/Los_Angeles", 47.449, -122.309),
            "DEN": ("Denver Intl", "Denver", "US", "America/Denver", 39.8617, -104.673),
            "FRA": ("Frankfurt am Main", "Frankfurt", "DE", "Europe/Berlin", 50.0264, 8.5431),
            "DXB": ("Dubai Intl", "Dubai", "AE", "Asia/Dubai", 25.2528, 55.3644)}


def add_airports(*codes: str) -> None:
    for code in codes or ("LHR", "JFK", "CDG"):
        name, city, country, tz, lat, lon = AIRPORTS[code]
        Airport.insert(iata=code, name=name, city=city, country=country, lat=lat, lon=lon, tz=tz,
                       search_text=f"{city} | {name} | {country}".lower()).on_conflict_ignore().execute()


def add_flight(origin: str = "LHR", destination: str = "JFK", *, departs_in: dt.timedelta = dt.timedelta(days=7),
               departs_at: dt.datetime | None = None, minutes: int = 480, cabins: dict | None = None,
               currency: str = "USD") -> Flight:
    """A dated flight; ``cabins`` maps cabin -> (seats, fare in minor units). Default: 50 economy at 250.00."""
    departs_at = (departs_at or clock.now() + departs_in).replace(microsecond=0)
    arrives_at = departs_at + dt.timedelta(minutes=minutes)
    flight = Flight.create(flight_number=f"FB{next(_numbers)}", airline="Flightbook Air", origin=origin,
                           destination=destination, service_date=departs_at.date(),
                           departs_at=clock.to_db(departs_at), arrives_at=clock.to_db(arrives_at),
                           duration_minutes=minutes)
    for cabin, (seats, fare) in (cabins or {"economy": (50, 25000)}).items():
        SeatInventory.insert(flight=flight.id, cabin=cabin, capacity=seats, seats_left=seats,
                             fare_amount=fare, currency=currency).execute()
    record_routes({(origin, destination)})  # as an import does, so connections are searched through it
    memo.forget(models.database)
    return flight


def price_in_buckets(flight: Flight, buckets: list[tuple[int, int]], cabin: str = "economy") -> None:
    """Sell ``cabin`` in fare buckets ((price, seats) each, cheapest first), as an import would have priced it."""
    state = [pricing.BucketState(price, size, size) for price, size in buckets]
    SeatInventory.update(capacity=sum(size for _, size in buckets), seats_left=sum(size for _, size in buckets),
                         buckets=pricing.state_text(state), fare_amount=pricing.next_price(state),
                         next_fares=pricing.ladder_text([(p, n) for p, n in buckets])).where(
        (SeatInventory.flight == flight.id) & (SeatInventory.cabin == cabin)).execute()


def buckets_of(flight_id: int, cabin: str = "economy") -> list:
    """(price, seats left, size) of each bucket."""
    row = SeatInventory.get((SeatInventory.flight == flight_id) & (SeatInventory.cabin == cabin))
    return [tuple(s) for s in pricing.parse_state(row.buckets)]


def seats_left(flight_id: int, cabin: str = "economy") -> int:
    return SeatInventory.get((SeatInventory.flight == flight_id) & (SeatInventory.cabin == cabin)).seats_left


def passenger(i: int = 0, **overrides) -> PassengerInput:
    fields = {"first_name": f"Ada{i}", "last_name": "Lovelace", "date_of_birth": dt.date(1985, 12, 10),
              "gender": None}
    fields.update(overrides)
    return PassengerInput(**fields)


def booking_request(flight_id: int, passengers: int | list = 1, *, return_flight_id: int | None = None,
                    cabin: str = "economy", **overrides) -> BookingRequest:
    fields = {"outbound_flight_id": flight_id, "return_flight_id": return_flight_id, "cabin": cabin,
              "passengers": _people(passengers, passenger), "contact_email": "ada@example.com"}
    fields.update(overrides)
    return BookingRequest(**fields)


def passenger_body(i: int = 0, **overrides) -> dict:
    body = {"first_name": f"Ada{i}", "last_name": "Lovelace", "date_of_birth": "1985-12-10"}
    body.update(overrides)
    return body


def booking_body(flight_id: int, passengers: int | list = 1, **overrides) -> dict:
    body = {"outbound_flight_id": flight_id, "cabin": "economy",
            "passengers": _people(passengers, passenger_body), "contact_email": "ada@example.com"}
    body.update(overrides)
    return body


def _people(passengers: int | list, make) -> list:
    """A count of default passengers, or the passengers themselves."""
    return [make(i) for i in range(passengers)] if isinstance(passengers, int) else list(passengers)


def local(code: str, day: dt.date, hhmm: str) -> dt.datetime:
    """The UTC moment of a local wall-clock time at an airport of AIRPORTS."""
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=ZoneInfo(AIRPORTS[code][3])).astimezone(clock.UTC)


def add_leg(origin: str, destination: str, departs_at: dt.datetime, minutes: int, fare: int = 20000, seats: int = 50,
            **kwargs) -> Flight:
    """A flight for a connection: economy only unless ``cabins`` says otherwise."""
    kwargs.setdefault("cabins", {"economy": (seats, fare)})
    return add_flight(origin, destination, departs_at=departs_at, minutes=minutes, **kwargs)


def itinerary(*flights: Flight) -> str:
    return "-".join(str(f.id) for f in flights)
