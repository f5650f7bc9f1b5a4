"""Finding bookings for an admin: by ref, the traveller's username or e-mail, the contact e-mail or a
passenger's name."""
from __future__ import annotations

from flightbook.contracts.flights import MAX_ADMIN_ROWS, BookingView
from flightbook.modules.flights.booking import refs
from flightbook.modules.flights.booking.views import booking_views
from flightbook.modules.flights.models import Booking, Passenger, User


def find_bookings(q: str, limit: int) -> list[BookingView]:
    q = q.strip()
    limit = min(limit, MAX_ADMIN_ROWS)
    newest = (Booking.created_at.desc(), Booking.ref)
    if refs.is_ref(q.upper()):
        by_ref = list(Booking.select().where(Booking.ref == q.upper()))
        if by_ref:
            return booking_views(by_ref)
    text = q.lower()
    users = User.select(User.id).where((User.username == text) | (User.email == text))
    words = text.split()
    if len(words) >= 2:
        named = Passenger.select(Passenger.booking).where(
            (Passenger.first_name.contains(words[0])) & (Passenger.last_name.contains(" ".join(words[1:]))))
    else:
        named = Passenger.select(Passenger.booking).where(
            Passenger.first_name.contains(text) | Passenger.last_name.contains(text))
    rows = list(Booking.select().where(Booking.user_id.in_(users) | (Booking.contact_email == text)
                                       | Booking.ref.in_(named))
                .order_by(*newest).limit(limit))
    return booking_views(rows)


def user_bookings(user_id: int, limit: int) -> list[BookingView]:
    rows = (Booking.select().where(Booking.user_id == user_id)
            .order_by(Booking.created_at.desc(), Booking.ref).limit(min(limit, MAX_ADMIN_ROWS)))
    return booking_views(list(rows))
