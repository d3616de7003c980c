"""`Payment.replace` copies the slots instead of calling `dataclasses.replace` (a hot path: two per
payment write): for any payment and any set of changes it must give what `dataclasses.replace` gives,
field by field (the client secret included, which equality ignores), and refuse unknown names."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.payments.model import LastError, NextAction, NextActionType, Payment, PaymentStatus

FIELDS = [f.name for f in dataclasses.fields(Payment)]

_text = st.text(min_size=1, max_size=12)
_opt_text = st.none() | _text
_ms = st.integers(min_value=0, max_value=2**53)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": _text,
    "amount": st.integers(min_value=1, max_value=10**12),
    "currency": st.sampled_from(["eur", "xof", "isk", "usd"]),
    "gateway": st.sampled_from(["sandbox", "stripe", "paypal"]),
    "status": st.sampled_from(list(PaymentStatus)),
    "version": st.integers(min_value=1, max_value=1000),
    "created_at": _ms,
    "updated_at": _ms,
    "user_id": _opt_text,
    "order_ref": _opt_text,
    "payment_method": _opt_text,
    "metadata": st.dictionaries(_text, _text, max_size=3),
    "gateway_ref": _opt_text,
    "amount_captured": st.integers(min_value=0, max_value=10**12),
    "amount_refunded": st.integers(min_value=0, max_value=10**12),
    "last_error": st.none() | st.builds(LastError, _text, _text, _opt_text),
    "provider_at": st.none() | _ms,
    "locked_until": st.none() | _ms,
    "payee": _text,
    "commission_type": _opt_text,
    "next_action": st.none() | st.builds(NextAction, st.sampled_from(list(NextActionType)), _opt_text),
    "client_secret_hash": _opt_text,
    "locale": _opt_text,
    "client_secret": _opt_text,
}


def test_every_field_has_a_strategy() -> None:
    assert sorted(VALUES) == sorted(FIELDS)


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    return Payment(**{name: draw(strategy) for name, strategy in VALUES.items()})


@st.composite
def changes(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=len(FIELDS)))
    return {name: draw(VALUES[name]) for name in names}


@settings(max_examples=200, deadline=None)
@given(payments(), changes())
def test_replace_is_dataclasses_replace(p: Payment, change: dict[str, Any]) -> None:
    fast = p.replace(**change)
    slow = dataclasses.replace(p, **change)
    assert type(fast) is Payment
    for name in FIELDS:
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast == slow
    # The original is untouched (frozen, and a copy, not a view).
    assert all(getattr(p, name) == getattr(dataclasses.replace(p), name) for name in FIELDS)


def test_replace_refuses_an_unknown_field_and_stays_frozen() -> None:
    p = Payment("pay_x", 100, "eur", "sandbox", PaymentStatus.SUCCEEDED, 1, 0, 0)
    with pytest.raises(TypeError, match="amout"):
        p.replace(amout=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.replace(version=2).version = 3  # type: ignore[misc]
