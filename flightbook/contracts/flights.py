"""The flights contract: users, places, flight search and bookings, as other parts may use them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Callable, Protocol

from flightbook.kernel.audit import AuditEntry
from flightbook.kernel.auth import IN_PROCESS, Principal
from flightbook.kernel.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from flightbook.kernel.events import Event
from flightbook.kernel.money import Money
from flightbook.kernel.outbox import EventRecord, OutboxReport

CABINS = ("economy", "business", "first")
MAX_PASSENGERS = 9  # seats: adults and children together (infants ride on an adult's lap)
#: how an option list may be ordered; ``best`` blends price and duration (see catalogue/ranking.py)
SORTS = ("best", "price", "departure", "duration")
MAX_STOPS = 2  # a journey has at most this many connections (three flights)
MAX_CALENDAR_DAYS = 62


class PassengerType(StrEnum):
    """By age on the day of the last flight: infant under 2 (on an adult's lap, no seat), child 2-11, adult."""
    ADULT = "adult"
    CHILD = "child"
    INFANT = "infant"


class BookingStatus(StrEnum):
    HELD = "HELD"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class Direction(StrEnum):
    """Which way a booked flight goes: the first leg out, or the way back."""
    OUTBOUND = "outbound"
    RETURN = "return"


#: ``BookingPaymentRejected.booking_status`` when the payment names no booking at all
NO_BOOKING = "NONE"


class BookingNotFound(NotFound):
    code = "booking_not_found"


class TooManyLoginAttempts(DomainError):
    """429: too many failed logins for this username or from this address; ``retry_after`` says when to try."""
    status = 429
    code = "too_many_attempts"


class SeatsUnavailable(Conflict):
    code = "seats_unavailable"


class InvalidTransition(Conflict):
    """The booking is not in a state that allows this; ``status`` in the details says which it is in."""
    code = "invalid_transition"


class HoldExpired(InvalidTransition):
    code = "hold_expired"


class FlightNotFound(NotFound):
    code = "flight_not_found"


class FlightDeparted(Conflict):
    code = "flight_departed"


class FlightCancelled(Conflict):
    """An admin cancelled the flight: it takes no booking."""
    code = "flight_cancelled"


class LoginBlocked(Forbidden):
    """An admin blocked the traveller's login."""
    code = "login_blocked"


class FareChanged(Conflict):
    """The price rose between search and booking: ``total`` is what the booking would cost now,
    ``expected_total`` what the client sent. Nothing was held."""
    code = "fare_changed"


class TicketNotIssued(Conflict):
    """Only a CONFIRMED booking has an e-ticket."""
    code = "ticket_not_issued"


class MessageKind(StrEnum):
    """What a message to the traveller is about: one change of their booking."""
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_EXPIRED = "booking_expired"
    FLIGHT_RESCHEDULED = "flight_rescheduled"


class MessageStatus(StrEnum):
    WAITING = "waiting"  # for payments' or loyalty's figures (a refund, the points), at most FLIGHTBOOK_MAIL_WAIT_SECONDS
    PENDING = "pending"  # to be sent (again, after a failure that may pass)
    SENT = "sent"
    FAILED = "failed"  # refused for good (a bad address, a 5xx), or given up after FLIGHTBOOK_MAIL_MAX_ATTEMPTS


class InvalidItinerary(ValidationError):
    """An itinerary id that names no journey search could offer: malformed, unknown flights, or flights that
    do not connect by the connection rules."""
    code = "invalid_itinerary"


@dataclass(frozen=True)
class Registration:
    username: str
    email: str
    password: str = field(repr=False)
    first_name: str
    last_name: str


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_admin: bool


@dataclass(frozen=True)
class LoginResult:
    """``token``: the access token (minutes, until ``expires_at``); ``refresh_token``: gets the next one
    (``refresh_session``), once: it changes on every use and its session ends at logout."""
    token: str
    expires_at: dt.datetime
    user: UserView
    refresh_token: str | None = None


@dataclass(frozen=True)
class Place:
    """An airport, or (kind "city") a metropolitan area under its IATA city code whose ``airports`` a search
    by that code covers (the city's icao is empty, its position and time zone its first airport's)."""
    iata: str
    icao: str
    name: str
    city: str
    country: str
    lat: float
    lon: float
    tz: str
    kind: str = "airport"  # or "city"
    airports: list[str] = field(default_factory=list)  # a city's airports, main airport first


@dataclass(frozen=True)
class FlightQuery:
    origin: str
    destination: str
    date: dt.date
    return_date: dt.date | None = None
    cabin: str = "economy"
    passengers: int = 1  # adults ("adults" in the API; "passengers" still means that many adults)
    sort: str = "price"
    max_stops: int = 1  # 0: direct flights only; 1 or 2: journeys with up to that many connections
    children: int = 0  # 2-11 years old on the day of the last flight
    infants: int = 0  # under 2, on an adult's lap: at most one per adult


@dataclass(frozen=True)
class FlightLeg:
    """One flight of a journey, with its own times, fare and seats in the journey's cabin."""
    id: int  # the flight's id
    flight_number: str
    airline: str
    origin: str
    destination: str
    departs_at: dt.datetime
    arrives_at: dt.datetime
    departs_local: str  # ISO 8601 with the origin's offset
    arrives_local: str  # ISO 8601 with the destination's offset
    duration_minutes: int
    cabin: str
    fare: Money  # per adult: what the next seat costs
    total: Money  # for all passengers, each seat at its own bucket's price
    seats_left: int


@dataclass(frozen=True)
class Layover:
    """Time on the ground between two legs: from the arrival at ``airport`` to the next departure."""
    airport: str
    minutes: int


@dataclass(frozen=True)
class FlightOption:
    """An itinerary: one flight, or flights that connect. The top-level fields describe the whole journey
    (a direct option's are its flight's), so a client that reads only them sees one trip."""
    id: str  # the itinerary id booking takes: its legs' flight ids joined by "-" ("812" for a direct flight)
    flight_number: str  # the legs' flight numbers joined by " / "
    airline: str  # the legs' airlines, each once, joined by " / "
    origin: str
    destination: str
    departs_at: dt.datetime  # the first leg's departure
    arrives_at: dt.datetime  # the last leg's arrival
    departs_local: str  # ISO 8601 with the origin's offset
    arrives_local: str  # ISO 8601 with the destination's offset
    duration_minutes: int  # door to door: flights and layovers
    cabin: str
    fare: Money  # per adult, the whole journey: what the next booking's first seat costs
    total: Money  # for all passengers (children's and infants' shares, each seat at its bucket's price)
    seats_left: int  # the fewest over the legs
    stops: int = 0
    legs: list[FlightLeg] = field(default_factory=list)
    layovers: list[Layover] = field(default_factory=list)


@dataclass(frozen=True)
class SearchResult:
    outbound: list[FlightOption]
    inbound: list[FlightOption]  # "return" in JSON; a Python keyword here


@dataclass(frozen=True)
class CalendarQuery:
    """The cheapest journey of each day from ``first`` to ``last`` (the origin's local dates, inclusive)."""
    origin: str
    destination: str
    first: dt.date  # "from" in the API
    last: dt.date  # "to" in the API
    cabin: str = "economy"
    passengers: int = 1
    max_stops: int = 1


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    total: Money | None  # the cheapest journey's total for all passengers; None when nothing can be booked
    stops: int | None  # that journey's connections


@dataclass(frozen=True)
class FareCalendar:
    days: list[CalendarDay]


@dataclass(frozen=True)
class PassengerInput:
    first_name: str
    last_name: str
    date_of_birth: dt.date
    gender: str | None = None
    #: adult, child or infant; None: the type the date of birth gives on the day of the last flight
    type: PassengerType | None = None


@dataclass(frozen=True)
class TripQuote:
    """What booking the chosen journeys would cost now for every passenger, by the booking's own rule."""
    total: Money
    directions: list[Money]  # each journey's total, outbound first


@dataclass(frozen=True)
class BookingRequest:
    """The journey to book: ``outbound_id`` (and ``return_id``) are option ids from search; a direct flight may
    still be named by ``outbound_flight_id`` (and ``return_flight_id``), as before itineraries."""
    cabin: str
    passengers: list[PassengerInput]
    contact_email: str
    outbound_id: str | None = None
    return_id: str | None = None
    outbound_flight_id: int | None = None
    return_flight_id: int | None = None
    #: the total the client saw in search: the booking is refused (FareChanged, nothing held) if it costs more
    expected_total: Money | None = None


@dataclass(frozen=True)
class BookedFlight:
    id: int
    direction: Direction
    flight_number: str
    airline: str
    origin: str
    destination: str
    departs_at: dt.datetime
    arrives_at: dt.datetime
    departs_local: str
    arrives_local: str
    duration_minutes: int
    fare: Money  # the first adult's fare on this flight (each passenger's is in BookingView.fares)


@dataclass(frozen=True)
class BookedLayover:
    """Time on the ground between two booked legs of one direction."""
    direction: Direction
    airport: str
    minutes: int


@dataclass(frozen=True)
class FareLine:
    passenger: int  # index into passengers
    flight_id: int
    fare: Money


@dataclass(frozen=True)
class BookingView:
    ref: str
    user_id: int
    status: BookingStatus
    cabin: str
    contact_email: str
    flights: list[BookedFlight]
    passengers: list[PassengerInput]
    fares: list[FareLine]
    total: Money
    hold_expires_at: dt.datetime
    created_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    payment_id: str | None = None
    refund_due: Money | None = None  # set when a confirmed booking is cancelled
    #: between the legs of a connection, in ``flights``' order (outbound legs by departure, then return legs)
    layovers: list[BookedLayover] = field(default_factory=list)


@dataclass(frozen=True)
class CancellationQuote:
    """What cancelling the booking now would give back, by the fare rule cancel_booking applies. For a
    booking already cancelled: what its cancellation gave back."""
    ref: str
    status: BookingStatus
    is_cancellable: bool
    #: the share of what was paid that comes back (100, or the late percentage; 0 for a hold): payments
    #: and loyalty each apply it to their part of a cash + points price
    refund_percent: int
    refund_due: Money  # refund_percent of the booking's total, rounded down to the minor unit
    #: until when cancelling gives everything back (None when nothing was paid or it is too late to ask)
    full_refund_until: dt.datetime | None = None


@dataclass(frozen=True)
class MessageView:
    """One e-mail about a booking, as its traveller sees it in their list of messages."""
    id: int
    booking_ref: str
    kind: MessageKind
    subject: str
    recipient: str
    status: MessageStatus
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    attempts: int = 0
    failure: str | None = None  # why it could not be sent, once FAILED


@dataclass(frozen=True)
class BookingPage:
    bookings: list[BookingView]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class BookingConfirmed(Event):
    topic = "booking.confirmed"
    ref: str
    user_id: int
    total: Money
    payment_id: str | None
    #: what the card paid, when the confirming payment said so; the rest of the total is points
    paid: Money | None = None


@dataclass(frozen=True)
class BookingCancelled(Event):
    topic = "booking.cancelled"
    ref: str
    user_id: int
    was_confirmed: bool
    refund_due: Money
    payment_id: str | None
    # the fare rule's share of what was paid that goes back (100, or the late percentage; 0 for a hold):
    # flights does not know the cash/points split, so payments and loyalty each apply it to their part
    refund_percent: int = 0


@dataclass(frozen=True)
class BookingExpired(Event):
    topic = "booking.expired"
    ref: str
    user_id: int


@dataclass(frozen=True)
class BookingPaymentRejected(Event):
    """A payment flights could not take for the booking (hold lapsed and seats gone, booking cancelled or
    already paid by another payment): payments gives it back; loyalty lets the points hold go unless
    ``booking_status`` is CONFIRMED (then the hold belongs to the payment that did confirm it)."""
    topic = "booking.payment_rejected"
    ref: str
    user_id: int
    payment_id: str
    reason: str
    booking_status: str  # a BookingStatus, or NO_BOOKING


@dataclass(frozen=True)
class FlightRescheduled(Event):
    """An admin moved a dated flight: the bookings named (CONFIRMED ones) keep their seats at the new times."""
    topic = "flight.rescheduled"
    flight_id: int
    flight_number: str
    origin: str
    destination: str
    was_departs_at: dt.datetime
    departs_at: dt.datetime
    arrives_at: dt.datetime
    booking_refs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FlightAdminAction(Event):
    """An admin changed something flights owns (see ``admin_audit``): the other parts may hear of it."""
    topic = "flights.admin_action"
    audit_id: int
    admin_id: int
    action: str
    target: str
    reason: str


@dataclass(frozen=True)
class CabinLoad:
    cabin: str
    capacity: int
    seats_left: int
    sold: int
    fare: Money


@dataclass(frozen=True)
class AdminFlight:
    """A dated flight as an admin sees it: its times, seats per cabin, and whether it was cancelled."""
    id: int
    flight_number: str
    airline: str
    origin: str
    destination: str
    service_date: dt.date
    departs_at: dt.datetime
    arrives_at: dt.datetime
    departs_local: str
    arrives_local: str
    cabins: list[CabinLoad] = field(default_factory=list)
    cancelled_at: dt.datetime | None = None


@dataclass(frozen=True)
class AdminFlightDetail:
    flight: AdminFlight
    bookings: list[BookingView]
    bookings_total: int  # all bookings on the flight (``bookings`` holds the newest MAX_ADMIN_ROWS)


@dataclass(frozen=True)
class FlightCancellationResult:
    """What cancelling a flight did: bookings cancelled now, those already cancelled or expired (left as
    they were), and whether this call cancelled the flight (False: it was cancelled before)."""
    flight_id: int
    cancelled: int
    already_closed: int
    newly_cancelled: bool


@dataclass(frozen=True)
class AdminUser:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_admin: bool
    created_at: dt.datetime
    blocked: bool = False
    blocked_reason: str | None = None
    bookings: int = 0


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    bookings: int  # made that day (any status now)
    confirmed: int  # of which confirmed
    revenue: Money  # confirmed totals of the bookings made that day (the main currency)


@dataclass(frozen=True)
class CabinDayLoad:
    day: dt.date
    cabin: str
    capacity: int
    sold: int

    @property
    def load_percent(self) -> float:
        return 100.0 * self.sold / self.capacity if self.capacity else 0.0


@dataclass(frozen=True)
class FlightsOverview:
    """The admin overview's figures that flights owns, for ``today`` (UTC)."""
    today: dt.date
    currency: str
    days: list[DayFigures]  # the last ``days`` days, oldest first, today last
    load: list[CabinDayLoad]  # the next ``ahead`` days from today, per cabin
    flights_today: int
    held_now: int
    users: int


#: the most rows an admin search or list answers
MAX_ADMIN_ROWS = 100


class FlightsContract(Protocol):
    def register(self, registration: Registration) -> UserView: ...
    def login(self, username: str, password: str, client_address: str | None = None) -> LoginResult:
        """``client_address``: where the traveller is (the gateway passes the browser's), for the throttle."""
    def get_user(self, caller: Principal, user_id: int) -> UserView: ...
    def refresh_session(self, refresh_token: str) -> LoginResult:
        """A new access token and refresh token for a live session (401 ``session_ended`` otherwise; an old
        refresh token ends its session)."""
    def logout(self, caller: Principal | None, refresh_token: str | None = None) -> None:
        """Ends the session of the caller's token (or of ``refresh_token``)."""
    def session_alive(self, session_id: str, *, caller: Principal | None = IN_PROCESS) -> bool:
        """Whether a session still lives (services only: the gateway asks for its web sessions)."""
    def change_password(self, caller: Principal, current_password: str, new_password: str) -> None:
        """The traveller's new password; every session of theirs ends."""

    def search_places(self, q: str, limit: int = 10) -> list[Place]: ...
    def search_flights(self, query: FlightQuery) -> SearchResult: ...
    def flight_calendar(self, query: CalendarQuery) -> FareCalendar:
        """The cheapest journey's total and stops for each day of a range (up to MAX_CALENDAR_DAYS)."""

    def quote_trip(self, cabin: str, passengers: int, outbound_id: str, return_id: str | None = None,
                   children: int = 0, infants: int = 0) -> TripQuote:
        """What booking these options (ids from search) would cost now for ``passengers`` adults, ``children`` and
        ``infants``: what ``book`` would charge, priced by the same code (each seat from its fare bucket, the
        passenger types' shares); the same checks (flights that exist, connect, have not left and have the
        seats)."""
    def book(self, caller: Principal, request: BookingRequest) -> BookingView: ...
    def get_booking(self, caller: Principal | None, ref: str) -> BookingView:
        """caller None means "a service asks" (payments checking what is due)."""
    def list_bookings(self, caller: Principal, page: int = 1, per_page: int = 20) -> BookingPage: ...
    def cancel_booking(self, caller: Principal, ref: str) -> BookingView: ...
    def quote_cancellation(self, caller: Principal, ref: str) -> CancellationQuote:
        """The owner asks what cancelling would give back now; changes nothing."""
    def confirm_booking(self, ref: str, payment_id: str, paid: Money | None = None, *,
                        caller: Principal | None = IN_PROCESS) -> BookingView:
        """HELD -> CONFIRMED (services only); idempotent for the same payment. ``paid``: what the card
        paid, passed on to loyalty in BookingConfirmed so points are spent only if they were needed."""
    def ticket_pdf(self, caller: Principal, ref: str) -> bytes:
        """The e-ticket of the caller's CONFIRMED booking as a PDF (404 to anyone but its owner)."""
    def messages(self, caller: Principal, booking_ref: str | None = None, limit: int = 20) -> list[MessageView]:
        """The e-mails sent (or on their way) to the caller about their bookings (or about one), newest first."""

    # the admin console's (an admin's token, else 403; every change recorded in admin_audit)
    def admin_find_flights(self, caller: Principal, origin: str | None = None, destination: str | None = None,
                           date: dt.date | None = None, number: str | None = None,
                           limit: int = 50) -> list[AdminFlight]:
        """Dated flights by route, date (the origin's local) and/or flight number, by departure."""
    def admin_flight(self, caller: Principal, flight_id: int) -> AdminFlightDetail: ...
    def admin_cancel_flight(self, caller: Principal, flight_id: int, reason: str) -> FlightCancellationResult:
        """Every HELD or CONFIRMED booking on the flight cancelled with a full refund (BookingCancelled at 100 %,
        so the saga refunds the card and reverses the points), seats back, the flight closed to booking;
        a second call cancels nothing more."""
    def admin_reschedule_flight(self, caller: Principal, flight_id: int, departs_local: dt.datetime,
                                reason: str) -> RescheduledFlight:
        """As ``flightbook reschedule-flight --departs``, recorded in the audit."""
    def admin_find_bookings(self, caller: Principal, q: str, limit: int = 50) -> list[BookingView]:
        """Bookings by ref, the traveller's username or e-mail, the contact e-mail or a passenger's name."""
    def admin_cancel_booking(self, caller: Principal, ref: str, full_refund: bool, reason: str) -> BookingView:
        """Cancel on the traveller's behalf, by the fare rule or with everything back (the choice recorded)."""
    def admin_find_users(self, caller: Principal, q: str, limit: int = 50) -> list[AdminUser]: ...
    def admin_user(self, caller: Principal, user_id: int) -> AdminUser: ...
    def admin_user_bookings(self, caller: Principal, user_id: int, limit: int = 50) -> list[BookingView]: ...
    def admin_block_user(self, caller: Principal, user_id: int, blocked: bool, reason: str) -> AdminUser:
        """Block (or unblock) the traveller's login; an admin cannot block themselves."""
    def admin_overview(self, caller: Principal, today: dt.date, days: int = 30, ahead: int = 14) -> FlightsOverview: ...
    def admin_audit(self, caller: Principal, limit: int = 100, target: str | None = None) -> list[AuditEntry]: ...
    def admin_events(self, caller: Principal) -> OutboxReport:
        """flights' outbox: backlog, oldest pending event, dead letters (as ``flightbook events``)."""
    def admin_retry_events(self, caller: Principal, event_id: str | None = None) -> int:
        """Re-queue a dead letter (``event_id``) or all of them; how many."""
    def admin_booking_events(self, caller: Principal, ref: str) -> list[EventRecord]:
        """The events flights published about the booking, oldest first."""


@dataclass(frozen=True)
class AirportImport:
    read: int
    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class FlightImport:
    schedules: int  # rows of the schedule file
    dated: int  # dated flights those rows make over the days asked for
    added: int  # of which were new
    existing: int  # of which were there already (left untouched, inventory included)
    inventory_rows: int  # seat inventory rows written for the new flights


@dataclass(frozen=True)
class RescheduledFlight:
    flight_id: int
    flight_number: str
    origin: str
    destination: str
    was_departs_local: str  # ISO 8601 with the origin's offset
    departs_local: str
    arrives_local: str
    bookings_told: int  # CONFIRMED bookings whose travellers get a message
    moved: bool  # False: it already departed at that time, nothing changed


@dataclass(frozen=True)
class MailReport:
    """One round of sending what is due: how each message came out, and what stays for later."""
    sent: int
    failed: int  # refused for good this round
    retrying: int  # failed for a reason that may pass: tried again after a pause
    pending: int  # still to send after this round (their next try not due yet)
    waiting: int  # still waiting for a refund's or the points' figures
    destination: str  # where mail goes: the SMTP server, or the folder of .eml files


@dataclass(frozen=True)
class CityImport:
    """Metropolitan areas and local place names (both files are the whole lists)."""
    cities: int
    skipped: int  # cities left out: fewer than two of their airports are known
    aliases: int


@dataclass(frozen=True)
class ConnectionTimesImport:
    """The file is the whole list of per-airport minimum connection times: airports it leaves out fall back
    to the defaults (FLIGHTBOOK_MIN_CONNECTION_MINUTES, _INTERNATIONAL_)."""
    read: int
    added: int
    updated: int
    unchanged: int
    removed: int


@dataclass(frozen=True)
class GeneratedSchedule:
    path: str
    airports: int
    weekly_flights: int
    flights_per_day: float


#: called as long work goes on with (done, total)
Progress = Callable[[int, int], None]


class FlightsAdmin(Protocol):
    """What the CLI and admins do with flights; not for other parts (they hold a FlightsContract)."""

    def register(self, registration: Registration) -> UserView:
        """A traveller (the demo's)."""
    def create_admin(self, username: str, password: str, email: str | None = None) -> UserView: ...
    def revoke_sessions(self, username: str) -> int:
        """Ends every session of the user (``flightbook revoke-sessions``): how many were live."""
    def import_airports(self, csv_path: Path | str | None = None, progress: Progress | None = None) -> AirportImport:
        """Upsert the file's airports (default data/airports.csv) by IATA code, all or nothing."""
    def generate_schedule(self, airports_count: int, out: Path | str, seed: int = 1,
                          airports_csv: Path | str | None = None) -> GeneratedSchedule:
        """Write a weekly schedule between the ``airports_count`` largest airports; same seed, same file."""
    def import_flights(self, schedule: Path | str, start: dt.date, days: int,
                       progress: Progress | None = None, fare_rules: Path | str | None = None) -> FlightImport:
        """Expand a weekly schedule into dated flights with seat inventory priced by the fare rules file
        (default data/fare_rules.toml); re-importing changes nothing."""
    def import_cities(self, csv_path: Path | str | None = None,
                      aliases_path: Path | str | None = None) -> CityImport:
        """Replace the metropolitan areas (default data/cities.csv) and local place names (default
        data/city_aliases.csv) with the files', all or nothing."""
    def import_connection_times(self, csv_path: Path | str | None = None) -> ConnectionTimesImport:
        """Replace the per-airport minimum connection times with the file's (default
        data/connection_times.csv), all or nothing."""
    def expire_holds(self) -> int:
        """Release the seat holds past their expiry; how many."""
    def reschedule_flight(self, flight_id: int, departs_local: dt.datetime | None = None, *,
                          delay_minutes: int | None = None) -> RescheduledFlight:
        """Move a dated flight to ``departs_local`` (naive, the origin's local time) or by ``delay_minutes``; its
        bookings keep their seats and each CONFIRMED one's traveller is told (FlightRescheduled)."""
    def send_mail(self, ignore_backoff: bool = False) -> MailReport:
        """Send the messages that are due (all pending ones with ``ignore_backoff``), as serve does in the background."""
    def mail_destination(self) -> str:
        """Where the travellers' e-mails go: the SMTP server (no password), or the folder of .eml files."""
