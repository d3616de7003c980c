"""What a provider's signature proves, payedge acknowledges (issue 16, for every provider).

Once a callback is authenticated, reading it never refuses it: each connector's
reader turns a verified body with random JSON values in any of its fields into an
event to act on, an event flagged with a problem for an operator, or an unparsed
record, and never raises. (CinetPay, Orange Money and MTN MoMo read no amounts or
states from the callback at all: they only make payedge read the status, tested in
test_callbacks.py; PayPal and Stripe read the event itself.)
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.gateways.base import InboundEvent
from payedge_server.gateways.paypal.webhooks import read_event

pytestmark = pytest.mark.sqlite_only  # no store

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)

PAYPAL_TYPES = [
    "CHECKOUT.ORDER.APPROVED",
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.PENDING",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.DECLINED",
    "PAYMENT.CAPTURE.REFUNDED",
    "PAYMENT.CAPTURE.REVERSED",
    "SOMETHING.ELSE",
]
# Where a field sits in a PayPal event (paths into `resource` that the readers look at).
PAYPAL_FIELDS = [
    ("id",),
    ("custom_id",),
    ("amount",),
    ("amount", "value"),
    ("amount", "currency_code"),
    ("purchase_units",),
    ("supplementary_data",),
    ("supplementary_data", "related_ids", "order_id"),
    ("seller_payable_breakdown", "total_refunded_amount"),
    ("status_details", "reason"),
]


def _put(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        child = tree.get(key)
        if not isinstance(child, dict):
            child = tree[key] = {}
        tree = child
    tree[path[-1]] = value


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(PAYPAL_TYPES),
    st.lists(st.tuples(st.sampled_from(PAYPAL_FIELDS), json_values), max_size=5),
    json_values,
    json_values,
)
def test_a_verified_paypal_event_with_any_field_values_is_read_never_refused(
    kind: str, fields: list[tuple[tuple[str, ...], Any]], create_time: Any, resource_itself: Any
) -> None:
    resource: dict[str, Any] = {
        "id": "5O190127TN364715T",
        "amount": {"currency_code": "USD", "value": "10.00"},
        "supplementary_data": {"related_ids": {"order_id": "5O190127TN364715T"}},
    }
    for path, value in fields:
        _put(resource, path, value)
    event = {"id": "WH-1", "event_type": kind, "create_time": create_time, "resource": resource}
    if isinstance(resource_itself, list):  # the resource itself of the wrong type
        event["resource"] = resource_itself
    read = read_event(orjson.dumps(event))
    assert isinstance(read, InboundEvent)
    assert read.event_id == "WH-1" and read.type == kind
    if read.effect is not None:  # acted on only when what it needs was read
        assert read.problem is None


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_a_verified_paypal_body_that_is_no_event_is_recorded_as_unparsed(body: Any) -> None:
    raw = orjson.dumps(body)
    read = read_event(raw)
    if not (
        isinstance(body, dict) and isinstance(body.get("id"), str) and isinstance(body.get("event_type"), str)
    ):
        assert read.type == "unparsed" and read.problem
