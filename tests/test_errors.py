"""The error hierarchy users catch: one root, stable codes, ValueError where input was bad."""

from __future__ import annotations

import payedge
import pytest


@pytest.mark.parametrize(
    ("cls", "code", "is_value_error"),
    [
        (payedge.SignatureError, "invalid_signature", True),
        (payedge.PayloadError, "invalid_payload", True),
        (payedge.MoneyError, "invalid_money", True),
        (payedge.TariffError, "invalid_tariff", True),
        (payedge.QueueError, "queue_error", False),
        (payedge.StaleLeaseError, "stale_lease", False),
        (payedge.IdempotencyError, "invalid_idempotency_key", True),
        (payedge.InvalidArgumentError, "invalid_argument", True),
    ],
)
def test_hierarchy_and_default_codes(
    cls: type[payedge.PayedgeError], code: str, is_value_error: bool
) -> None:
    err = cls("boom")
    assert isinstance(err, payedge.PayedgeError)
    assert isinstance(err, ValueError) is is_value_error
    assert err.code == code
    assert str(err) == "boom"


def test_stale_lease_is_a_queue_error_with_token() -> None:
    err = payedge.StaleLeaseError("old", token=7)
    assert isinstance(err, payedge.QueueError)
    assert err.token == 7


def test_native_module_reexports_the_same_classes() -> None:
    import payedge._core as core

    assert core.SignatureError is payedge.SignatureError
    assert core.PayloadError is payedge.PayloadError
    assert not issubclass(payedge.PayloadError, payedge.SignatureError)
    assert core.PayedgeError is payedge.PayedgeError
