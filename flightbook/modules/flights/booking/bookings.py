"""The booking use cases: holding seats, reading bookings, confirming a payment, cancelling and quoting a
cancellation. Every status change goes through ``states`` and every seat through ``seats``."""
from __future__ import annotations

import datetime as dt

import peewee as pw

from flightbook.contracts.flights import (BookingCancelled, BookingNotFound, BookingPage, BookingRequest,
                                          BookingStatus, BookingView, CancellationQuote, FareChanged,
                                          FlightDeparted, PassengerInput, PassengerType)
from flightbook.kernel import clock, faults, validate
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Forbidden, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking import refs
from flightbook.modules.flights.booking.checks import (Leg, bookable_legs, booking_currency, check_seats,
                                                       days_before, seats_unavailable, typed_passengers,
                                                       valid_expected_total, valid_passengers)
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.booking.seats import SoldSeat, release_seats, seats_left, seats_of, take_seats
from flightbook.modules.flights.booking.states import (CANCELLED, CONFIRMED, EXPIRED, HELD, TRANSITIONS, cannot,
                                                       confirm, expire_if_lapsed, find, first_departure,
                                                       has_lapsed, move, status_of)
from flightbook.modules.flights.booking.views import booking_views
from flightbook.modules.flights.models import Booking, BookingFare, BookingFlight, Passenger

_REF_ATTEMPTS = 10


def hold_seats(uow: UnitOfWork, user_id: int, request: BookingRequest, rules: BookingRules,
               now: dt.datetime | None = None) -> BookingView:
    """Validate everything, then take every seat, price it and write the booking in one transaction (or
    nothing). The total is fixed here: what the seats cost from their buckets when taken, by the fare rules."""
    now = now or clock.now()
    passengers = valid_passengers(request.passengers, now.date())
    email = validate.email({"contact_email": request.contact_email}, "contact_email")
    legs = bookable_legs(uow.database, request, now, rules.connections)
    passengers = typed_passengers(passengers, _date(legs[-1].flight.service_date))
    seated = sum(p.type != PassengerType.INFANT for p in passengers)
    check_seats(legs, seated)
    currency = booking_currency(legs)
    expected = valid_expected_total(request.expected_total, currency)
    ahead = days_before(uow.database, legs, now)
    expires_at = min(rules.hold_expires_at(now), clock.from_db(legs[0].flight.departs_at))
    # Priced first from the buckets as read, so the booking is written before the seats' row is locked (which
    # stays locked until commit); the seats UPDATE then says what was really sold, and only a price that moved
    # meanwhile is written again.
    quoted = {leg.flight.id: _seats_as_read(leg, seated) for leg in legs}
    fares, total = _priced(rules, passengers, legs, quoted, ahead, expected)
    with uow.transaction():
        ref = _insert_booking(uow, user_id=user_id, status=HELD, cabin=legs[0].cabin, contact_email=email,
                              total_amount=total.amount, currency=currency, hold_expires_at=clock.to_db(expires_at),
                              created_at=clock.to_db(now))
        _insert_passengers(ref, passengers)
        _insert_legs_and_fares(ref, legs, passengers, fares, quoted)
        short, sold = take_seats([leg.flight.id for leg in legs], legs[0].cabin, seated,
                                 frozenset(leg.flight.id for leg in legs if leg.buckets))
        if short is not None:  # raising rolls the whole booking back
            leg = next(leg for leg in legs if leg.flight.id == short)
            raise seats_unavailable(leg, seated, seats_left(short, leg.cabin))
        if sold != quoted:
            fares, total = _priced(rules, passengers, legs, sold, ahead, expected)
            _reprice(ref, legs, passengers, fares, sold, total)
    return get_booking(ref)


def _seats_as_read(leg: Leg, n: int) -> list[SoldSeat]:
    if not leg.buckets:
        return [SoldSeat(None, leg.fare.amount)] * n
    try:
        return [SoldSeat(bucket, price) for bucket, price in pricing.take(pricing.parse_state(leg.buckets), n)[1]]
    except ValueError:  # too few as read: the seats UPDATE will say so
        return [SoldSeat(None, leg.fare.amount)] * n


