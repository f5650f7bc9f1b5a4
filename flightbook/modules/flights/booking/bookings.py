"""The booking use cases: holding seats, reading bookings, confirming a payment, cancelling and quoting a
cancellation. Every status change goes through ``states`` and every seat through ``seats``."""
from __future__ import annotations

import dataclasses
import datetime as dt

from flightbook.contracts.flights import (BookingCancelled, BookingNotFound, BookingPage, BookingRequest,
                                          BookingStatus, BookingView, CancellationQuote, FareChanged,
                                          FlightDeparted, InvalidTransition, MAX_PASSENGERS, PassengerInput,
                                          PassengerType, TripQuote)
from flightbook.kernel import clock, faults, validate
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Forbidden, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights import metrics
from flightbook.modules.flights.booking import hold_sql, refs
from flightbook.modules.flights.booking.checks import (Leg, bookable_legs, booking_currency, check_seats,
                                                       days_before, seats_unavailable, typed_passengers,
                                                       valid_expected_total, valid_passengers)
from flightbook.modules.flights.booking.fare_rules import BookingRules
from flightbook.modules.flights.catalogue import pricing
from flightbook.modules.flights.booking.seats import (AsRead, SoldSeat, buckets_now, release_seats, seats_left,
                                                      seats_of, take_seats)
from flightbook.modules.flights.booking.states import (CANCELLED, CONFIRMED, EXPIRED, HELD, TRANSITIONS, cannot,
                                                       confirm, confirm_held, expire_if_lapsed, find, first_departure,
                                                       has_lapsed, move, status_of)
from flightbook.modules.flights.booking.hold_sql import NewBooking
from flightbook.modules.flights.booking.views import booking_views, held_view, read_booking
from flightbook.modules.flights.models import Booking, database

_REF_ATTEMPTS = 10


def quote_trip(uow: UnitOfWork, cabin: str, passengers: int, outbound_id: str, return_id: str | None,
               rules: BookingRules, now: dt.datetime | None = None, children: int = 0,
               infants: int = 0) -> TripQuote:
    """What hold_seats would charge now for these journeys and this party (``passengers`` adults, ``children``,
    ``infants``), checked and priced by the same code as the hold (each seat from its bucket as read, the
    passenger-type shares, the advance-purchase rule); changes nothing."""
    if isinstance(passengers, bool) or not isinstance(passengers, int) or not 1 <= passengers <= MAX_PASSENGERS:
        raise ValidationError("passengers", f"must be from 1 to {MAX_PASSENGERS}")
    party = pricing.Party(passengers, children, infants)
    problem = party.problem()
    if problem is not None:
        raise ValidationError(*problem)
    now = now or clock.now()
    request = BookingRequest(cabin=cabin, passengers=[], contact_email="", outbound_id=outbound_id,
                             return_id=return_id)
    legs = bookable_legs(uow.database, request, now, rules.connections)
    check_seats(legs, party.seated)
    currency = booking_currency(legs)
    quoted = {leg.flight.id: _seats_as_read(leg, party.seated) for leg in legs}
    fares = _fares(rules, party.types(), legs, quoted, days_before(uow.database, legs, now))
    per_leg = [sum(passenger[k] for passenger in fares) for k in range(len(legs))]
    directions = [Money(sum(amount for amount, leg in zip(per_leg, legs) if leg.direction == direction), currency)
                  for direction in dict.fromkeys(leg.direction for leg in legs)]
    return TripQuote(total=Money(sum(per_leg), currency), directions=directions)


