"""The flights contract behaves the same in process and over HTTP."""
import datetime as dt
import itertools
import time
import uuid
from zoneinfo import ZoneInfo

import pytest

from flightbook import wiring
from flightbook.contracts.flights import (BookingNotFound, BookingStatus, CalendarQuery, FareChanged, FlightDeparted,
                                          FlightNotFound, FlightQuery, InvalidTransition, MessageKind, PassengerType,
                                          Registration, SeatsUnavailable, TicketNotIssued)
from flightbook.kernel import clock
from flightbook.kernel.errors import Conflict, Forbidden, Unauthorized, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.flights.models import Booking, Flight
from tests.contract.builders import held_booking, same, traveller
from tests.flights.builders import (add_airports, add_flight, add_leg, booking_request, local, passenger,
                                    price_in_buckets, seats_left)
from tests.mailkit import pdf_text


def _registration(**overrides):
    name = overrides.pop("username", f"u{uuid.uuid4().hex[:10]}")
    data = dict(username=name, email=f"{name}@example.com", password="a-long-password",
                first_name="Ada", last_name="Lovelace")
    data.update(overrides)
    return Registration(**data)


def test_register_login_and_read_self(contract_for, local_system):
    flights = contract_for("flights")
    user = flights.register(_registration())
    login = flights.login(user.username, "a-long-password")
    assert login.user == user
    caller = local_system.tokens.verify(login.token)
    assert flights.get_user(caller, user.id) == user


def test_sessions_refresh_once_and_end_at_logout_or_a_password_change(contract_for, local_system):
    flights = contract_for("flights")
    user = flights.register(_registration())
    login = flights.login(user.username, "a-long-password", "192.0.2.1")
    caller = local_system.tokens.verify(login.token)
    assert caller.session_id and flights.session_alive(caller.session_id)
    renewed = flights.refresh_session(login.refresh_token)
    assert renewed.user == user and renewed.refresh_token != login.refresh_token
    flights.logout(local_system.tokens.verify(renewed.token))
    assert not flights.session_alive(caller.session_id)
    with pytest.raises(Unauthorized):
        flights.refresh_session(renewed.refresh_token)
    again = flights.login(user.username, "a-long-password")
    flights.change_password(local_system.tokens.verify(again.token), "a-long-password", "another-long-one")
    with pytest.raises(Unauthorized):
        flights.refresh_session(again.refresh_token)
    with pytest.raises(Unauthorized):
        flights.login(user.username, "a-long-password")
    with pytest.raises(Forbidden):
        flights.session_alive(caller.session_id, caller=caller)


def test_errors_are_the_same_domain_errors(contract_for):
    flights = contract_for("flights")
    reg = _registration()
    flights.register(reg)
    with pytest.raises(Conflict) as taken:
        flights.register(reg)
    assert taken.value.code == "username_taken"
    with pytest.raises(ValidationError) as short:
        flights.register(_registration(password="short"))
    assert short.value.field == "password"
    with pytest.raises(Unauthorized) as wrong:
        flights.login(reg.username, "not-the-password")
    assert wrong.value.code == "invalid_credentials"


@pytest.fixture
def flights(contract_for):
    return contract_for("flights")


@pytest.fixture
def ada(local_system):
    return traveller(local_system)


def test_places_are_found_by_city_or_code_the_same_way(flights, local_system):
    add_airports()
    found = flights.search_places("london")
    assert [p.iata for p in found][:1] == ["LHR"] and found[0].tz == "Europe/London"
    assert flights.search_places("paris", limit=1) == local_system.contracts["flights"].search_places("paris", 1)
    with pytest.raises(ValidationError) as bad:
        flights.search_places("", limit=5)
    assert bad.value.field == "q"


