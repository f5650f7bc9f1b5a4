"""Money's own checks: integer minor units and an ISO-shaped currency code, however often a code was seen."""
import enum

import pytest

from flightbook.kernel.money import Money


class Code(str, enum.Enum):
    USD = "USD"


@pytest.mark.parametrize("currency", ["usd", "US", "USDD", "U5D", "", None, 840, ["USD"]])
def test_money_refuses_a_code_that_is_not_iso_shaped_after_good_ones(currency):
    Money(100, "USD"), Money(100, "EUR")  # codes already seen valid do not let others through
    with pytest.raises(ValueError):
        Money(100, currency)


@pytest.mark.parametrize("amount", [1.5, "100", True, None])
def test_money_refuses_an_amount_that_is_not_an_int(amount):
    with pytest.raises(TypeError):
        Money(amount, "USD")


def test_money_takes_an_int_subclass_and_a_str_subclass_as_before():
    assert Money(int(True) + 1, Code.USD).currency == "USD"
    assert Money(7, "GBP") == Money(7, "GBP") and hash(Money(7, "GBP")) == hash(Money(7, "GBP"))
