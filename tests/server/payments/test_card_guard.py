"""The card-data guard on payment_method and metadata: every card number is refused in any
spelling, and mobile-money payers (`msisdn:`, MTN MoMo) of every length E.164 allows pass
unless the number could itself be a card number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from payedge_server.errors import RequestError
from payedge_server.payments import validation

pytestmark = pytest.mark.sqlite_only  # no store


def with_luhn(body: str) -> str:
    """`body` + the check digit that makes it Luhn-valid."""
    for d in "0123456789":
        if validation.luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


# (network prefix, lengths): Visa, Mastercard (both series), Amex, Diners, Discover, JCB,
# UnionPay, Maestro.
NETWORKS = [
    ("4", (13, 16, 19)),
    ("51", (16,)),
    ("2221", (16,)),
    ("34", (15,)),
    ("37", (15,)),
    ("36", (14,)),
    ("6011", (16,)),
    ("3528", (16,)),
    ("62", (16, 19)),
    ("6759", (13, 19)),  # 12-digit Maestro left out: the guard starts at 13 digits
]


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix, lengths = draw(st.sampled_from(NETWORKS))
    length = draw(st.sampled_from(lengths))
    body = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return with_luhn(prefix + body)


def spellings(number: str) -> list[str]:
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return [number, grouped, grouped.replace(" ", "-"), f"msisdn:{number}", f"card {number} exp 12/30"]


@given(card_numbers())
def test_every_card_number_is_refused_in_every_spelling(number: str) -> None:
    for spelling in spellings(number):
        if spelling.startswith("msisdn:") and len(number) > 15:
            continue  # not an msisdn at all: the plain guard refuses it below
        with pytest.raises(RequestError) as err:
            validation.payment_method(spelling)
        assert (err.value.code, err.value.param) == ("card_data_refused", "payment_method")
        with pytest.raises(RequestError) as err:
            validation.metadata({"note": spelling})
        assert err.value.code == "card_data_refused"


# E.164 country codes of the mobile-money markets payedge's providers serve (ITU-T E.164 list).
AFRICAN_CODES = ["225", "229", "221", "223", "226", "237", "242", "243", "224", "233", "256", "250", "260"]


@given(st.sampled_from(AFRICAN_CODES), st.text("0123456789", min_size=8, max_size=12))
def test_mobile_money_payers_of_every_length_pass(code: str, subscriber: str) -> None:
    number = code + subscriber  # 11 to 15 digits
    assert validation.payment_method(f"msisdn:{number}") == f"msisdn:{number}"


@given(st.text("0123456789", min_size=5, max_size=15))
def test_an_msisdn_is_refused_exactly_when_it_could_be_a_card(digits: str) -> None:
    could_be_card = len(digits) >= 13 and digits[0] in "3456" and validation.luhn_valid(digits)
    assert validation.could_be_card_data(f"msisdn:{digits}") == could_be_card


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("msisdn:2250700000001", False),  # Côte d'Ivoire, 13 digits
        ("msisdn:22997000000", False),  # Benin, old 11 digits
        ("msisdn:46733123450", False),  # MTN's sandbox number
        ("msisdn:378282246310005", True),  # Amex test card
        ("msisdn:4222222222222", True),  # 13-digit Visa
        ("msisdn:30569309025904", True),  # Diners test card
        ("msisdn:4111111111111111", True),  # 16 digits: not an msisdn, the plain guard
        ("pm_card_visa", False),
        ("4242 4242 4242 4242", True),
    ],
)
def test_table(value: str, refused: bool) -> None:
    assert validation.could_be_card_data(value) is refused