def test_flight_search_answers_what_the_in_process_search_answers(flights, local_system):
    add_airports("CDG", "JFK")
    flight = add_flight("CDG", "JFK", departs_in=dt.timedelta(days=40), cabins={"economy": (9, 41000)})
    departs_at = clock.from_db(flight.departs_at)
    query = FlightQuery(origin="CDG", destination="JFK", passengers=2,
                        date=departs_at.astimezone(ZoneInfo("Europe/Paris")).date())
    result = flights.search_flights(query)
    mine = [o for o in result.outbound if o.id == str(flight.id)]
    assert [(o.departs_at, o.fare.amount, o.total.amount, o.seats_left) for o in mine] == [
        (departs_at, 41000, 82000, 9)]
    assert result.inbound == []
    assert same(result, local_system.contracts["flights"].search_flights(query))
    with pytest.raises(ValidationError):
        flights.search_flights(FlightQuery(origin="CDG", destination="JFK", date=query.date, passengers=10))


def test_a_trip_quote_is_what_booking_would_charge_the_same_way(flights, local_system, ada):
    add_airports("LHR", "JFK")
    there = add_flight("LHR", "JFK", cabins={"economy": (5, 19900)})
    back = add_flight("JFK", "LHR", departs_in=dt.timedelta(days=9), cabins={"economy": (5, 21050)})
    quote = flights.quote_trip("economy", 3, str(there.id), str(back.id))
    assert (quote.total, quote.directions) == (Money(122850, "USD"), [Money(59700, "USD"), Money(63150, "USD")])
    assert same(quote, local_system.contracts["flights"].quote_trip("economy", 3, str(there.id), str(back.id)))
    booking = flights.book(ada, booking_request(there.id, passengers=3, return_flight_id=back.id))
    assert booking.total == quote.total
    assert flights.quote_trip("economy", 1, str(there.id)).total == Money(19900, "USD")
    with pytest.raises(SeatsUnavailable):
        flights.quote_trip("economy", 3, str(there.id))  # 2 seats left now
    with pytest.raises(ValidationError) as bad:
        flights.quote_trip("economy", 0, str(there.id))
    assert bad.value.field == "passengers"


def test_a_booking_holds_seats_and_reads_back_for_its_owner_and_services_only(flights, local_system, ada):
    add_airports("LHR", "JFK")
    flight = add_flight(cabins={"economy": (5, 19900)})
    booking = flights.book(ada, booking_request(flight.id, passengers=2))
    assert (booking.user_id, booking.status, booking.total.amount) == (ada.user_id, BookingStatus.HELD, 39800)
    assert [f.id for f in booking.flights] == [flight.id] and len(booking.passengers) == 2
    assert seats_left(flight.id) == 3
    assert same(flights.get_booking(ada, booking.ref), booking)
    assert same(flights.get_booking(None, booking.ref), booking)
    with pytest.raises(BookingNotFound):
        flights.get_booking(traveller(local_system), booking.ref)
    with pytest.raises(BookingNotFound):
        flights.get_booking(ada, "ZZZZZZ")


def test_booking_refuses_missing_flights_and_full_cabins(flights, local_system, ada):
    add_airports("LHR", "JFK")
    flight = add_flight(cabins={"economy": (1, 10000)})
    with pytest.raises(SeatsUnavailable) as full:
        flights.book(ada, booking_request(flight.id, passengers=2))
    assert full.value.details["seats_left"] == 1
    missing_id = Flight.select().count() + 1000
    with pytest.raises(FlightNotFound):
        flights.book(ada, booking_request(missing_id))
    assert seats_left(flight.id) == 1


def test_a_traveller_lists_their_own_bookings_newest_first(flights, local_system, ada):
    first = held_booking(local_system, ada)
    second = held_booking(local_system, ada)
    held_booking(local_system, traveller(local_system))
    page = flights.list_bookings(ada, page=1, per_page=1)
    assert (page.page, page.per_page, page.total) == (1, 1, 2)
    assert [b.ref for b in page.bookings + flights.list_bookings(ada, 2, 1).bookings] == [second.ref, first.ref]


def test_a_travellers_calls_without_a_traveller_are_unauthorized(flights, adapter, local_system, request):
    booking = held_booking(local_system, traveller(local_system))
    for call in (lambda: flights.book(None, booking_request(booking.flights[0].id)),
                 lambda: flights.list_bookings(None), lambda: flights.cancel_booking(None, booking.ref),
                 lambda: flights.ticket_pdf(None, booking.ref), lambda: flights.messages(None)):
        with pytest.raises(Unauthorized):
            call()


