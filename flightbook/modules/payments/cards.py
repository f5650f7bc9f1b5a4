"""Pure card rules: Luhn, brand, expiry, and the fingerprint that stands in for the number."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flightbook.contracts.payments import CardInput, CardView
from flightbook.kernel.errors import ValidationError


def normalize_number(number: str) -> str:
    """Digits only: people type spaces and dashes."""
    return "".join(ch for ch in number if ch not in " -")


def passes_luhn(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch)
        if i % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(number[:2] or 0) <= 55 or 2221 <= int(number[:4] or 0) <= 2720:
        return "mastercard"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    return "unknown"


def is_expired(exp_month: int, exp_year: int, today: dt.date) -> bool:
    """A card is good through the last day of its expiry month."""
    return (exp_year, exp_month) < (today.year, today.month)


def fingerprint(number: str, secret: str) -> str:
    """HMAC of the number: the same card gives the same fingerprint, and it cannot be turned back."""
    return hmac.new(secret.encode(), number.encode(), hashlib.sha256).hexdigest()


def view(card: CardInput) -> CardView:
    return CardView(brand=brand_of(card.number), last4=card.number[-4:], exp_month=card.exp_month,
                    exp_year=card.exp_year)


def checked(card: CardInput) -> CardInput:
    """The card with a normalized number; a malformed field is a 400 (a Luhn failure is a decline, not this)."""
    number = normalize_number(card.number) if isinstance(card.number, str) else ""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise ValidationError("card.number", "must be 12 to 19 digits")
    if not isinstance(card.cvc, str) or not card.cvc.isdigit() or len(card.cvc) not in (3, 4):
        raise ValidationError("card.cvc", "must be 3 or 4 digits")
    if not 1 <= card.exp_month <= 12:
        raise ValidationError("card.exp_month", "must be 1 to 12")
    if not 2000 <= card.exp_year <= 2100:
        raise ValidationError("card.exp_year", "must be a four-digit year")
    return CardInput(number=number, exp_month=card.exp_month, exp_year=card.exp_year, cvc=card.cvc,
                     holder_name=card.holder_name)
