"""The flights module's use cases behind its two faces: FlightsContract for the other parts, FlightsAdmin
for the CLI. Every permission check happens here, whoever calls; the rules live in the use cases."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flightbook.contracts.flights import (AirportImport, BookingPage, BookingRequest, BookingView, CalendarQuery,
                                          CancellationQuote, ConnectionTimesImport, FareCalendar, FlightImport,
                                          FlightQuery, FlightRescheduled, FlightsAdmin, FlightsContract,
                                          GeneratedSchedule, LoginResult, MailReport, MessageKind, MessageView,
                                          Place, Progress, Registration, RescheduledFlight, SearchResult, UserView)
from flightbook.kernel.auth import IN_PROCESS, Principal, Tokens, require_self_or_admin, require_service, require_user
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking import bookings, late_payments, refs, states
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.catalogue import (airports, calendar, connection_times, places, reschedule,
                                                  schedule_generator, schedule_import, search)
from flightbook.modules.flights.identity import users
from flightbook.modules.flights.notifications import notices
from flightbook.modules.flights.notifications.facts import FactKind
from flightbook.modules.flights.notifications.sending import Sender

FollowUp = notices.FollowUp


class FlightsService(FlightsContract, FlightsAdmin):
    def __init__(self, uow: UnitOfWork, tokens: Tokens, rules: BookingRules, sender: Sender):
        self.uow = uow
        self.tokens = tokens
        self.rules = rules
        self.sender = sender  # the traveller's mail

    def register(self, registration: Registration) -> UserView:
        return users.register(self.uow, registration)

    def login(self, username: str, password: str) -> LoginResult:
        return users.login(username, password, self.tokens)

    def get_user(self, caller: Principal, user_id: int) -> UserView:
        require_self_or_admin(caller, user_id)
        return users.get_user(user_id)

    def search_places(self, q: str, limit: int = 10) -> list[Place]:
        return places.search_places(q, limit)

    def search_flights(self, query: FlightQuery) -> SearchResult:
        return search.search_flights(self.uow, query, self.rules.connections, self.rules.fares)

    def flight_calendar(self, query: CalendarQuery) -> FareCalendar:
        return calendar.flight_calendar(self.uow, query, self.rules.connections, self.rules.fares)

    def book(self, caller: Principal, request: BookingRequest) -> BookingView:
        traveller = require_user(caller)
        return bookings.hold_seats(self.uow, _user_id(traveller), request, self.rules)

    def get_booking(self, caller: Principal | None, ref: str) -> BookingView:
        return bookings.get_booking(refs.normalize(ref), viewer=caller)

    def list_bookings(self, caller: Principal, page: int = 1, per_page: int = 20) -> BookingPage:
        traveller = require_user(caller)
        return bookings.list_bookings(_user_id(traveller), page, per_page)

    def cancel_booking(self, caller: Principal, ref: str) -> BookingView:
        return bookings.cancel_booking(self.uow, refs.normalize(ref), require_user(caller), self.rules)

    def quote_cancellation(self, caller: Principal, ref: str) -> CancellationQuote:
        return bookings.quote_cancellation(refs.normalize(ref), require_user(caller), self.rules)

    def confirm_booking(self, ref: str, payment_id: str, paid: Money | None = None, *,
                        caller: Principal | None = IN_PROCESS) -> BookingView:
        require_service(caller)
        return bookings.confirm_booking(self.uow, refs.normalize(ref), payment_id, paid=paid)

    def ticket_pdf(self, caller: Principal, ref: str) -> bytes:
        traveller = require_user(caller)
        return notices.ticket_pdf(_user_id(traveller), refs.normalize(ref), self.sender.policy.public_url)

    def messages(self, caller: Principal, booking_ref: str | None = None, limit: int = 20) -> list[MessageView]:
        traveller = require_user(caller)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ValidationError("limit", "must be a whole number from 1 to 100")
        ref = refs.normalize(booking_ref) if booking_ref is not None else None
        return notices.messages_of(_user_id(traveller), ref, limit)

    # FlightsAdmin: the CLI's
    def create_admin(self, username: str, password: str, email: str | None = None) -> UserView:
        return users.register(self.uow, Registration(
            username=username, email=email or f"{username}@localhost.localdomain", password=password,
            first_name=username, last_name="(admin)"), is_admin=True)

    def import_airports(self, csv_path: Path | str | None = None, progress: Progress | None = None) -> AirportImport:
        return airports.import_airports(self.uow, csv_path or airports.DEFAULT_CSV, progress=progress)

    def generate_schedule(self, airports_count: int, out: Path | str, seed: int = 1,
                          airports_csv: Path | str | None = None) -> GeneratedSchedule:
        rows = schedule_generator.generate_schedule(airports.read_airports(airports_csv or airports.DEFAULT_CSV),
                                                    airports_count, seed)
        schedule_generator.write_schedule(rows, out)
        return GeneratedSchedule(path=str(out), airports=airports_count, weekly_flights=len(rows),
                                 flights_per_day=sum(len(r["weekdays"]) for r in rows) / 7)

    def import_flights(self, schedule: Path | str, start: dt.date, days: int,
                       progress: Progress | None = None, fare_rules: Path | str | None = None) -> FlightImport:
        return schedule_import.import_flights(self.uow, schedule, start, days, progress=progress,
                                              fare_rules=fare_rules)

    def import_connection_times(self, csv_path: Path | str | None = None) -> ConnectionTimesImport:
        return connection_times.import_connection_times(self.uow, csv_path or connection_times.DEFAULT_CSV)

    def expire_holds(self) -> int:
        return states.release_expired_holds(self.uow)

    def reschedule_flight(self, flight_id: int, departs_local: dt.datetime | None = None, *,
                          delay_minutes: int | None = None) -> RescheduledFlight:
        return reschedule.reschedule_flight(self.uow, flight_id, departs_local, delay_minutes)

    def send_mail(self, ignore_backoff: bool = False) -> MailReport:
        return self.sender.send_due(ignore_backoff)

    def mail_destination(self) -> str:
        return self.sender.mailer.destination

    # the booking saga and the traveller's mail (handlers.py): not reachable from other parts. The notify_* and
    # note_figure methods run in the event's inbox transaction and return the sends to make once it commits.
    def apply_payment(self, ref: str, payment_id: str, user_id: int, paid: Money) -> str:
        return late_payments.apply_payment(self.uow, ref, payment_id, user_id, paid)

    def notify_booking_confirmed(self, event_id: str, ref: str, payment_id: str | None,
                                 paid: Money | None) -> FollowUp:
        return notices.booking_confirmed(self.uow, self.sender, event_id, ref, payment_id, paid)

    def notify_booking_cancelled(self, event_id: str, ref: str, was_confirmed: bool, payment_id: str | None,
                                 refund_percent: int) -> FollowUp:
        return notices.booking_changed(self.uow, self.sender, event_id, ref, MessageKind.BOOKING_CANCELLED,
                                       {"was_confirmed": was_confirmed, "payment_id": payment_id,
                                        "refund_percent": refund_percent})

    def notify_booking_expired(self, event_id: str, ref: str) -> FollowUp:
        return notices.booking_changed(self.uow, self.sender, event_id, ref, MessageKind.BOOKING_EXPIRED, {})

    def notify_flight_rescheduled(self, event_id: str, event: FlightRescheduled) -> FollowUp:
        return notices.flight_rescheduled(self.uow, self.sender, event_id, event)

    def note_figure(self, event_id: str, ref: str, kind: FactKind, payload: dict) -> FollowUp:
        return notices.figure_published(self.uow, self.sender, event_id, ref, kind, payload)


def _user_id(traveller: Principal) -> int:
    if traveller.user_id is None:  # a user token always names its user
        raise ValueError("a traveller's principal without a user id")
    return traveller.user_id
