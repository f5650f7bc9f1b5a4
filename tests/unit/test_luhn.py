"""Pure card rules: Luhn, brand, expiry, fingerprint, and the Stripe failure-code mapping."""
import datetime as dt

import pytest

from flightbook.modules.payments import cards
from flightbook.modules.payments.stripe_provider import failure_code_of


@pytest.mark.parametrize("number", ["4242424242424242", "5555555555554444", "378282246310005",
                                    "4000000000000002", "6011111111111117"])
def test_real_test_numbers_pass_luhn(number):
    assert cards.passes_luhn(number)


@pytest.mark.parametrize("number", ["4242424242424241", "1234567812345678", "42424242", "4242x24242424242", ""])
def test_typos_and_junk_fail_luhn(number):
    assert not cards.passes_luhn(number)


def test_brands_and_normalizing():
    assert cards.normalize_number("4242 4242-4242 4242") == "4242424242424242"
    assert [cards.brand_of(n) for n in ("4242424242424242", "5555555555554444", "2223003122003222",
                                        "378282246310005", "6011111111111117", "9999999999999995")] == \
        ["visa", "mastercard", "mastercard", "amex", "discover", "unknown"]


def test_a_card_is_good_through_its_expiry_month():
    today = dt.date(2026, 5, 31)
    assert not cards.is_expired(5, 2026, today)
    assert cards.is_expired(4, 2026, today) and cards.is_expired(12, 2025, today)


def test_fingerprint_is_stable_keyed_and_not_the_number():
    a = cards.fingerprint("4242424242424242", "secret-a")
    assert a == cards.fingerprint("4242424242424242", "secret-a")
    assert a != cards.fingerprint("4242424242424242", "secret-b")
    assert len(a) == 64 and "4242424242424242" not in a


@pytest.mark.parametrize("code, decline, ours", [
    ("card_declined", "generic_decline", "card_declined"), ("card_declined", "insufficient_funds",
                                                            "insufficient_funds"),
    ("expired_card", None, "expired_card"), ("incorrect_cvc", None, "incorrect_cvc"),
    ("incorrect_number", None, "invalid_number"), ("processing_error", None, "card_declined")])
def test_stripe_codes_map_to_our_failure_codes(code, decline, ours):
    assert failure_code_of(code, decline) == ours
