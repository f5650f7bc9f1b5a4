"""The booking's flights as a calendar file (.ics, RFC 5545, the icalendar package): one event per flight,
starting in its origin's time zone and ending in its destination's, each zone described in the file. Every
message about a booking sends the same event ids with a higher SEQUENCE, so a calendar moves (or, for a
cancellation, removes) the entries it already has."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import icalendar

from flightbook.modules.flights.notifications.tickets import Ticket, TicketFlight

PRODID = "-//flightbook//e-ticket//EN"


def uid_of(ticket: Ticket, flight: TicketFlight) -> str:
    return f"{ticket.ref}-{flight.id}@flightbook"


def _event(ticket: Ticket, flight: TicketFlight, sequence: int, cancelled: bool) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid_of(ticket, flight))
    event.add("dtstamp", ticket.issued_at)
    event.add("sequence", sequence)
    event.add("dtstart", flight.departs.at)
    event.add("dtend", flight.arrives.at)
    event.add("summary", f"Flight {flight.flight_number} {flight.origin.code} → {flight.destination.code} "
                         f"(booking {ticket.ref})")
    event.add("location", f"{flight.origin.name} ({flight.origin.code})")
    event.add("description", "\n".join([
        f"{flight.airline} {flight.flight_number}, {ticket.cabin}",
        f"Departs {flight.departs.date} {flight.departs.time} {flight.departs.zone} from {flight.origin.name}",
        f"Arrives {flight.arrives.date} {flight.arrives.time} {flight.arrives.zone} at {flight.destination.name}",
        "Passengers: " + ", ".join(f"{p.first_name} {p.last_name}" for p in ticket.passengers),
        f"Booking {ticket.ref}: {ticket.url}"]))
    event.add("url", ticket.url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def calendar_of(ticket: Ticket, sequence: int = 0, cancelled: bool = False) -> bytes:
    """``cancelled``: the events withdrawn (METHOD:CANCEL), for a cancelled booking."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    for flight in ticket.flights:
        calendar.add_component(_event(ticket, flight, sequence, cancelled))
    if ticket.flights:  # each zone's rules for the years of the trip, not since 1970
        first = min(f.departs.at for f in ticket.flights).date().replace(month=1, day=1)
        last = max(f.arrives.at for f in ticket.flights).date().replace(month=1, day=1)
        for tzid in sorted(calendar.get_missing_tzids()):
            zone = _zone(tzid, first, last.replace(year=last.year + 2))
            if zone is not None:
                calendar.subcomponents.insert(len(calendar.timezones), zone)
    return calendar.to_ical()


@lru_cache(maxsize=1024)
def _zone(tzid: str, first: dt.date, last: dt.date) -> icalendar.Timezone | None:
    """A zone's VTIMEZONE for those years, worked out once (it was most of a calendar file's cost); the
    component is only ever read after, so calendars share it. None: a zone icalendar does not know."""
    try:
        return icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last)
    except ValueError:
        return None
