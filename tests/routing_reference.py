"""A plain-Python reference evaluator of payedge's routing rules (SPEC 5, static part).

It reads the rules document as given (a dict, no compilation) and follows the
SPEC's wording: the first rule whose conditions all hold wins, else the
default; a missing field makes a condition false except ``ne``/``not_in``;
numeric ops compare ``amount``; ``between`` is inclusive; text compares
exactly. A split picks by the documented hash (docs/routing.md): the first 8
bytes of SHA-256(payment id), big-endian, mod 100, against cumulative weights
in document order; the picked member first, the others in document order.

Health is out of scope, except what a router with no recorded outcome does on a
``success_rate`` rule: every gateway is unscored (ties), so the list order,
with the deterministic hedging share sending a non-best gateway first.

Used by tests/test_routing_differential.py (as the oracle) and by
bench/test_bench_routing.py (as the plain-Python evaluator to beat).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_HEDGING_PERCENT = 5


@dataclass(frozen=True)
class RefDecision:
    gateways: list[str]
    rule: str
    approach: str
    hedged: bool = False


def hash_words(payment_id: str) -> tuple[int, int, int, int]:
    """SHA-256 of the payment id as four big-endian 64-bit words."""
    digest = hashlib.sha256(payment_id.encode()).digest()
    w = [int.from_bytes(digest[i : i + 8], "big") for i in range(0, 32, 8)]
    return w[0], w[1], w[2], w[3]


def field_value(
    field: str, fields: Mapping[str, int | str | None], metadata: Mapping[str, str | None] | None
) -> int | str | None:
    """The payment's value for a condition's field; None when missing."""
    if field.startswith("metadata."):
        return (metadata or {}).get(field[len("metadata.") :])
    return fields[field]


def holds(condition: Mapping[str, Any], actual: int | str | None) -> bool:
    op = condition["op"]
    value = condition["value"]
    if actual is None:
        return op in ("ne", "not_in")
    if op == "eq":
        return bool(actual == value)
    if op == "ne":
        return bool(actual != value)
    if op == "in":
        return bool(actual in value)
    if op == "not_in":
        return bool(actual not in value)
    assert isinstance(actual, int)
    if op == "lt":
        return bool(actual < value)
    if op == "le":
        return bool(actual <= value)
    if op == "gt":
        return bool(actual > value)
    if op == "ge":
        return bool(actual >= value)
    if op == "between":
        return bool(value[0] <= actual <= value[1])
    raise ValueError(f"unknown op {op!r}")


def hedging_basis_points(rules: Mapping[str, Any]) -> int:
    health = rules.get("health") or {}
    success_rate = health.get("success_rate") or {}
    percent = success_rate.get("hedging_percent")
    if percent is None:
        percent = DEFAULT_HEDGING_PERCENT
    return round(percent * 100)


def decide(
    rules: Mapping[str, Any],
    payment_id: str,
    amount: int,
    currency: str,
    *,
    country: str | None = None,
    payment_method_type: str | None = None,
    metadata: Mapping[str, str | None] | None = None,
) -> RefDecision:
    fields: dict[str, int | str | None] = {
        "amount": amount,
        "currency": currency,
        "country": country,
        "payment_method_type": payment_method_type,
    }
    for rule in rules.get("rules") or []:
        if all(holds(c, field_value(c["field"], fields, metadata)) for c in rule["when"]):
            then = rule["then"]
            if "gateways" in then:
                return RefDecision(list(then["gateways"]), rule["name"], "priority")
            if "split" in then:
                members = list(then["split"].items())
                point = hash_words(payment_id)[0] % 100
                upto = 0
                for i, (gateway, weight) in enumerate(members):
                    upto += weight
                    if point < upto:
                        others = [g for j, (g, _) in enumerate(members) if j != i]
                        return RefDecision([gateway, *others], rule["name"], "split")
                raise AssertionError("weights sum to 100")
            gateways = list(then["success_rate"])
            _, h1, h2, _ = hash_words(payment_id)
            if len(gateways) >= 2 and h1 % 10_000 < hedging_basis_points(rules):
                hedge = gateways.pop(1 + h2 % (len(gateways) - 1))
                return RefDecision([hedge, *gateways], rule["name"], "success_rate", hedged=True)
            return RefDecision(gateways, rule["name"], "success_rate")
    return RefDecision(list(rules["default"]["gateways"]), "default", "default")