def test_confirm_is_idempotent_for_its_payment_and_cancel_frees_the_seats(flights, local_system, ada):
    booking = held_booking(local_system, ada)
    flight_id = booking.flights[0].id
    before = seats_left(flight_id)
    confirmed = flights.confirm_booking(booking.ref, "pay_contract_1")
    assert (confirmed.status, confirmed.payment_id) == (BookingStatus.CONFIRMED, "pay_contract_1")
    assert same(flights.confirm_booking(booking.ref, "pay_contract_1"), confirmed)
    with pytest.raises(InvalidTransition):
        flights.confirm_booking(booking.ref, "pay_contract_2")
    with pytest.raises(BookingNotFound):
        flights.cancel_booking(traveller(local_system), booking.ref)
    cancelled = flights.cancel_booking(ada, booking.ref)
    assert cancelled.status == BookingStatus.CANCELLED and cancelled.refund_due is not None
    assert seats_left(flight_id) == before + 1
    with pytest.raises(InvalidTransition):
        flights.cancel_booking(ada, booking.ref)
    with pytest.raises(BookingNotFound):
        flights.confirm_booking("ZZZZZZ", "pay_contract_3")


def test_a_travellers_token_cannot_confirm_a_booking_over_http(http_for, local_system, ada):
    flights = http_for("flights")
    booking = held_booking(local_system, ada)
    with pytest.raises(Forbidden) as refused:
        flights.http.call("POST", f"/api/tickets/{booking.ref}/confirm", json={"payment_id": "pay_mine"},
                          token=ada.token)
    assert refused.value.code == "service_only"
    assert flights.get_booking(ada, booking.ref).status == BookingStatus.HELD


def test_flights_down_is_unavailable_at_once(impatient_client, closed_url):
    flights = impatient_client("flights", closed_url)
    started = time.monotonic()
    with pytest.raises(Unavailable) as down:
        flights.search_places("london")
    assert down.value.code == "service_unavailable" and time.monotonic() - started < 0.5


def test_a_booking_ref_is_found_whatever_its_case(flights, local_system, ada):
    booking = held_booking(local_system, ada)
    assert flights.get_booking(ada, booking.ref.lower()).ref == booking.ref


def _confirmed(local_system, ada, departs_in: dt.timedelta, fare: int = 25000, passengers: int = 2):
    add_airports("LHR", "JFK")
    flight = add_flight(departs_in=departs_in, cabins={"economy": (9, fare)})
    booking = local_system.contracts["flights"].book(ada, booking_request(flight.id, passengers))
    return local_system.contracts["flights"].confirm_booking(booking.ref, f"pay_{booking.ref}")


def test_a_cancellation_quote_is_what_cancelling_then_gives_back(flights, local_system, ada):
    held = held_booking(local_system, ada)
    quote = flights.quote_cancellation(ada, held.ref.lower())
    assert (quote.ref, quote.status, quote.is_cancellable, quote.refund_percent) == (
        held.ref, BookingStatus.HELD, True, 0)
    assert (quote.refund_due, quote.full_refund_until) == (Money(0, held.total.currency), None)

    booking = _confirmed(local_system, ada, dt.timedelta(days=7))
    quote = flights.quote_cancellation(ada, booking.ref)
    departs_at = booking.flights[0].departs_at
    cutoff = dt.timedelta(hours=local_system.settings.refund_cutoff_hours)
    assert (quote.status, quote.is_cancellable, quote.refund_percent, quote.refund_due) == (
        BookingStatus.CONFIRMED, True, 100, booking.total)
    assert quote.full_refund_until == departs_at - cutoff
    cancelled = flights.cancel_booking(ada, booking.ref)
    assert cancelled.refund_due == quote.refund_due
    after = flights.quote_cancellation(ada, booking.ref)
    assert (after.status, after.is_cancellable, after.refund_percent, after.refund_due) == (
        BookingStatus.CANCELLED, False, 100, cancelled.refund_due)


