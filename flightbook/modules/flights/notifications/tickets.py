"""A booking as its e-ticket shows it (mail, PDF, calendar): each flight in the local times and zones of its
airports, the passengers, and what the owners said was paid and given back."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flightbook.contracts.flights import BookedFlight, BookingStatus, BookingView, Direction, PassengerInput
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.models import Airport
from flightbook.modules.flights.notifications.facts import BookingFacts

DIRECTION_LABELS = {Direction.OUTBOUND: "Outbound", Direction.RETURN: "Return"}


@dataclass(frozen=True)
class LocalMoment:
    """A UTC instant in an airport's zone: 'Tue 1 Dec 2026', '09:05', 'GMT', 'Europe/London'."""
    at: dt.datetime  # aware, in the zone
    date: str
    time: str
    zone: str
    tz: str

    @property
    def utc(self) -> dt.datetime:
        return self.at.astimezone(clock.UTC)


def _zone(tz_name: str | None):
    try:
        return ZoneInfo(tz_name) if tz_name else clock.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return clock.UTC


def local_moment(moment: dt.datetime, tz_name: str | None) -> LocalMoment:
    here = moment.astimezone(_zone(tz_name))
    label = here.tzname() or "UTC"
    if label[0] in "+-":  # a zone without an abbreviation: say UTC+05:30
        label = "UTC" + (label if ":" in label or len(label) < 5 else f"{label[:3]}:{label[3:]}")
    return LocalMoment(at=here, date=f"{here:%a} {here.day} {here:%b %Y}", time=f"{here:%H:%M}", zone=label,
                       tz=tz_name or "UTC")


@dataclass(frozen=True)
class Place:
    code: str
    name: str  # the airport's name
    city: str
    tz: str | None


@dataclass(frozen=True)
class TicketFlight:
    id: int
    direction: str  # 'Outbound' / 'Return'
    flight_number: str
    airline: str
    origin: Place
    destination: Place
    departs: LocalMoment
    arrives: LocalMoment
    duration: str  # '7h 05m'

    @property
    def next_day(self) -> bool:
        return self.arrives.at.date() != self.departs.at.date()


@dataclass(frozen=True)
class Paid:
    """What the owners said about the money and points of a booking (None: not said, or not yet)."""
    total: Money
    card: Money | None
    points_redeemed: int | None
    points_value: Money | None
    points_earned: int | None


@dataclass(frozen=True)
class Ticket:
    ref: str
    status: BookingStatus
    cabin: str
    contact_email: str
    passengers: list[PassengerInput]
    flights: list[TicketFlight]
    paid: Paid
    url: str  # the ticket page
    site_url: str  # the web UI's home
    confirmed_at: dt.datetime | None
    issued_at: dt.datetime

    @property
    def route(self) -> str:
        """'London (LHR) → New York (JFK)': the first flight's ends (the way out)."""
        if not self.flights:
            return ""
        first = self.flights[0]
        last_out = [f for f in self.flights if f.direction == first.direction][-1]
        return f"{first.origin.city} ({first.origin.code}) → {last_out.destination.city} ({last_out.destination.code})"


def duration(minutes: int) -> str:
    hours, mins = divmod(int(minutes), 60)
    return f"{hours}h {mins:02d}m" if hours else f"{mins}m"


def places(codes) -> dict[str, Place]:
    found = Airport.select(Airport.iata, Airport.name, Airport.city, Airport.tz).where(Airport.iata.in_(list(codes)))
    return {a.iata: Place(code=a.iata, name=a.name, city=a.city or a.name, tz=a.tz) for a in found}


def _flight(f: BookedFlight, known: dict[str, Place]) -> TicketFlight:
    origin = known.get(f.origin) or Place(f.origin, f.origin, f.origin, None)
    destination = known.get(f.destination) or Place(f.destination, f.destination, f.destination, None)
    return TicketFlight(id=f.id, direction=DIRECTION_LABELS.get(f.direction, str(f.direction).title()),
                        flight_number=f.flight_number, airline=f.airline, origin=origin, destination=destination,
                        departs=local_moment(f.departs_at, origin.tz), arrives=local_moment(f.arrives_at, destination.tz),
                        duration=duration(f.duration_minutes))


def ticket_of(booking: BookingView, facts: BookingFacts, public_url: str, now: dt.datetime | None = None) -> Ticket:
    known = places({c for f in booking.flights for c in (f.origin, f.destination)})
    points = facts.points
    paid = Paid(total=booking.total, card=facts.card_paid,
                points_redeemed=points.redeemed if points else None,
                points_value=points.redeemed_value if points else None,
                points_earned=points.earned if points else None)
    return Ticket(ref=booking.ref, status=booking.status, cabin=booking.cabin, contact_email=booking.contact_email,
                  passengers=list(booking.passengers), flights=[_flight(f, known) for f in booking.flights],
                  paid=paid, url=f"{public_url}/bookings/{booking.ref}", site_url=public_url, confirmed_at=booking.confirmed_at,
                  issued_at=now or clock.now())