def hold_seats(uow: UnitOfWork, user_id: int, request: BookingRequest, rules: BookingRules,
               now: dt.datetime | None = None) -> BookingView:
    """Validate everything, then take every seat, price it and write the booking in one transaction (or
    nothing); the answer is made of what was just written, not read back. The total is fixed here: what the
    seats cost from their buckets when taken (or the flat fare), by the fare rules."""
    now = now or clock.now()
    passengers = valid_passengers(request.passengers, now.date())
    email = validate.email({"contact_email": request.contact_email}, "contact_email")
    legs = bookable_legs(uow.database, request, now, rules.connections)
    passengers = typed_passengers(passengers, legs[-1].flight.service_date)
    types = [p.type or PassengerType.ADULT for p in passengers]  # typed: never None
    seated = sum(kind != PassengerType.INFANT for kind in types)
    check_seats(legs, seated)
    currency = booking_currency(legs)
    expected = valid_expected_total(request.expected_total, currency)
    ahead = days_before(uow.database, legs, now)
    booking = NewBooking(user_id=user_id, status=HELD, cabin=legs[0].cabin, contact_email=email, total_amount=0,
                         currency=currency, hold_expires_at=min(rules.hold_expires_at(now), legs[0].flight.departs_at),
                         created_at=now)
    # Priced first from the buckets as read (a flat cabin: its one fare), so the booking is written before the
    # seats' row is locked (which stays locked until commit); the seats UPDATE then says what was really sold,
    # and only a price that moved meanwhile is written again.
    quoted = {leg.flight.id: _seats_as_read(leg, seated) for leg in legs}
    fares = _fares(rules, types, legs, quoted, ahead)
    booking = _priced(booking, fares, expected)
    with uow.transaction():
        ref = _insert_booking(uow, booking, legs, passengers, fares, quoted)

        def moved(flight_id: int) -> AsRead:
            """The buckets moved since read, and no seats' row is locked yet: the hold priced again, from them as
            they stand, and rewritten if its price moved, before the seats are taken again."""
            nonlocal fares, booking
            now_read = buckets_now(flight_id, booking.cabin)
            leg = next(leg for leg in legs if leg.flight.id == flight_id)
            seats = _seats_as_read(dataclasses.replace(leg, buckets=now_read.buckets), seated)
            if seats != quoted[flight_id]:  # another price, or the same from another bucket
                quoted[flight_id] = seats
                fares = _fares(rules, types, legs, quoted, ahead)
                booking = _priced(booking, fares, expected)  # FareChanged rolls it all back
                hold_sql.reprice(uow.database, ref, booking, legs, passengers, fares, quoted)
            return now_read

        short, sold = take_seats([leg.flight.id for leg in legs], booking.cabin, seated,
                                 {leg.flight.id: AsRead(leg.buckets, leg.next_fares) for leg in legs if leg.buckets},
                                 moved)
        uow.after_commit(lambda: metrics.held(booking.cabin, seated))
        if short is not None:  # raising rolls the whole booking back
            leg = next(leg for leg in legs if leg.flight.id == short)
            raise seats_unavailable(leg, seated, seats_left(short, leg.cabin))
        if sold != quoted:  # the buckets moved since they were read (others bought or gave seats back)
            fares = _fares(rules, types, legs, sold, ahead)
            booking = _priced(booking, fares, expected)  # FareChanged here rolls the whole booking back
            hold_sql.reprice(uow.database, ref, booking, legs, passengers, fares, sold)
    return held_view(uow.database, ref, booking, legs, passengers, fares)


def _seats_as_read(leg: Leg, n: int) -> list[SoldSeat]:
    if not leg.buckets:
        return [SoldSeat(None, leg.fare.amount)] * n
    for bucket, item in enumerate(leg.buckets.split(" ")):  # most often all from the cheapest open bucket
        price, left, _ = item.split(":")
        if left != "0":
            if int(left) >= n:
                return [SoldSeat(bucket, int(price))] * n
            break
    try:
        return [SoldSeat(bucket, price) for bucket, price in pricing.take(pricing.parse_state(leg.buckets), n)[1]]
    except ValueError:  # too few as read: the seats UPDATE will say so
        return [SoldSeat(None, leg.fare.amount)] * n


def _fares(rules: BookingRules, types: list[PassengerType], legs: list[Leg], seats: dict[int, list[SoldSeat]],
           ahead: list[int]) -> list[list[int]]:
    """Each passenger's fare on each leg for these seats (a leg priced flat: no advance-purchase rule)."""
    return rules.fares.party_fares(types, [[seat.price for seat in seats[leg.flight.id]] for leg in legs],
                                   [None if seats[leg.flight.id][0].bucket is None else days
                                    for leg, days in zip(legs, ahead)])


def _priced(booking: NewBooking, fares: list[list[int]], expected: Money | None) -> NewBooking:
    """``booking`` with its total, the sum of its passengers' fares; FareChanged when that is more than the
    client saw (nothing stays held)."""
    total = Money(sum(map(sum, fares)), booking.currency)
    if expected is not None and total.amount > expected.amount:
        raise FareChanged(f"The fare rose since you searched: this booking costs {total.format()} now, not "
                          f"{expected.format()}. Nothing was held.", total=total.to_dict(),
                          expected_total=expected.to_dict())
    return booking._replace(total_amount=total.amount)


def _insert_booking(uow: UnitOfWork, booking: NewBooking, legs: list[Leg], passengers: list[PassengerInput],
                    fares: list[list[int]], sold: dict[int, list[SoldSeat]]) -> str:
    """Write the booking, its legs, passengers and fares under a new ref; a ref that is taken writes nothing
    (ON CONFLICT DO NOTHING, so no savepoint is needed) and the next one is tried."""
    for _ in range(_REF_ATTEMPTS):
        ref = refs.new_ref()
        if hold_sql.insert_booking(uow.database, ref, booking, legs, passengers, fares, sold):
            return ref
    raise Unavailable("could not find a free booking reference; try again", code="ref_exhausted")


