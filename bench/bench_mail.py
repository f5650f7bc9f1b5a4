"""What a confirmation mail's attachments cost to make, per booking: the e-ticket PDF (with its QR code) and
the calendar file, built from a two-flight ticket in memory (no database), CPU ms each, median of rounds.

    python bench/bench_mail.py [--tickets 200] [--rounds 5]

The serving process's background worker makes one of each per confirmed booking (issue 22: it was the largest
part of a booking's CPU once the request path was fast).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flightbook.contracts.flights import BookingStatus, PassengerInput  # noqa: E402
from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.money import Money  # noqa: E402
from flightbook.modules.flights.notifications.ics import calendar_of  # noqa: E402
from flightbook.modules.flights.notifications.ticket_pdf import render_pdf  # noqa: E402
from flightbook.modules.flights.notifications.tickets import Paid, Place, Ticket, TicketFlight, local_moment  # noqa: E402


def a_ticket(i: int) -> Ticket:
    lhr = Place("LHR", "Heathrow", "London", "Europe/London")
    jfk = Place("JFK", "John F. Kennedy International", "New York", "America/New_York")
    out = dt.datetime(2027, 3, 1, 9, 5, tzinfo=clock.UTC) + dt.timedelta(days=i % 30)
    flights = [TicketFlight(id=1, direction="Outbound", flight_number="FB100", airline="FB", origin=lhr,
                            destination=jfk, departs=local_moment(out, lhr.tz),
                            arrives=local_moment(out + dt.timedelta(hours=8), jfk.tz), duration="8h 00m"),
               TicketFlight(id=2, direction="Return", flight_number="FB101", airline="FB", origin=jfk,
                            destination=lhr, departs=local_moment(out + dt.timedelta(days=7), jfk.tz),
                            arrives=local_moment(out + dt.timedelta(days=7, hours=7), lhr.tz), duration="7h 00m")]
    return Ticket(ref=f"B{i % 100000:05d}", status=BookingStatus.CONFIRMED, cabin="economy", contact_email="a@example.com",
                  passengers=[PassengerInput(first_name="Ada", last_name="Lovelace", date_of_birth=dt.date(1990, 1, 1))],
                  flights=flights, paid=Paid(total=Money(49900, "USD"), card=Money(49900, "USD"), points_redeemed=None,
                                             points_value=None, points_earned=499),
                  url="http://127.0.0.1:8000/bookings/X", site_url="http://127.0.0.1:8000", confirmed_at=out,
                  issued_at=out)


def per_ticket_ms(make, tickets: int, first: int) -> float:
    """Each ticket a booking reference not seen before (the PDF keeps the QR codes of recent ones)."""
    started = time.process_time()
    for i in range(first, first + tickets):
        make(a_ticket(i))
    return (time.process_time() - started) / tickets * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    render_pdf(a_ticket(0)), calendar_of(a_ticket(0))  # fonts registered, zones loaded
    figures: dict[str, list[float]] = {"pdf": [], "calendar": []}
    for n in range(args.rounds):
        figures["pdf"].append(per_ticket_ms(render_pdf, args.tickets, 1 + n * args.tickets))
        figures["calendar"].append(per_ticket_ms(calendar_of, args.tickets, 1 + n * args.tickets))
    for name, values in figures.items():
        print(f"{name:9s} {statistics.median(values):6.2f} ms CPU per ticket (median of {args.rounds} rounds of "
              f"{args.tickets}; min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
