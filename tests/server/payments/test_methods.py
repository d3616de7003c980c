"""A payment method id's routing type (payments.methods): the documented table, and the closed set
the `[routing]` table checks rule values against (a value outside it never matches)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from payedge_server.payments.methods import METHOD_TYPES, method_type

pytestmark = pytest.mark.sqlite_only  # no store

TABLE = [
    ("pm_card_visa", "card"),
    ("pm_sandbox_ok", "card"),
    ("paypal", "paypal"),
    ("msisdn:2250701020304", "mobile_money"),
    ("orange_money", "orange_money"),
    ("cinetpay", "cinetpay"),
    ("cinetpay:all", "cinetpay"),
    ("cinetpay:mobile_money", "mobile_money"),
    ("cinetpay:credit_card", "card"),
    ("cinetpay:wallet", "wallet"),
    ("tok_visa", None),
    (None, None),
]


@pytest.mark.parametrize(("payment_method", "expected"), TABLE)
def test_the_documented_types(payment_method: str | None, expected: str | None) -> None:
    assert method_type(payment_method) == expected


def test_every_type_is_given_by_some_payment_method() -> None:
    """METHOD_TYPES is exactly what method_type gives: none missing (a valid rule refused), none extra."""
    assert {t for _, t in TABLE if t is not None} == METHOD_TYPES


PAYMENT_METHODS = st.one_of(
    st.text(max_size=40),
    st.text(max_size=20).map(lambda s: "pm_" + s),
    st.text(max_size=20).map(lambda s: "msisdn:" + s),
    st.sampled_from([m for m, _ in TABLE]),
)


@given(PAYMENT_METHODS)
def test_every_answer_is_in_the_closed_set(payment_method: str | None) -> None:
    assert method_type(payment_method) in {*METHOD_TYPES, None}
