"""The notifications' use cases: what an event means for the traveller's mail (run by flights' handlers in
the event's inbox transaction, each returning the sends to make once it commits), and the e-ticket PDF and
the list of messages a traveller asks for."""
from __future__ import annotations

from typing import Callable

from flightbook.contracts.flights import (BookingNotFound, BookingStatus, FlightRescheduled, MessageKind, MessageView,
                                          TicketNotIssued)
from flightbook.kernel import data
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking import refs
from flightbook.modules.flights.booking.bookings import get_booking
from flightbook.modules.flights.notifications import facts, messages
from flightbook.modules.flights.notifications.facts import FactKind
from flightbook.modules.flights.notifications.sending import Sender
from flightbook.modules.flights.notifications.ticket_pdf import render_pdf
from flightbook.modules.flights.notifications.tickets import ticket_of

FollowUp = Callable[[], object] | None


def booking_changed(uow: UnitOfWork, sender: Sender, event_id: str, ref: str, kind: MessageKind,
                    details: dict) -> FollowUp:
    """One message about this change of the booking, once per event; sent after commit unless it waits."""
    with uow.transaction():
        ready = messages.note_change(event_id, ref, kind, details, sender.policy)
    return sender.later([ready] if ready else [])


def booking_confirmed(uow: UnitOfWork, sender: Sender, event_id: str, ref: str, payment_id: str | None,
                      paid: Money | None) -> FollowUp:
    """What the card paid (flights' own figure) is kept for the ticket and for a later cancellation."""
    with uow.transaction():
        if refs.is_ref(ref):
            facts.record(event_id, ref, FactKind.CARD_PAID, {"payment_id": payment_id,
                                                             "paid": paid.to_dict() if paid else None})
        return booking_changed(uow, sender, event_id, ref, MessageKind.BOOKING_CONFIRMED, {})


def flight_rescheduled(uow: UnitOfWork, sender: Sender, event_id: str, event: FlightRescheduled) -> FollowUp:
    """One message per booking on the moved flight."""
    details = {"flight_id": event.flight_id, "flight_number": event.flight_number, "origin": event.origin,
               "destination": event.destination, "was_departs_at": event.was_departs_at.isoformat(),
               "departs_at": event.departs_at.isoformat()}
    with uow.transaction():
        ready = [i for ref in event.booking_refs
                 if (i := messages.note_change(event_id, ref, MessageKind.FLIGHT_RESCHEDULED, details, sender.policy))]
    return sender.later(ready)


def figure_published(uow: UnitOfWork, sender: Sender, event_id: str, ref: str, kind: FactKind,
                     payload: dict) -> FollowUp:
    """A figure another part published about a booking: kept, and the messages that waited for it sent."""
    if not refs.is_ref(ref):
        return None
    with uow.transaction():
        if not facts.record(event_id, ref, kind, data.to_dict(payload)):
            return None
        ready = messages.ready_after_fact(ref)
    return sender.later(ready)


def ticket_pdf(user_id: int, ref: str, public_url: str) -> bytes:
    """The owner's e-ticket; to anyone else the booking does not exist."""
    booking = get_booking(ref)
    if booking.user_id != user_id:
        raise BookingNotFound(f"no booking {ref}")
    if booking.status != BookingStatus.CONFIRMED:
        raise TicketNotIssued(f"booking {ref} is {booking.status}: only a confirmed booking has an e-ticket",
                              ref=ref, status=booking.status)
    return render_pdf(ticket_of(booking, facts.facts_of(ref), public_url))


def messages_of(user_id: int, booking_ref: str | None, limit: int) -> list[MessageView]:
    return messages.messages_of(user_id, booking_ref, limit)
