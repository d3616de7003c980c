"""Differential test: payedge.Router.decide against the plain-Python reference
evaluator (tests/routing_reference.py) on random rule sets and random payments.

Rule sets mix every field and op (values drawn from small alphabets so that
equalities and boundaries are hit often), the three `then` forms (priority,
split with random weights summing to 100, success_rate), optional hedging
shares, and are passed to the Router as a dict or as JSON text. Payments leave
optional fields and metadata keys out, or set them to None, as often as not.
A fresh router has no recorded outcome: no circuit open, every gateway
unscored, so the decision is the static one the reference computes.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import payedge
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests import routing_reference as reference

TEXT = st.sampled_from(["EUR", "XOF", "eur", "CI", "card", "gold", ""])
AMOUNT = st.one_of(st.sampled_from([0, 1, 99, 100, 101, 1000, 10**12]), st.integers(0, 2000))
GATEWAYS = ["stripe", "paypal", "cinetpay", "orange_money", "mtn_momo", "sandbox"]
TEXT_FIELDS = ["currency", "country", "payment_method_type", "metadata.tier", "metadata.channel"]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(["amount", *TEXT_FIELDS]))
    if field == "amount":
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "between"]))
        if op in ("in", "not_in"):
            value: Any = draw(st.lists(AMOUNT, min_size=1, max_size=4))
        elif op == "between":
            lo = draw(AMOUNT)
            value = [lo, lo + draw(st.integers(0, 1500))]
        else:
            value = draw(AMOUNT)
    else:
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
        value = draw(st.lists(TEXT, min_size=1, max_size=3)) if op in ("in", "not_in") else draw(TEXT)
    return {"field": field, "op": op, "value": value}


@st.composite
def thens(draw: st.DrawFn) -> dict[str, Any]:
    members = draw(st.lists(st.sampled_from(GATEWAYS), min_size=1, max_size=4, unique=True))
    kind = draw(st.sampled_from(["gateways", "split", "success_rate"]))
    if kind != "split":
        return {kind: members}
    cuts = sorted(draw(st.sets(st.integers(1, 99), max_size=len(members) - 1)))
    bounds = [0, *cuts, 100]
    weights = [b - a for a, b in itertools.pairwise(bounds)]
    return {"split": dict(zip(members, weights, strict=False))}


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 8))
    rules = [
        {"name": f"rule-{i}", "when": draw(st.lists(conditions(), max_size=3)), "then": draw(thens())}
        for i in range(n)
    ]
    default = draw(st.lists(st.sampled_from(GATEWAYS), min_size=1, max_size=3, unique=True))
    doc: dict[str, Any] = {"rules": rules, "default": {"gateways": default}}
    hedging = draw(st.sampled_from([None, 0, 5, 50, 12.5]))
    if hedging is not None:
        doc["health"] = {"success_rate": {"hedging_percent": hedging}}
    return doc


@st.composite
def payments(draw: st.DrawFn) -> dict[str, Any]:
    optional = st.one_of(st.none(), TEXT)
    kwargs: dict[str, Any] = {
        "payment_id": draw(st.text(min_size=1, max_size=30)),
        "amount": draw(AMOUNT),
        "currency": draw(TEXT),
        "country": draw(optional),
        "payment_method_type": draw(optional),
    }
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(["tier", "channel", "unused"]), unique=True))
        kwargs["metadata"] = {k: draw(optional) for k in keys}
    return kwargs


@settings(max_examples=300, deadline=None)
@given(doc=rule_sets(), batch=st.lists(payments(), min_size=1, max_size=20), as_text=st.booleans())
def test_decide_equals_the_reference(doc: dict[str, Any], batch: list[dict[str, Any]], as_text: bool) -> None:
    router = payedge.Router(json.dumps(doc) if as_text else doc)
    for kwargs in batch:
        got = router.decide(**kwargs)
        payment_id = kwargs["payment_id"]
        amount = kwargs["amount"]
        currency = kwargs["currency"]
        rest = {k: v for k, v in kwargs.items() if k not in ("payment_id", "amount", "currency")}
        want = reference.decide(doc, payment_id, amount, currency, **rest)
        assert (got.gateways, got.rule, got.approach, got.hedged) == (
            want.gateways,
            want.rule,
            want.approach,
            want.hedged,
        ), kwargs
        assert got.skipped == {} and got.probe is None
        event(f"approach: {got.approach}{' (hedged)' if got.hedged else ''}")


@settings(max_examples=100, deadline=None)
@given(doc=rule_sets(), batch=st.lists(payments(), min_size=1, max_size=10))
def test_two_routers_from_the_same_rules_agree(doc: dict[str, Any], batch: list[dict[str, Any]]) -> None:
    one, two = payedge.Router(doc), payedge.Router(json.dumps(doc))
    for kwargs in batch:
        a, b = one.decide(**kwargs), two.decide(**kwargs)
        assert (a.gateways, a.rule, a.approach) == (b.gateways, b.rule, b.approach)
