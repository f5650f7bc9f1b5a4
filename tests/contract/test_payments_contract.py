"""The payments contract behaves the same in process and over HTTP (a real gunicorn serving payments)."""
import time

import pytest

from flightbook.contracts.flights import BookingStatus
from flightbook.contracts.payments import (IdempotencyKeyReused, IntentAlreadyPaid, IntentNotFound, IntentStatus,
                                           PaymentNotFound, PaymentStatus, RefundExceedsPayment)
from flightbook.kernel.errors import Forbidden, NotFound, Unauthorized, Unavailable, ValidationError
from flightbook.kernel.money import Money
from tests.contract.builders import DECLINED_CARD, card, held_booking, new_key, same, service, traveller


@pytest.fixture
def payments(contract_for):
    return contract_for("payments")


@pytest.fixture
def ada(local_system):
    return traveller(local_system)


def _paid(local_system, payments, caller, fare=25000):
    booking = held_booking(local_system, caller, fare=fare)
    intent = payments.create_intent(caller, booking.ref)
    return booking, payments.process_payment(caller, intent.id, card(), new_key())


def test_an_intent_asks_what_the_booking_says_is_due_and_is_made_once(payments, local_system, ada):
    booking = held_booking(local_system, ada, fare=31000, passengers=2)
    intent = payments.create_intent(ada, booking.ref)
    assert (intent.booking_ref, intent.user_id) == (booking.ref, ada.user_id)
    assert (intent.amount, intent.currency) == (booking.total.amount, booking.total.currency) == (62000, "USD")
    assert intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD
    assert payments.create_intent(ada, booking.ref) == intent


def test_a_booking_ref_is_found_whatever_its_case(payments, local_system, ada):
    booking = held_booking(local_system, ada)
    assert payments.create_intent(ada, booking.ref.lower()).booking_ref == booking.ref


def test_no_intent_for_a_missing_or_someone_elses_booking_or_without_a_traveller(payments, local_system, ada):
    booking = held_booking(local_system, ada)
    for caller, ref in ((traveller(local_system), booking.ref), (ada, "ZZZZZZ")):
        with pytest.raises(NotFound) as missing:
            payments.create_intent(caller, ref)
        assert missing.value.code == "booking_not_found"
    with pytest.raises(Unauthorized):
        payments.create_intent(None, booking.ref)
    with pytest.raises(Forbidden):
        payments.create_intent(service(local_system), booking.ref)


def test_a_good_card_pays_once_per_key_and_confirms_the_booking(payments, local_system, ada):
    booking = held_booking(local_system, ada, fare=27500)
    intent = payments.create_intent(ada, booking.ref)
    key = new_key()
    result = payments.process_payment(ada, intent.id, card(), key)
    assert result.is_success and result.status == PaymentStatus.SUCCEEDED
    assert (result.intent_id, result.booking_ref, result.amount, result.currency) == (intent.id, booking.ref,
                                                                                      27500, "USD")
    assert (result.card.brand, result.card.last4, result.failure_code) == ("visa", "4242", None)
    confirmed = local_system.contracts["flights"].get_booking(None, booking.ref)
    assert (confirmed.status, confirmed.payment_id) == (BookingStatus.CONFIRMED, result.id)
    assert payments.process_payment(ada, intent.id, card(), key) == result
    with pytest.raises(IdempotencyKeyReused):
        payments.process_payment(ada, intent.id, card(exp_month=11), key)
    with pytest.raises(IntentAlreadyPaid):
        payments.process_payment(ada, intent.id, card(), new_key())


def test_a_decline_is_a_failed_result_not_an_error_and_the_booking_stays_held(payments, local_system, ada):
    booking = held_booking(local_system, ada)
    intent = payments.create_intent(ada, booking.ref)
    result = payments.process_payment(ada, intent.id, card(DECLINED_CARD), new_key())
    assert (result.status, result.failure_code, result.is_success) == (PaymentStatus.FAILED, "card_declined", False)
    assert result.message and result.card.last4 == DECLINED_CARD[-4:]
    assert local_system.contracts["flights"].get_booking(None, booking.ref).status == BookingStatus.HELD
    assert payments.process_payment(ada, intent.id, card(), new_key()).is_success


def test_paying_needs_a_key_a_known_intent_of_ones_own_and_a_traveller(payments, local_system, ada):
    intent = payments.create_intent(ada, held_booking(local_system, ada).ref)
    with pytest.raises(ValidationError) as no_key:
        payments.process_payment(ada, intent.id, card(), None)
    assert no_key.value.field == "Idempotency-Key"
    for caller, intent_id in ((ada, "pi_missing"), (traveller(local_system), intent.id)):
        with pytest.raises(IntentNotFound):
            payments.process_payment(caller, intent_id, card(), new_key())
    with pytest.raises(Forbidden):
        payments.process_payment(service(local_system), intent.id, card(), new_key())


def test_history_shows_a_travellers_own_payments_to_them_and_to_services(payments, local_system, ada):
    booking, paid = _paid(local_system, payments, ada)
    mine = payments.history(ada, ada.user_id)
    assert [(p.id, p.booking_ref, p.status, p.amount, p.refunded_amount) for p in mine.payments] == [
        (paid.id, booking.ref, PaymentStatus.SUCCEEDED, paid.amount, 0)]
    assert payments.history(service(local_system), ada.user_id) == mine
    with pytest.raises(Forbidden):
        payments.history(traveller(local_system), ada.user_id)