def get_booking(ref: str, viewer: Principal | None = None) -> BookingView:
    """The owner, an admin or a service (``viewer`` None or a service principal) may see a booking;
    to anyone else it does not exist."""
    found = read_booking(database, ref) if refs.is_ref(ref) else None
    if found is None or not _may_see(viewer, found[0]):
        raise BookingNotFound(f"no booking {ref}")
    return found[1]


def list_bookings(user_id: int, page: int = 1, per_page: int = 20) -> BookingPage:
    """The traveller's bookings, newest first."""
    mine = Booking.select().where(Booking.user_id == user_id)
    rows = list(mine.order_by(Booking.created_at.desc(), Booking.ref.desc()).paginate(page, per_page))
    return BookingPage(bookings=booking_views(rows), page=page, per_page=per_page, total=mine.count())


def _may_see(viewer: Principal | None, user_id: int) -> bool:
    return viewer is None or viewer.is_service or viewer.is_admin or viewer.user_id == user_id


def confirm_booking(uow: UnitOfWork, ref: str, payment_id: str, now: dt.datetime | None = None,
                    paid: Money | None = None) -> BookingView:
    """HELD -> CONFIRMED once paid. Confirming again with the same payment changes nothing."""
    now = now or clock.now()
    if not isinstance(payment_id, str) or not payment_id.strip() or len(payment_id) > 64:
        raise ValidationError("payment_id", "is required (at most 64 characters)")
    if refs.is_ref(ref):
        # the usual case in one statement; when it changes nothing, the reads below say why
        with uow.transaction():
            confirmed = confirm_held(uow, ref, payment_id, now, paid)
            if confirmed is not None:
                faults.reach("flights.confirming")  # a crash test's instant: paid, confirmation not yet committed
        if confirmed is not None:
            return confirmed
    booking = find(ref)
    if has_lapsed(booking, now):  # expired for good, in its own transaction, whatever follows
        expire_if_lapsed(uow, ref, now)
        booking = find(ref)
    if booking.status == CONFIRMED and booking.payment_id == payment_id:
        return get_booking(ref)
    if booking.status != HELD:  # a late payment goes through apply_payment, which wins seats back first
        raise cannot(ref, status_of(booking), CONFIRMED)
    try:
        with uow.transaction():
            # conditional on the status read above: should another worker have moved the booking since, a 409
            confirm(uow, booking, payment_id, now, paid)
            faults.reach("flights.confirming")  # a crash test's instant: paid, confirmation not yet committed
    except InvalidTransition:
        # the saga's PaymentSucceeded handler may have confirmed it with this very payment meanwhile
        now_stored = find(ref)
        if now_stored.status != CONFIRMED or now_stored.payment_id != payment_id:
            raise
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
        close(uow, booking, refund, refund_percent, now)
    return get_booking(ref)


def close(uow: UnitOfWork, booking: Booking, refund: Money | None, refund_percent: int, now: dt.datetime, *,
          quiet: bool = False) -> bool:
    """-> CANCELLED with ``refund`` due (None for a hold), seats back, BookingCancelled published, in the
    caller's transaction. ``quiet``: another worker moved it first -> False instead of a 409."""
    if not move(booking, CANCELLED, cancelled_at=clock.to_db(now),
                refund_amount=refund.amount if refund is not None else None, quiet=quiet):
        return False
    release_seats(seats_of(booking.ref), booking.cabin)
    uow.publish(BookingCancelled(
        ref=booking.ref, user_id=booking.user_id, was_confirmed=refund is not None,
        refund_due=refund or Money(0, booking.currency), payment_id=booking.payment_id,
        refund_percent=refund_percent))
    return True


def cancel_for_traveller(uow: UnitOfWork, ref: str, rules: BookingRules, full_refund: bool,
                         now: dt.datetime | None = None) -> tuple[BookingView, int]:
    """An admin cancels on the traveller's behalf: by the fare rule (as the traveller would), or with
    everything paid given back (``full_refund``, also after the cut-off); (the booking, the refund percent)."""
    now = now or clock.now()
    expire_if_lapsed(uow, ref, now)
    with uow.transaction():
        booking = find(ref)
        refund: Money | None
        if full_refund and booking.status == CONFIRMED:
            refund, refund_percent = Money(booking.total_amount, booking.currency), 100
        else:
            refund, refund_percent = _cancellation_terms(booking, rules, now)
        close(uow, booking, refund, refund_percent, now)
    return get_booking(ref), refund_percent


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
