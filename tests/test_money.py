"""payedge.minor_units / to_minor / format_money: ISO 4217 exponents, exact conversion."""

from __future__ import annotations

import decimal
from decimal import Decimal

import payedge
import pytest
from hypothesis import given
from hypothesis import strategies as st
from payedge import MoneyError


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("usd", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("XOF", 0),
        ("XAF", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("TND", 3),
        ("CLF", 4),
        ("UYW", 4),
        ("ISK", 0),
        ("MGA", 2),
        ("XCG", 2),
        ("ZWG", 2),
        ("SLE", 2),
    ],
)
def test_minor_units(currency: str, exponent: int) -> None:
    assert payedge.minor_units(currency) == exponent


@pytest.mark.parametrize("currency", ["", "EU", "EURO", "XAU", "XXX", "XTS", "HRK", "ZWL", "123", "€UR"])
def test_unknown_currency(currency: str) -> None:
    with pytest.raises(MoneyError) as info:
        payedge.minor_units(currency)
    assert info.value.code == "unknown_currency"
    assert info.value.param == "currency"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.34", "EUR", 1234),
        ("12.3", "EUR", 1230),
        ("12", "EUR", 1200),
        ("0.01", "EUR", 1),
        ("-12.34", "EUR", -1234),
        ("+5", "EUR", 500),
        ("12.340", "EUR", 1234),
        ("1234", "JPY", 1234),
        ("1.234", "KWD", 1234),
        ("0.0001", "CLF", 1),
        ("1E+2", "EUR", 10000),
        ("92233720368547758.07", "EUR", 2**63 - 1),
        (Decimal("12.34"), "EUR", 1234),
        (Decimal("1E+2"), "EUR", 10000),
        (Decimal("0.10"), "EUR", 10),
        (Decimal("-0"), "EUR", 0),
        (Decimal("5"), "XOF", 5),
    ],
)
def test_to_minor(amount: str | Decimal, currency: str, minor: int) -> None:
    assert payedge.to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("12.345", "EUR", "excess_precision"),
        ("1.5", "JPY", "excess_precision"),
        ("0.0001", "KWD", "excess_precision"),
        (Decimal("0.005"), "EUR", "excess_precision"),
        (Decimal("1E-3"), "EUR", "excess_precision"),
        ("92233720368547758.08", "EUR", "overflow"),
        ("1E+30", "EUR", "overflow"),
        ("12,34", "EUR", "invalid_amount"),
        (" 12", "EUR", "invalid_amount"),
        ("1_000", "EUR", "invalid_amount"),
        ("", "EUR", "invalid_amount"),
        ("NaN", "EUR", "invalid_amount"),
        (Decimal("NaN"), "EUR", "invalid_amount"),
        (Decimal("Infinity"), "EUR", "invalid_amount"),
        ("12.34", "EURO", "unknown_currency"),
    ],
)
def test_to_minor_errors(amount: str | Decimal, currency: str, code: str) -> None:
    with pytest.raises(MoneyError) as info:
        payedge.to_minor(amount, currency)
    assert info.value.code == code
    # The bad field is named, as a server answers {"error": {"code", "param"}}.
    assert info.value.param == ("currency" if code == "unknown_currency" else "amount")


def test_to_minor_refuses_floats_and_ints() -> None:
    with pytest.raises(MoneyError, match="not float") as info:
        payedge.to_minor(12.34, "EUR")  # type: ignore[arg-type]
    assert info.value.code == "invalid_amount"
    assert info.value.param == "amount"
    with pytest.raises(MoneyError, match="not int"):
        payedge.to_minor(12, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1234, "EUR", "12.34 EUR"),
        (-1234, "EUR", "-12.34 EUR"),
        (-5, "EUR", "-0.05 EUR"),
        (0, "EUR", "0.00 EUR"),
        (1234, "JPY", "1234 JPY"),
        (-7, "XOF", "-7 XOF"),
        (1234, "KWD", "1.234 KWD"),
        (1234, "kwd", "1.234 KWD"),
        (-(2**63), "EUR", "-92233720368547758.08 EUR"),
    ],
)
def test_format_money(amount: int, currency: str, text: str) -> None:
    assert payedge.format_money(amount, currency) == text


def test_format_money_errors() -> None:
    with pytest.raises(MoneyError) as info:
        payedge.format_money(2**63, "EUR")
    assert info.value.code == "overflow"
    with pytest.raises(MoneyError) as info:
        payedge.format_money(12.5, "EUR")  # type: ignore[arg-type]
    assert info.value.code == "invalid_amount"
    with pytest.raises(MoneyError) as info:
        payedge.format_money(1, "ABC")
    assert info.value.code == "unknown_currency"


@given(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from(["EUR", "JPY", "KWD", "CLF", "XOF"]),
)
def test_format_and_to_minor_round_trip(amount: int, currency: str) -> None:
    number = payedge.format_money(amount, currency).split(" ")[0]
    assert payedge.to_minor(number, currency) == amount
    assert payedge.to_minor(Decimal(number), currency) == amount


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None), st.sampled_from(["EUR", "JPY", "KWD"])
)
def test_to_minor_agrees_with_decimal_arithmetic(value: Decimal, currency: str) -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 10_000
        ctx.Emax = decimal.MAX_EMAX
        ctx.Emin = decimal.MIN_EMIN
        scaled = value.scaleb(payedge.minor_units(currency))
        exact = scaled == scaled.to_integral_value()
        fits = -(2**63) <= scaled <= 2**63 - 1
    try:
        got: int | str = payedge.to_minor(value, currency)
    except MoneyError as exc:
        got = exc.code
    if not exact:
        assert got == "excess_precision"
    elif not fits:
        assert got == "overflow"
    else:
        assert got == int(scaled)