def test_refunds_part_then_the_rest_replay_by_key_and_never_exceed_the_payment(payments, local_system, ada):
    _, paid = _paid(local_system, payments, ada, fare=20000)
    key = new_key()
    part = payments.refund(paid.id, 5000, key)
    assert (part.payment_id, part.amount, part.refunded_total) == (paid.id, 5000, 5000)
    assert part.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    assert same(payments.refund(paid.id, 5000, key), part)
    with pytest.raises(RefundExceedsPayment):
        payments.refund(paid.id, 15001, new_key())
    rest = payments.refund(paid.id, None, new_key())
    assert (rest.amount, rest.refunded_total, rest.payment_status) == (15000, 20000, PaymentStatus.REFUNDED)
    assert [r.id for r in payments.history(ada, ada.user_id).payments[0].refunds] == [part.id, rest.id]
    with pytest.raises(PaymentNotFound):
        payments.refund("pay_missing", None, new_key())
    with pytest.raises(ValidationError) as no_key:
        payments.refund(paid.id, 1, None)
    assert no_key.value.field == "Idempotency-Key"


def test_a_travellers_token_cannot_refund_over_http(http_for, local_system, ada):
    payments = http_for("payments")
    _, paid = _paid(local_system, payments, ada)
    with pytest.raises(Forbidden):
        payments.http.call("POST", "/api/payments/refund", json={"payment_id": paid.id}, token=ada.token,
                           headers={"Idempotency-Key": new_key()})
    assert payments.history(ada, ada.user_id).payments[0].refunded_amount == 0


def test_payments_down_is_unavailable_at_once(impatient_client, closed_url, local_system, ada):
    payments = impatient_client("payments", closed_url)
    started = time.monotonic()
    with pytest.raises(Unavailable) as down:
        payments.create_intent(ada, "ABC123")
    assert down.value.code == "service_unavailable" and down.value.status == 503
    assert time.monotonic() - started < 0.5


def test_a_payment_to_a_silent_service_is_unavailable_within_the_timeout(impatient_client, silent_url, ada):
    payments = impatient_client("payments", silent_url)
    started = time.monotonic()
    with pytest.raises(Unavailable) as silent:
        payments.process_payment(ada, "pi_x", card(), new_key())
    assert silent.value.code == "service_unavailable"
    assert time.monotonic() - started < 2.2 + 0.5  # the payment call's own timeout (see impatient_client)


def _points_on(local_system, caller, booking, points: int) -> None:
    """Setup through in-process loyalty: enough points earned, then ``points`` held against the booking."""
    loyalty = local_system.contracts["loyalty"]
    loyalty.earn(caller.user_id, f"E{booking.ref}", Money(points * 10, "USD"))  # 10 points a dollar
    loyalty.hold_points(caller, caller.user_id, points, booking.ref, booking.total.currency)


def test_points_held_on_the_booking_lower_what_the_card_pays(payments, local_system, ada):
    booking = held_booking(local_system, ada, fare=30000)
    _points_on(local_system, ada, booking, 12000)
    intent = payments.create_intent(ada, booking.ref)
    assert (intent.amount, intent.currency) == (30000 - 12000, "USD")
    with pytest.raises(ValidationError) as no_card:
        payments.process_payment(ada, intent.id, None, new_key())
    assert no_card.value.field == "card"
    assert payments.process_payment(ada, intent.id, card(), new_key()).amount == 18000


def test_points_that_cover_the_total_pay_without_a_card(payments, local_system, ada):
    booking = held_booking(local_system, ada, fare=15000)
    _points_on(local_system, ada, booking, 15000)
    intent = payments.create_intent(ada, booking.ref)
    assert intent.amount == 0
    result = payments.process_payment(ada, intent.id, None, new_key())
    assert (result.status, result.amount, result.card) == (PaymentStatus.SUCCEEDED, 0, None)
    assert local_system.contracts["flights"].get_booking(None, booking.ref).status == BookingStatus.CONFIRMED


def test_a_payment_quote_says_what_the_card_pays_by_the_rule_the_intent_follows(payments, local_system, ada):
    booking = held_booking(local_system, ada, fare=30000)
    _points_on(local_system, ada, booking, 12000)
    quote = payments.quote_payment(ada, booking.ref, 12000)
    assert (quote.total, quote.points, quote.points_value, quote.card) == (
        Money(30000, "USD"), 12000, Money(12000, "USD"), Money(18000, "USD"))
    assert quote.card.amount == payments.create_intent(ada, booking.ref).amount
    assert payments.quote_payment(ada, booking.ref).card == Money(30000, "USD")
    assert payments.quote_payment(ada, booking.ref, 90000).card == Money(0, "USD")  # never below 0
    with pytest.raises(NotFound):
        payments.quote_payment(traveller(local_system), booking.ref, 0)


def test_a_refund_quote_gives_the_card_its_share_as_the_cancellation_will(payments, local_system, ada):
    booking = held_booking(local_system, ada, fare=30001)
    assert payments.quote_refund(ada, booking.ref, 100).refund == Money(0, "USD")  # nothing charged yet
    intent = payments.create_intent(ada, booking.ref)
    payments.process_payment(ada, intent.id, card(), new_key())
    quote = payments.quote_refund(ada, booking.ref, 50)
    assert (quote.paid, quote.refund, quote.refund_percent) == (Money(30001, "USD"), Money(15000, "USD"), 50)
    assert payments.quote_refund(ada, booking.ref, 100).refund == Money(30001, "USD")
    with pytest.raises(NotFound):
        payments.quote_refund(traveller(local_system), booking.ref, 100)
