"""Money: integer minor units plus an ISO 4217 code. Never floats."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Minor-unit exponents for currencies that differ from the usual two decimals.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def is_currency(code: str) -> bool:
    return isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()


#: codes already found to be ISO-shaped: a search makes a few hundred Money of one currency, and checking the
#: code's shape each time was most of the cost of making one (at most 26**3 entries)
_CHECKED_CODES: set[str] = set()


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self):
        if type(self.amount) is not int and (not isinstance(self.amount, int) or isinstance(self.amount, bool)):
            raise TypeError("Money.amount must be an int of minor units")
        if type(self.currency) is not str or self.currency not in _CHECKED_CODES:
            if not is_currency(self.currency):
                raise ValueError(f"not an ISO currency code: {self.currency!r}")
            _CHECKED_CODES.add(self.currency)

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, n: int) -> "Money":
        return Money(self.amount * n, self.currency)

    def _same(self, other):
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def to_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict) -> "Money":
        return cls(int(data["amount"]), data["currency"])

    @classmethod
    def parse(cls, text: str, currency: str) -> "Money":
        """'123.45' in USD -> Money(12345, 'USD'); more decimals than the currency has is an error."""
        try:
            value = Decimal(text.strip())
        except (InvalidOperation, AttributeError):
            raise ValueError(f"not an amount: {text!r}") from None
        scaled = value.scaleb(exponent(currency))
        if scaled != scaled.to_integral_value() or value < 0:
            raise ValueError(f"not a valid {currency} amount: {text!r}")
        return cls(int(scaled), currency)

    def format(self) -> str:
        """For people: '$1,234.50', '¥12,000', '1,234.50 CHF'."""
        exp = exponent(self.currency)
        major = Decimal(self.amount).scaleb(-exp)
        text = f"{major:,.{exp}f}"
        symbol = _SYMBOLS.get(self.currency)
        return f"{symbol}{text}" if symbol else f"{text} {self.currency}"
