"""A message as it is mailed: a plain-text and an HTML part (Jinja2 templates in the web UI's look) and the
attachments its change calls for — the e-ticket PDF and the flights' calendar file."""
from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import json
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from pathlib import Path

import jinja2

from flightbook.contracts.flights import BookingView, MessageKind
from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.modules.flights.notifications import ics, messages, ticket_pdf
from flightbook.modules.flights.notifications.facts import BookingFacts
from flightbook.modules.flights.notifications.models import NotificationMessage
from flightbook.modules.flights.notifications.tickets import LocalMoment, Ticket, local_moment, places, ticket_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
WITH_TICKET = (MessageKind.BOOKING_CONFIRMED, MessageKind.FLIGHT_RESCHEDULED)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(money=lambda m: m.format() if m is not None else "", points=lambda n: f"{int(n or 0):,}")
    env.globals.update(MessageKind=MessageKind)
    return env


_ENV = _environment()


class _HeaderClasses(HeaderRegistry):
    """The standard library's header registry, keeping the class it makes for each header name: it made a new
    one (``type(...)``) for every header set or read, a fifth of a message's CPU. The headers are the same."""

    def __init__(self):
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        made = self._made.get(name.lower())
        if made is None:
            made = self._made[name.lower()] = super().__getitem__(name)
        return made


#: email.policy.default, with the header classes kept
POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


@dataclass(frozen=True)
class Refund:
    """What a cancelled booking gave back, as payments and loyalty said (None: not said yet, or never)."""
    percent: int
    card: Money | None
    card_expected: bool  # the card paid and the fare rule gives some of it back
    points_returned: int | None
    points_taken_back: int | None


@dataclass(frozen=True)
class Move:
    """A rescheduled flight: its departure before and now, in its origin's zone."""
    flight_number: str
    origin: str
    destination: str
    was: LocalMoment
    now: LocalMoment


def _refund(details: dict, facts: BookingFacts) -> Refund:
    reversal = facts.reversal
    return Refund(percent=details.get("refund_percent", 0), card=facts.refunded.get(details.get("payment_id") or ""),
                  card_expected=messages.card_refund_expected(details, facts),
                  points_returned=reversal.returned if reversal else None,
                  points_taken_back=reversal.taken_back if reversal else None)


def _move(details: dict) -> Move:
    tz = places([details["origin"]]).get(details["origin"])
    zone = tz.tz if tz else None
    return Move(flight_number=details["flight_number"], origin=details["origin"], destination=details["destination"],
                was=local_moment(dt.datetime.fromisoformat(details["was_departs_at"]), zone),
                now=local_moment(dt.datetime.fromisoformat(details["departs_at"]), zone))


def render_parts(row: NotificationMessage, ticket: Ticket, facts: BookingFacts) -> tuple[str, str]:
    """The text and the HTML of ``row``'s message."""
    details = json.loads(row.details)
    context = {"kind": row.kind, "subject": row.subject, "ticket": ticket, "details": details,
               "refund": _refund(details, facts) if row.kind == MessageKind.BOOKING_CANCELLED else None,
               "move": _move(details) if row.kind == MessageKind.FLIGHT_RESCHEDULED else None}
    return (_ENV.get_template(f"{row.kind}.txt").render(context),
            _ENV.get_template(f"{row.kind}.html").render(context))


def compose(row: NotificationMessage, booking: BookingView, facts: BookingFacts, sender: str, public_url: str,
            now: dt.datetime | None = None) -> EmailMessage:
    now = now or clock.now()
    ticket = ticket_of(booking, facts, public_url, now)
    text, html = render_parts(row, ticket, facts)
    message = EmailMessage(policy=POLICY)
    message["Subject"] = row.subject
    message["From"] = sender
    message["To"] = row.recipient
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = row.message_id
    message["X-Flightbook-Booking"] = row.booking_ref
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    cancelled = row.kind == MessageKind.BOOKING_CANCELLED and json.loads(row.details).get("was_confirmed")
    if row.kind in WITH_TICKET:
        message.add_attachment(ticket_pdf.render_pdf(ticket), maintype="application", subtype="pdf",
                               filename=f"e-ticket-{ticket.ref}.pdf")
    if row.kind in WITH_TICKET or cancelled:
        calendar = ics.calendar_of(ticket, messages.earlier_messages(row), cancelled=bool(cancelled))
        message.add_attachment(calendar.decode("utf-8"), subtype="calendar", cte="quoted-printable",
                               filename=f"flights-{ticket.ref}.ics",
                               params={"method": "CANCEL" if cancelled else "PUBLISH"})
    return message
