"""With loyalty in another service, payments reads the booking and the points hold at the same time.

The two contracts here are stand-ins that wait for each other on a barrier: read one after the other,
the first would wait alone and the barrier would break. (Every other payments test uses the real parts.)"""
from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest

from flightbook.contracts.flights import BookingStatus, BookingView
from flightbook.contracts.loyalty import PointsHold
from flightbook.kernel import clock
from flightbook.kernel.errors import NotFound
from flightbook.kernel.money import Money
from flightbook.modules.payments.service import PaymentsService

SETTINGS = SimpleNamespace(service_secret="s" * 32, stripe_webhook_secret="w" * 32, payment_lease_seconds=30.0)


def booking(ref="ABC234", user_id=7):
    now = clock.now()
    return BookingView(ref=ref, user_id=user_id, status=BookingStatus.HELD, cabin="economy",
                       contact_email="a@example.com", flights=[], passengers=[], fares=[],
                       total=Money(50000, "USD"), hold_expires_at=now + dt.timedelta(minutes=10), created_at=now)


class Meeting:
    def __init__(self, parties=2):
        self.barrier = threading.Barrier(parties, timeout=5)

    def flights(self, answer):
        def get_booking(caller, ref):
            self.barrier.wait()
            if isinstance(answer, Exception):
                raise answer
            return answer
        return SimpleNamespace(get_booking=get_booking)

    def loyalty(self, hold):
        def active_hold_for_booking(ref):
            self.barrier.wait()
            return hold
        return SimpleNamespace(active_hold_for_booking=active_hold_for_booking)


def service(meeting, flights_answer, hold, parallel=True):
    return PaymentsService(None, SETTINGS, meeting.flights(flights_answer), meeting.loyalty(hold), {"mockbank": None},
                           "mockbank", parallel_lookups=parallel)


def test_booking_and_hold_are_read_at_the_same_time_and_priced_together():
    meeting = Meeting()
    hold = PointsHold(hold_id="ph_1", user_id=7, booking_ref="ABC234", points=10000, value=Money(10000, "USD"),
                      status="PENDING", created_at=clock.now())
    payments = service(meeting, booking(), hold)
    found, found_hold = payments.booking_and_hold("ABC234", 7)
    assert (found.ref, found_hold) == ("ABC234", hold)
    assert payments.amount_due(found, found_hold) == Money(40000, "USD")


def test_a_booking_that_is_not_the_callers_is_still_missing():
    payments = service(Meeting(), booking(user_id=8), None)
    with pytest.raises(NotFound):
        payments.booking_and_hold("ABC234", 7)
    payments = service(Meeting(), NotFound("no booking"), None)
    with pytest.raises(NotFound):
        payments.booking_and_hold("ABC234", 7)


def test_in_process_the_reads_stay_in_order():
    meeting = Meeting(parties=1)  # each read passes alone: they never overlap
    payments = service(meeting, booking(), None, parallel=False)
    found, hold = payments.booking_and_hold("ABC234", 7)
    assert found.ref == "ABC234" and hold is None
