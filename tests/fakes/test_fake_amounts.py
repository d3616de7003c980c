"""The fakes' amount rules as properties: what a gateway that converts right sends is accepted,
a wrong number of decimals, a float or a non-multiple of 5 is refused (so a gateway that
converts wrongly fails against the fakes). In-process, on the fakes' own validators.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from payedge_server.fakes import cinetpay, momo, orange
from payedge_server.fakes.base import Reject
from payedge_server.fakes.paypal_money import CURRENCIES, NO_DECIMALS, Money, MoneyIssue, parse_money

MINOR = st.integers(min_value=1, max_value=10**15 - 1)  # PayPal caps values at 999999999999999.99


def paypal_value(minor: int, currency: str) -> str:
    """What a right conversion sends: ISO minor units except PayPal's no-decimal HUF/JPY/TWD."""
    if currency in NO_DECIMALS:
        return str(minor)
    return f"{Decimal(minor) / 100:.2f}"


@given(minor=MINOR, currency=st.sampled_from(sorted(CURRENCIES)))
def test_paypal_takes_right_conversions(minor: int, currency: str) -> None:
    money = parse_money({"currency_code": currency, "value": paypal_value(minor, currency)}, "/amount")
    assert isinstance(money, Money) and money.value == paypal_value(minor, currency)


@given(minor=MINOR, currency=st.sampled_from(sorted(CURRENCIES)))
def test_paypal_refuses_one_decimal_too_many(minor: int, currency: str) -> None:
    value = f"{minor}.0" if currency in NO_DECIMALS else f"{Decimal(minor) / 1000:.3f}"
    problem = parse_money({"currency_code": currency, "value": value}, "/amount")
    assert isinstance(problem, MoneyIssue) and problem.status == 422
    assert problem.issue == ("DECIMALS_NOT_SUPPORTED" if currency in NO_DECIMALS else "DECIMAL_PRECISION")


@given(value=st.integers(min_value=1) | st.floats(allow_nan=False) | st.none())
def test_paypal_refuses_non_string_values(value: object) -> None:
    problem = parse_money({"currency_code": "USD", "value": value}, "/amount")
    assert isinstance(problem, MoneyIssue) and problem.status == 400


@given(amount=st.integers(min_value=100, max_value=400_000))
def test_cinetpay_xof_takes_multiples_of_five_only(amount: int) -> None:
    if amount % 5 == 0:
        assert cinetpay._amount(amount, "XOF") == amount
        assert cinetpay._amount(str(amount), "XOF") == amount
    else:
        with pytest.raises(Reject):
            cinetpay._amount(amount, "XOF")


@given(amount=st.integers(min_value=100, max_value=10_000))
def test_cinetpay_refuses_minor_units_written_as_decimals(amount: int) -> None:
    for wrong in (float(amount), f"{amount}.00", amount + 0.5):
        with pytest.raises(Reject):
            cinetpay._amount(wrong, "XOF")


@given(minor=MINOR, currency=st.sampled_from(sorted(momo.DECIMALS)))
def test_momo_takes_strings_with_the_currencys_digits(minor: int, currency: str) -> None:
    digits = momo.DECIMALS[currency]
    right = str(minor) if digits == 0 else f"{Decimal(minor) / 10**digits:.{digits}f}"
    assert momo._amount(right, currency) == right
    with pytest.raises(Reject):
        momo._amount(f"{Decimal(minor) / 10 ** (digits + 1):.{digits + 1}f}", currency)
    with pytest.raises(Reject):
        momo._amount(minor, currency)  # a number, not a string


@given(amount=st.integers(min_value=1, max_value=10**9))
def test_orange_takes_json_integers_only(amount: int) -> None:
    assert orange._amount(amount) == amount
    for wrong in (str(amount), float(amount), True):
        with pytest.raises(Reject):
            orange._amount(wrong)