def _priced(rules: BookingRules, passengers: list[PassengerInput], legs: list[Leg], seats: dict[int, list[SoldSeat]],
            ahead: list[int], expected: Money | None) -> tuple[list[list[int]], Money]:
    """Each passenger's fare on each leg and the total, for these seats; FareChanged above ``expected``."""
    fares = rules.fares.party_fares([p.type or PassengerType.ADULT for p in passengers],
                                    [[seat.price for seat in seats[leg.flight.id]] for leg in legs],
                                    [None if seats[leg.flight.id][0].bucket is None else days
                                     for leg, days in zip(legs, ahead)])
    total = Money(sum(map(sum, fares)), legs[0].fare.currency)
    if expected is not None and total.amount > expected.amount:
        raise FareChanged(f"The fare rose since you searched: this booking costs {total.format()} now, not "
                          f"{expected.format()}. Nothing was held.", total=total.to_dict(),
                          expected_total=expected.to_dict())
    return fares, total


def _reprice(ref: str, legs: list[Leg], passengers: list[PassengerInput], fares: list[list[int]],
             sold: dict[int, list[SoldSeat]], total: Money) -> None:
    BookingFare.delete().where(BookingFare.booking == ref).execute()
    BookingFlight.delete().where(BookingFlight.booking == ref).execute()
    _insert_legs_and_fares(ref, legs, passengers, fares, sold)
    Booking.update(total_amount=total.amount).where(Booking.ref == ref).execute()


def _insert_booking(uow: UnitOfWork, **fields) -> str:
    for _ in range(_REF_ATTEMPTS):
        ref = refs.new_ref()
        try:
            with uow.database.atomic():  # a savepoint: a ref collision must not abort the whole transaction
                Booking.insert(ref=ref, **fields).execute()
            return ref
        except pw.IntegrityError:
            continue
    raise Unavailable("could not find a free booking reference; try again", code="ref_exhausted")


def _insert_passengers(ref: str, passengers: list[PassengerInput]) -> None:
    Passenger.insert_many([
        {"booking": ref, "first_name": p.first_name, "last_name": p.last_name, "date_of_birth": p.date_of_birth,
         "gender": p.gender, "passenger_type": p.type or PassengerType.ADULT} for p in passengers]).execute()


def _insert_legs_and_fares(ref: str, legs: list[Leg], passengers: list[PassengerInput], fares: list[list[int]],
                           sold: dict[int, list[SoldSeat]]) -> None:
    """Each leg with its first passenger's fare, and every passenger's fare on every leg with the bucket of
    their seat (an adult's or child's: seats in selling order go to adults first, as the fare rules price them)."""
    seat_of = seat_order(passengers)
    BookingFlight.insert_many([
        {"booking": ref, "flight": leg.flight.id, "direction": leg.direction, "fare_amount": fares[0][k],
         "currency": leg.fare.currency} for k, leg in enumerate(legs)]).execute()
    rows = []
    for i in range(len(passengers)):
        for k, leg in enumerate(legs):
            seat = sold[leg.flight.id][seat_of[i]] if i in seat_of else None
            rows.append({"booking": ref, "passenger": i, "flight_id": leg.flight.id,
                         "bucket": seat.bucket if seat else None, "bucket_price": seat.price if seat else None,
                         "amount": fares[i][k], "currency": leg.fare.currency})
    BookingFare.insert_many(rows).execute()


def seat_order(passengers: list[PassengerInput]) -> dict[int, int]:
    """Passenger index -> their seat's place in selling order: adults first, then children (infants: none)."""
    seated = [i for i, p in enumerate(passengers) if p.type == PassengerType.ADULT] + \
             [i for i, p in enumerate(passengers) if p.type == PassengerType.CHILD]
    return {i: place for place, i in enumerate(seated)}


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def get_booking(ref: str, viewer: Principal | None = None) -> BookingView:
    """The owner, an admin or a service (``viewer`` None or a service principal) may see a booking;
    to anyone else it does not exist."""
    booking = find(ref)
    if not _may_see(viewer, booking):
        raise BookingNotFound(f"no booking {ref}")
    return booking_views([booking])[0]


def list_bookings(user_id: int, page: int = 1, per_page: int = 20) -> BookingPage:
    """The traveller's bookings, newest first."""
    mine = Booking.select().where(Booking.user_id == user_id)
    rows = list(mine.order_by(Booking.created_at.desc(), Booking.ref.desc()).paginate(page, per_page))
    return BookingPage(bookings=booking_views(rows), page=page, per_page=per_page, total=mine.count())


def _may_see(viewer: Principal | None, booking: Booking) -> bool:
    return viewer is None or viewer.is_service or viewer.is_admin or viewer.user_id == booking.user_id


