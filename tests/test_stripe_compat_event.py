"""payedge.stripe_compat's events and errors behave like stripe-python's (SPEC 10).

Each test reads the same event through `payedge.stripe_compat.construct_event`
and `stripe.Webhook.construct_event` and checks the paths apps use; the last
ones run without stripe-python (a subprocess where it cannot be imported).
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from typing import Any, cast

import orjson
import payedge
import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge import stripe_compat
from payedge._core import _json_has_wide_integer

from tests.support.stripe_events import ONE_KB_EVENT, SECRET, payment_intent_event


def both(document: Any) -> tuple[stripe_compat.Event, Any]:
    """The event through payedge, and through stripe-python (typed Any: the tests read
    both the same untyped way)."""
    body = json.dumps(document).encode()
    header = payedge.sign_stripe(body, SECRET, int(time.time()))
    return (
        stripe_compat.construct_event(body, header, SECRET),
        stripe.Webhook.construct_event(body, header, SECRET),
    )


def plain(value: Any) -> Any:
    if isinstance(value, stripe.StripeObject):
        return {key: plain(value[key]) for key in value.to_dict(recursive=False)}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def test_the_paths_apps_use() -> None:
    ours, theirs = both(payment_intent_event(metadata={"order_id": "ord_1"}))
    assert ours.id == theirs.id and ours.type == theirs.type == "payment_intent.succeeded"
    assert ours["data"]["object"]["amount"] == theirs["data"]["object"]["amount"] == 2000
    assert ours.data.object.amount == 2000
    assert ours.data.object.metadata.order_id == "ord_1"
    assert ours.data.object.metadata["order_id"] == "ord_1"
    assert "metadata" in ours.data.object and "nope" not in ours.data.object
    assert ours.data.object.payment_method_types == ["card"]
    assert ours.get("livemode") is False and ours.get("nope", 7) == 7
    assert ours.data.object.to_dict() == theirs.data.object.to_dict()
    assert ours.to_dict() == theirs.to_dict()
    # built once, then the same object (as stripe-python's)
    assert ours.data is ours.data and ours.data.object.metadata is ours.data.object.metadata


def test_missing_fields_and_private_names() -> None:
    ours, theirs = both({"id": "evt_1", "object": "event", "_secret": 1, "items": [1]})
    for obj in (ours, theirs):
        with pytest.raises(AttributeError):
            _ = obj.nope
        with pytest.raises(KeyError):
            _ = obj["nope"]
        with pytest.raises(AttributeError):
            _ = obj._secret
        assert obj["_secret"] == 1
        assert obj.items == [1]  # a field, not dict.items
        with pytest.raises(AttributeError, match="dict method"):
            _ = obj.keys
        with pytest.raises(TypeError, match="not iterable"):
            iter(obj)


def test_list_objects_iterate_over_their_data() -> None:
    event = payment_intent_event()
    event["data"]["object"]["charges"] = {
        "object": "list",
        "data": [
            {"id": "ch_1", "object": "charge", "amount": 5},
            {"id": "ch_2", "object": "charge", "amount": 7},
        ],
        "has_more": False,
    }
    ours, theirs = both(event)
    for obj in (ours, theirs):
        charges = obj.data.object.charges
        assert [c.id for c in charges] == ["ch_1", "ch_2"]
        assert len(charges) == 2 and [c.amount for c in reversed(charges)] == [7, 5]
        assert not charges.is_empty
        assert charges.data[0].amount == 5
        with pytest.raises(KeyError, match="ListObject"):
            _ = charges[0]


def test_stripe_coercions_are_mirrored() -> None:
    """Decimal for decimal_string fields, dicts of objects, remapped names."""
    price = {"object": "price", "unit_amount_decimal": "12.5", "tiers": [{"flat_amount_decimal": "0.25"}]}
    rate = {
        "object": "shipping_rate",
        "fixed_amount": {"currency_options": {"usd": {"amount": 5}, "gbp": None}},
    }
    registration = {"object": "tax.registration", "country_options": {"in": {"type": "standard"}}}
    for obj in (price, rate, registration):
        ours, theirs = both({"id": "evt_1", "object": "event", "data": {"object": obj}})
        # stripe-python's to_dict leaves the objects inside a dict field as objects
        assert ours.to_dict() == plain(theirs)
    ours, theirs = both({"id": "evt_1", "object": "event", "data": {"object": price}})
    assert ours.data.object.unit_amount_decimal == Decimal("12.5") == theirs.data.object.unit_amount_decimal
    assert ours.data.object.tiers[0].flat_amount_decimal == Decimal("0.25")
    assert ours.to_dict(for_json=True)["data"]["object"]["unit_amount_decimal"] == "12.5"
    ours, theirs = both({"id": "evt_1", "object": "event", "data": {"object": rate}})
    assert ours.data.object.fixed_amount.currency_options["usd"].amount == 5
    assert theirs.data.object.fixed_amount.currency_options["usd"].amount == 5
    ours, theirs = both({"id": "evt_1", "object": "event", "data": {"object": registration}})
    assert ours.data.object.country_options.in_.type == theirs.data.object.country_options.in_.type


def test_items_can_be_set_and_deleted() -> None:
    ours, theirs = both(payment_intent_event())
    for obj in (ours, theirs):
        obj["note"] = "x"
        assert obj.note == "x" and "note" in obj
        del obj["note"]
        assert "note" not in obj
        with pytest.raises(ValueError, match="empty string"):
            obj["note"] = ""


def test_to_dict_str_repr_equality_and_copies() -> None:
    ours, theirs = both(payment_intent_event())
    shallow = ours.to_dict(recursive=False)
    assert isinstance(shallow["data"], stripe_compat.StripeObject)
    assert json.loads(str(ours)) == json.loads(str(theirs))
    assert repr(ours.data.object).startswith("<StripeObject payment_intent id=pi_")
    again, _ = both(payment_intent_event())
    assert ours == again and ours.data.object == again.data.object
    again["extra"] = 1
    assert ours != again
    with pytest.raises(TypeError):
        hash(ours)
    for copied in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
        assert copied == ours and copied.data.object.amount == 2000


def test_to_stripe_builds_the_real_event() -> None:
    ours, theirs = both(payment_intent_event())
    real = ours.to_stripe()
    real_object: Any = real.data.object
    assert type(real_object) is type(theirs.data.object) is stripe.PaymentIntent
    assert type(real) is stripe.Event
    assert real.to_dict() == theirs.to_dict()
    header = payedge.sign_stripe(ONE_KB_EVENT, SECRET, int(time.time()))
    keyed = stripe_compat.construct_event(ONE_KB_EVENT, header, SECRET, api_key="sk_test_123")
    assert keyed.to_stripe().api_key == "sk_test_123"


def test_errors_are_stripes_own() -> None:
    assert cast(object, stripe_compat.SignatureVerificationError) is stripe.SignatureVerificationError
    assert stripe_compat.STRIPE_INSTALLED
    header = payedge.sign_stripe(ONE_KB_EVENT, "whsec_other", int(time.time()))
    with pytest.raises(stripe.SignatureVerificationError) as caught:
        stripe_compat.construct_event(ONE_KB_EVENT, header, SECRET)
    assert caught.value.sig_header == header
    assert caught.value.http_body == ONE_KB_EVENT.decode()
    assert not isinstance(caught.value, ValueError)
    bad = b"{not json"
    with pytest.raises(json.JSONDecodeError):
        stripe_compat.construct_event(bad, payedge.sign_stripe(bad, SECRET, int(time.time())), SECRET)
    assert stripe_compat.Webhook.construct_event is stripe_compat.construct_event
    assert stripe_compat.WebhookSignature.verify_header(ONE_KB_EVENT, header, "whsec_other") is True


_WITHOUT_STRIPE = textwrap.dedent(
    """
    import json, sys, time
    sys.modules["stripe"] = None  # `import stripe` raises ImportError
    import payedge
    from payedge import stripe_compat as sc

    assert not sc.STRIPE_INSTALLED
    body = json.dumps({"id": "evt_1", "object": "event", "type": "price.updated",
                       "data": {"object": {"object": "price", "unit_amount_decimal": "1.5"}}}).encode()
    secret = "whsec_test"
    event = sc.construct_event(body, payedge.sign_stripe(body, secret, int(time.time())), secret)
    assert event.type == "price.updated"
    assert event.data.object.unit_amount_decimal == "1.5"  # no stripe-python: the JSON value
    try:
        sc.construct_event(body, "t=1,v1=00", secret)
    except sc.SignatureVerificationError as exc:
        assert type(exc).__module__ == "payedge.stripe_compat._errors"
        assert isinstance(exc, sc.StripeError) and not isinstance(exc, ValueError)
        assert exc.sig_header == "t=1,v1=00" and exc.http_body == body.decode()
        mismatch = "No signatures found matching the expected signature for payload"
        assert exc.user_message == str(exc) == mismatch
        assert exc.args == (exc.user_message, "t=1,v1=00", body.decode())
        assert exc.http_status is None and exc.code is None and exc.headers == {}
    else:
        raise AssertionError("accepted a bad signature")
    try:
        event.to_stripe()
    except ImportError:
        pass
    else:
        raise AssertionError("to_stripe without stripe-python")
    print("ok")
    """
)


def test_works_without_stripe_python() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_STRIPE], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


# ------------------------------------------------------------------ the wide-integer check


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**70), max_value=2**70), st.booleans())
def test_wide_integer_check_matches_orjson(n: int, in_string: bool) -> None:
    """True exactly when orjson would turn the integer into a float."""
    document = json.dumps({"s": str(n)} if in_string else {"n": [n]}).encode()
    widened = not in_string and type(orjson.loads(document)["n"][0]) is float
    assert _json_has_wide_integer(document) == widened


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_wide_integer_check_on_any_document(value: Any) -> None:
    document = json.dumps(value).encode()
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:  # NaN and infinities
        return
    assert _json_has_wide_integer(document) == _widened(json.loads(document), parsed)


def _widened(exact: Any, parsed: Any) -> bool:
    """Whether an int of `json`'s reading is a float in orjson's."""
    if isinstance(exact, list):
        return any(_widened(a, b) for a, b in zip(exact, parsed, strict=True))
    if isinstance(exact, dict):
        return any(_widened(exact[k], parsed[k]) for k in exact)
    return type(exact) is int and type(parsed) is float