def test_a_late_cancellation_is_quoted_at_the_late_percentage(flights, local_system, ada):
    cutoff = local_system.settings.refund_cutoff_hours
    booking = _confirmed(local_system, ada, dt.timedelta(hours=max(cutoff - 2, 1)), fare=33333, passengers=3)
    quote = flights.quote_cancellation(ada, booking.ref)
    percent = local_system.settings.late_refund_percent
    assert (quote.is_cancellable, quote.refund_percent) == (True, percent)
    assert quote.refund_due == Money(booking.total.amount * percent // 100, booking.total.currency)
    assert quote.full_refund_until < clock.now()
    assert flights.cancel_booking(ada, booking.ref).refund_due == quote.refund_due


def test_no_cancellation_is_quoted_after_departure_or_for_a_lapsed_hold(flights, local_system, ada):
    booking = _confirmed(local_system, ada, dt.timedelta(days=3))
    Flight.update(departs_at=clock.to_db(clock.now() - dt.timedelta(hours=1))).where(
        Flight.id == booking.flights[0].id).execute()
    quote = flights.quote_cancellation(ada, booking.ref)
    assert (quote.status, quote.is_cancellable, quote.refund_due.amount) == (BookingStatus.CONFIRMED, False, 0)
    with pytest.raises(FlightDeparted):
        flights.cancel_booking(ada, booking.ref)

    held = held_booking(local_system, ada)
    Booking.update(hold_expires_at=clock.to_db(clock.now() - dt.timedelta(minutes=1))).where(
        Booking.ref == held.ref).execute()
    quote = flights.quote_cancellation(ada, held.ref)
    assert (quote.status, quote.is_cancellable) == (BookingStatus.EXPIRED, False)


def test_only_the_owner_is_quoted_a_cancellation(flights, local_system, ada):
    booking = held_booking(local_system, ada)
    with pytest.raises(BookingNotFound):
        flights.quote_cancellation(traveller(local_system), booking.ref)
    with pytest.raises(BookingNotFound):
        flights.quote_cancellation(ada, "ZZZZZZ")
    with pytest.raises(Unauthorized):
        flights.quote_cancellation(None, booking.ref)
    assert flights.get_booking(ada, booking.ref).status == BookingStatus.HELD


def test_the_e_ticket_pdf_and_the_messages_are_the_owners_alone(flights, local_system, ada):
    booking = held_booking(local_system, ada)
    with pytest.raises(TicketNotIssued):
        flights.ticket_pdf(ada, booking.ref)
    local_system.contracts.flights.confirm_booking(booking.ref, f"pay_{uuid.uuid4().hex[:8]}", paid=booking.total)
    pdf = flights.ticket_pdf(ada, booking.ref.lower())
    assert pdf.startswith(b"%PDF") and booking.ref in pdf_text(pdf)
    bob = traveller(local_system)
    with pytest.raises(BookingNotFound):
        flights.ticket_pdf(bob, booking.ref)
    for relay in wiring.build_relays(local_system).values():  # the confirmation's message is made from its event
        relay.drain()
    (message,) = flights.messages(ada, booking.ref)
    assert (message.kind, message.booking_ref, message.recipient) == (MessageKind.BOOKING_CONFIRMED, booking.ref,
                                                                      booking.contact_email)
    assert same(flights.messages(ada, limit=1), local_system.contracts.flights.messages(ada, limit=1))
    assert flights.messages(bob) == []
    with pytest.raises(ValidationError):
        flights.messages(ada, limit=0)
_days_ahead = itertools.count(25, 2)  # the suite's databases outlive a test: each connection flies on its own day


def _connection(day: dt.date):
    add_airports("JFK", "ORD", "LAX")
    return (add_leg("JFK", "ORD", local("JFK", day, "08:00"), 165, fare=15000, seats=9),
            add_leg("ORD", "LAX", local("ORD", day, "11:00"), 255, fare=21000, seats=9))


def test_a_connection_is_searched_booked_and_read_back_the_same_way(flights, local_system, ada):
    day = dt.date.today() + dt.timedelta(days=next(_days_ahead))
    first, second = _connection(day)
    query = FlightQuery(origin="JFK", destination="LAX", date=day, passengers=2, sort="best")
    result = flights.search_flights(query)
    assert same(result, local_system.contracts["flights"].search_flights(query))
    [option] = result.outbound
    assert (option.id, option.stops, [lay.airport for lay in option.layovers]) == (
        f"{first.id}-{second.id}", 1, ["ORD"])
    booking = flights.book(ada, booking_request(None, 2, outbound_id=option.id))
    assert booking.total == option.total and [f.id for f in booking.flights] == [first.id, second.id]
    assert [(lay.airport, lay.minutes) for lay in booking.layovers] == [("ORD", 75)]
    assert same(flights.get_booking(ada, booking.ref), booking)
    assert seats_left(first.id) == seats_left(second.id) == 7
    with pytest.raises(ValidationError) as forged:
        flights.book(ada, booking_request(None, 1, outbound_id=f"{second.id}-{first.id}"))
    assert (forged.value.code, forged.value.field) == ("invalid_itinerary", "outbound_id")
    with pytest.raises(SeatsUnavailable) as full:
        flights.book(ada, booking_request(None, 8, outbound_id=option.id))
    assert full.value.details["leg"] == 1 and full.value.details["flight_id"] == first.id


def test_the_fare_calendar_answers_the_same_way(flights, local_system):
    day = dt.date.today() + dt.timedelta(days=next(_days_ahead))
    _connection(day)
    query = CalendarQuery(origin="JFK", destination="LAX", first=day - dt.timedelta(days=1), last=day, passengers=2)
    found = flights.flight_calendar(query)
    assert [(d.date, d.total, d.stops) for d in found.days] == [
        (day - dt.timedelta(days=1), None, None), (day, Money(72000, "USD"), 1)]
    assert same(found, local_system.contracts["flights"].flight_calendar(query))
    with pytest.raises(ValidationError) as long:
        flights.flight_calendar(CalendarQuery(origin="JFK", destination="LAX", first=day,
                                              last=day + dt.timedelta(days=62)))
    assert long.value.field == "to"


def test_a_family_is_searched_priced_and_booked_the_same_way_and_a_risen_fare_refused_alike(flights, local_system,
                                                                                            ada):
    add_airports("LHR", "JFK")
    flight = add_flight(departs_in=dt.timedelta(days=15, hours=6))
    price_in_buckets(flight, [(10000, 2), (20000, 8)])
    day = clock.from_db(flight.departs_at).date()
    query = FlightQuery(origin="LHR", destination="JFK", date=day, passengers=2, children=1, infants=1)
    option = flights.search_flights(query).outbound[0]
    assert option.total.amount == 10000 + 10000 + 15000 + 1000
    assert same(flights.search_flights(query), local_system.contracts["flights"].search_flights(query))
    kid = passenger(2, first_name="Kid", date_of_birth=day.replace(year=day.year - 6), type=PassengerType.CHILD)
    baby = passenger(3, first_name="Baby", date_of_birth=day.replace(year=day.year - 1))
    with pytest.raises(FareChanged) as risen:
        flights.book(ada, booking_request(flight.id, [passenger(0), passenger(1), kid, baby],
                                          expected_total=Money(option.total.amount - 1, "USD")))
    assert risen.value.details["total"] == option.total.to_dict()
    booking = flights.book(ada, booking_request(flight.id, [passenger(0), passenger(1), kid, baby],
                                                expected_total=option.total))
    assert booking.total == option.total
    assert [p.type for p in booking.passengers] == [PassengerType.ADULT, PassengerType.ADULT, PassengerType.CHILD,
                                                    PassengerType.INFANT]
    assert [line.fare.amount for line in booking.fares] == [10000, 10000, 15000, 1000]
    assert same(flights.get_booking(ada, booking.ref), booking)