def confirm_booking(uow: UnitOfWork, ref: str, payment_id: str, now: dt.datetime | None = None,
                    paid: Money | None = None) -> BookingView:
    """HELD -> CONFIRMED once paid. Confirming again with the same payment changes nothing."""
    now = now or clock.now()
    if not isinstance(payment_id, str) or not payment_id.strip() or len(payment_id) > 64:
        raise ValidationError("payment_id", "is required (at most 64 characters)")
    expire_if_lapsed(uow, ref, now)
    with uow.transaction():
        booking = find(ref)
        if booking.status == CONFIRMED and booking.payment_id == payment_id:
            return get_booking(ref)
        if booking.status != HELD:  # a late payment goes through apply_payment, which wins seats back first
            raise cannot(ref, status_of(booking), CONFIRMED)
        confirm(uow, booking, payment_id, now, paid)
        faults.reach("flights.confirming")  # a crash test's instant: paid, confirmation not yet committed
    return get_booking(ref)


def cancel_booking(uow: UnitOfWork, ref: str, caller: Principal, rules: BookingRules,
                   now: dt.datetime | None = None) -> BookingView:
    """The owner cancels: HELD or CONFIRMED -> CANCELLED, seats back, refund due by the fare rule."""
    now = now or clock.now()
    _check_owner(find(ref), caller)
    expire_if_lapsed(uow, ref, now)
    with uow.transaction():
        booking = find(ref)
        refund, refund_percent = _cancellation_terms(booking, rules, now)
        move(booking, CANCELLED, cancelled_at=clock.to_db(now),
             refund_amount=refund.amount if refund is not None else None)
        release_seats(seats_of(booking.ref), booking.cabin)
        uow.publish(BookingCancelled(
            ref=booking.ref, user_id=booking.user_id, was_confirmed=refund is not None,
            refund_due=refund or Money(0, booking.currency), payment_id=booking.payment_id,
            refund_percent=refund_percent))
    return get_booking(ref)


def quote_cancellation(ref: str, caller: Principal, rules: BookingRules,
                       now: dt.datetime | None = None) -> CancellationQuote:
    """What ``cancel_booking`` would give back now, by the same terms; reads only. For a cancelled
    booking, what its cancellation gave back."""
    now = now or clock.now()
    booking = find(ref)
    _check_owner(booking, caller)
    status = EXPIRED if has_lapsed(booking, now) else status_of(booking)
    paid = Money(booking.total_amount, booking.currency)
    if status == CANCELLED:
        refund = Money(booking.refund_amount, booking.currency) if booking.refund_amount is not None else None
        return _quote(booking, status, False, refund, _refund_percent(refund, paid, rules))
    if CANCELLED not in TRANSITIONS[status]:
        return _quote(booking, status, False, None, 0)
    try:
        refund, refund_percent = _cancellation_terms(booking, rules, now)
    except FlightDeparted:
        return _quote(booking, status, False, None, 0)
    full_until = rules.full_refund_until(first_departure(booking)) if refund is not None else None
    return _quote(booking, status, True, refund, refund_percent, full_until)


def _quote(booking: Booking, status: BookingStatus, is_cancellable: bool, refund: Money | None,
           refund_percent: int, full_refund_until: dt.datetime | None = None) -> CancellationQuote:
    return CancellationQuote(ref=booking.ref, status=status, is_cancellable=is_cancellable,
                             refund_percent=refund_percent, refund_due=refund or Money(0, booking.currency),
                             full_refund_until=full_refund_until)


def _cancellation_terms(booking: Booking, rules: BookingRules, now: dt.datetime) -> tuple[Money | None, int]:
    """The fare rule for cancelling ``booking`` now: (the refund due, None for a hold; its share of what
    was paid). FlightDeparted once a confirmed booking's first flight has left."""
    if booking.status != CONFIRMED:
        return None, 0
    departs = first_departure(booking)
    if now >= departs:
        raise FlightDeparted(f"booking {booking.ref} cannot be cancelled: its first flight has departed",
                             ref=booking.ref, status=booking.status)
    paid = Money(booking.total_amount, booking.currency)
    refund = rules.refund_due(paid, departs, now)
    return refund, _refund_percent(refund, paid, rules)


def _refund_percent(refund: Money | None, paid: Money, rules: BookingRules) -> int:
    """The fare rule's outcome as a share, for the parts that split the price (cash, points)."""
    if refund is None:
        return 0
    return 100 if refund == paid else rules.late_refund_percent


def _check_owner(booking: Booking, caller: Principal) -> None:
    if caller.user_id == booking.user_id and not caller.is_service:
        return
    if caller.is_admin:
        raise Forbidden("only the traveller who booked may cancel a booking", code="not_owner")
    raise BookingNotFound(f"no booking {booking.ref}")
