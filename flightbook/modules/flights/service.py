"""The flights module's use cases behind its two faces: FlightsContract for the other parts, FlightsAdmin
for the CLI. Every permission check happens here, whoever calls; the rules live in the use cases."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flightbook.contracts.flights import (AirportImport, BookingPage, BookingRequest, BookingView, CalendarQuery,
                                          CancellationQuote, CityImport, ConnectionTimesImport, FareCalendar, FlightImport,
                                          FlightQuery, FlightRescheduled, FlightsAdmin, FlightsContract,
                                          GeneratedSchedule, LoginResult, MailReport, MessageKind, MessageView,
                                          Place, Progress, Registration, RescheduledFlight, SearchResult, TripQuote,
                                          UserView)
from flightbook.contracts.flights import (MAX_ADMIN_ROWS, AdminFlight, AdminFlightDetail, AdminUser,
                                          FlightCancellationResult, FlightsOverview)
from flightbook.kernel import audit as kaudit
from flightbook.kernel import clock, outbox
from flightbook.kernel.audit import AuditEntry
from flightbook.kernel.auth import (IN_PROCESS, Principal, Tokens, require_admin, require_self_or_admin,
                                    require_service, require_user)
from flightbook.kernel.outbox import EventRecord, OutboxAdmin, OutboxReport
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking import bookings, late_payments, refs, states
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.catalogue import (airports, calendar, cities, connection_times, places, reschedule,
                                                  schedule_generator, schedule_import, search)
from flightbook.modules.flights.identity import sessions, users
from flightbook.modules.flights.identity.throttle import ThrottleRules
from flightbook.modules.flights.console import (audit as console_audit, bookings as console_bookings,
                                                flights as console_flights, overview as console_overview,
                                                users as console_users)
from flightbook.modules.flights.notifications import notices
from flightbook.modules.flights.notifications.facts import FactKind
from flightbook.modules.flights.notifications.sending import Sender

FollowUp = notices.FollowUp


class FlightsService(OutboxAdmin, FlightsContract, FlightsAdmin):
    def __init__(self, uow: UnitOfWork, tokens: Tokens, rules: BookingRules, sender: Sender,
                 throttle: ThrottleRules = ThrottleRules(), session_lifetime: dt.timedelta = dt.timedelta(hours=12)):
        self.uow = uow
        self.tokens = tokens
        self.rules = rules
        self.sender = sender  # the traveller's mail
        self.throttle = throttle  # of failed logins
        self.session_lifetime = session_lifetime  # a login's refresh token lasts this long at most

    def register(self, registration: Registration) -> UserView:
        return users.register(self.uow, registration)

    def login(self, username: str, password: str, client_address: str | None = None) -> LoginResult:
        if client_address is not None and (not isinstance(client_address, str) or len(client_address) > 200):
            raise ValidationError("client_address", "must be an address of at most 200 characters")
        return users.login(self.uow, username, password, self.tokens, self.throttle, client_address,
                           self.session_lifetime)

    def refresh_session(self, refresh_token: str) -> LoginResult:
        return users.refresh(self.uow, refresh_token, self.tokens)

    def logout(self, caller: Principal | None, refresh_token: str | None = None) -> None:
        if caller is not None and caller.session_id and not caller.is_service:
            sessions.revoke(self.uow, caller.session_id, clock.now())
        elif refresh_token is not None:
            sessions.revoke_by_refresh_token(self.uow, refresh_token, clock.now())
        else:
            require_user(caller)

    def session_alive(self, session_id: str, *, caller: Principal | None = IN_PROCESS) -> bool:
        require_service(caller)
        return isinstance(session_id, str) and len(session_id) <= 64 and sessions.is_live(session_id, clock.now())

    def change_password(self, caller: Principal, current_password: str, new_password: str) -> None:
        users.change_password(self.uow, _user_id(require_user(caller)), current_password, new_password)

    def get_user(self, caller: Principal, user_id: int) -> UserView:
        require_self_or_admin(caller, user_id)
        return users.get_user(user_id)

    def search_places(self, q: str, limit: int = 10) -> list[Place]:
        return places.search_places(q, limit)

    def search_flights(self, query: FlightQuery) -> SearchResult:
        return search.search_flights(self.uow, query, self.rules.connections, self.rules.fares)

    def flight_calendar(self, query: CalendarQuery) -> FareCalendar:
        return calendar.flight_calendar(self.uow, query, self.rules.connections, self.rules.fares)

    def quote_trip(self, cabin: str, passengers: int, outbound_id: str, return_id: str | None = None,
                   children: int = 0, infants: int = 0) -> TripQuote:
        return bookings.quote_trip(self.uow, cabin, passengers, outbound_id, return_id, self.rules,
                                   children=children, infants=infants)

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


    # the admin console's: an admin's token, every change recorded in admin_audit
    def admin_find_flights(self, caller: Principal, origin: str | None = None, destination: str | None = None,
                           date: dt.date | None = None, number: str | None = None,
                           limit: int = 50) -> list[AdminFlight]:
        require_admin(caller)
        if not (origin or destination or date or number):
            raise ValidationError("q", "name a route, a date or a flight number")
        with self.uow.connection():
            return console_flights.find_flights(origin, destination, date, number, _limit(limit))

    def admin_flight(self, caller: Principal, flight_id: int) -> AdminFlightDetail:
        require_admin(caller)
        with self.uow.connection():
            return console_flights.flight_detail(flight_id)

    def admin_cancel_flight(self, caller: Principal, flight_id: int, reason: str) -> FlightCancellationResult:
        admin = require_admin(caller)
        return console_flights.cancel_flight(self.uow, flight_id, admin, kaudit.reason(reason))

    def admin_reschedule_flight(self, caller: Principal, flight_id: int, departs_local: dt.datetime,
                                reason: str) -> RescheduledFlight:
        admin = require_admin(caller)
        why = kaudit.reason(reason)
        if not isinstance(departs_local, dt.datetime):
            raise ValidationError("departs", "is required (YYYY-MM-DDTHH:MM, the origin's local time)")
        result = reschedule.reschedule_flight(self.uow, flight_id, departs_local.replace(tzinfo=None))
        if result.moved:
            with self.uow.transaction():
                console_audit.record(self.uow, admin, "flight.reschedule", f"flight {flight_id}", why,
                                     was=result.was_departs_local, departs=result.departs_local,
                                     bookings_told=result.bookings_told)
        return result

    def admin_find_bookings(self, caller: Principal, q: str, limit: int = 50) -> list[BookingView]:
        require_admin(caller)
        if not isinstance(q, str) or not q.strip() or len(q) > 254:
            raise ValidationError("q", "a ref, a username, an e-mail or a passenger's name (at most 254 characters)")
        with self.uow.connection():
            return console_bookings.find_bookings(q, _limit(limit))

    def admin_cancel_booking(self, caller: Principal, ref: str, full_refund: bool, reason: str) -> BookingView:
        admin = require_admin(caller)
        why = kaudit.reason(reason)
        if not isinstance(full_refund, bool):
            raise ValidationError("full_refund", "must be true or false")
        view, percent = bookings.cancel_for_traveller(self.uow, refs.normalize(ref), self.rules, full_refund)
        with self.uow.transaction():
            console_audit.record(self.uow, admin, "booking.cancel", f"booking {view.ref}", why,
                                 full_refund=full_refund, refund_percent=percent,
                                 refund_due=str(view.refund_due) if view.refund_due else None)
        return view

    def admin_find_users(self, caller: Principal, q: str, limit: int = 50) -> list[AdminUser]:
        require_admin(caller)
        if not isinstance(q, str) or len(q) > 254:
            raise ValidationError("q", "at most 254 characters")
        with self.uow.connection():
            return console_users.find_users(q, _limit(limit))

    def admin_user(self, caller: Principal, user_id: int) -> AdminUser:
        require_admin(caller)
        with self.uow.connection():
            return console_users.user(user_id)

    def admin_user_bookings(self, caller: Principal, user_id: int, limit: int = 50) -> list[BookingView]:
        require_admin(caller)
        with self.uow.connection():
            return console_bookings.user_bookings(console_users.user(user_id).id, _limit(limit))

    def admin_block_user(self, caller: Principal, user_id: int, blocked: bool, reason: str) -> AdminUser:
        admin = require_admin(caller)
        if not isinstance(blocked, bool):
            raise ValidationError("blocked", "must be true or false")
        return console_users.block(self.uow, user_id, blocked, admin, kaudit.reason(reason))

    def admin_overview(self, caller: Principal, today: dt.date, days: int = 30, ahead: int = 14) -> FlightsOverview:
        require_admin(caller)
        if not isinstance(today, dt.date) or not (1 <= days <= 366 and 1 <= ahead <= 62):
            raise ValidationError("days", "today, 1-366 days back and 1-62 days ahead")
        with self.uow.connection():
            return console_overview.overview(today, days, ahead)

    def admin_audit(self, caller: Principal, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        require_admin(caller)
        with self.uow.connection():
            return console_audit.entries(_limit(limit), target)

    def fold_seat_days(self) -> None:
        """The serving process's job: the seat differences the inventory's triggers appended, folded into
        the days' totals the admin's load factor reads (so it reads few rows, however busy the day)."""
        with self.uow.connection():
            console_flights.fold_seat_days(self.uow)

    def refresh_admin_figures(self) -> int:
        """The serving process's job: the overview's kept figures computed again while admins look at it."""
        with self.uow.connection():
            return console_overview.refresh()

    def admin_booking_events(self, caller: Principal, ref: str) -> list[EventRecord]:
        require_admin(caller)
        return outbox.events_about(self.uow.database, refs.normalize(ref))

    # FlightsAdmin: the CLI's
    def revoke_sessions(self, username: str) -> int:
        return users.revoke_sessions(self.uow, username)

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

    def import_cities(self, csv_path: Path | str | None = None,
                      aliases_path: Path | str | None = None) -> CityImport:
        return cities.import_cities(self.uow, csv_path or cities.DEFAULT_CSV, aliases_path or cities.DEFAULT_ALIASES_CSV)

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


def _limit(limit) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ADMIN_ROWS:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_ADMIN_ROWS}")
    return limit


def _user_id(traveller: Principal) -> int:
    if traveller.user_id is None:  # a user token always names its user
        raise ValueError("a traveller's principal without a user id")
    return traveller.user_id
