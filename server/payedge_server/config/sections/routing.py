"""[routing]: the rules that pick each payment's gateways (SPEC 5, docs/routing.md).

The `[routing]` table IS the rules document of `payedge.Router`, written in TOML:

    [routing]
    default = { gateways = ["stripe", "paypal"] }

    [[routing.rules]]
    name = "west-africa-mobile-money"
    when = [{ field = "payment_method_type", op = "eq", value = "mobile_money" }]
    then = { gateways = ["mtn_momo", "cinetpay"] }

It is compiled at start (a bad rule stops the start with its JSON path), once; the
members keep the file's order (a split's cumulative ranges follow it). Without it, a
payment goes to the gateway it names, or the sandbox, as before routing existed.
The gateways it names must be gateways payedge has (a typo is refused); one that is
not configured on this instance is skipped at decision time (`not_configured`).
A `currency` or `payment_method_type` condition's values must be ones payments carry:
upper-case ISO 4217 codes payedge knows (every payment's currency is upper-cased when
it is created), and the types of payments.methods. The Router compares text exactly,
so "eur" or "Card" would otherwise silently never match.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from payedge_server.config.kinds import Invalid, Table
from payedge_server.config.schema import setting

if TYPE_CHECKING:
    import payedge


def known_gateways() -> tuple[str, ...]:
    from payedge_server.gateways.registry import SCALES

    return tuple(SCALES)


def compile_rules(text: str) -> payedge.Router:
    """The compiled router, or Invalid naming the JSON path of the bad field / the unknown gateway."""
    import payedge

    try:
        router = payedge.Router(text)
    except payedge.RoutingError as exc:
        message = str(exc)  # "$.rules[1].when[0].op: unknown op ..." (the path leads)
        if exc.param and exc.param not in message:
            message = f"{exc.param}: {message}"
        raise Invalid(message) from None
    doc = json.loads(text)
    known = known_gateways()
    for path, name in _gateway_names(doc):
        if name not in known:
            raise Invalid(
                f"{path}: names gateway {name!r}, which payedge does not have (gateways: {', '.join(known)})"
            )
    _check_values(doc)
    return router


def _gateway_names(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON path, gateway name) of every gateway a compiled document names, in document order."""
    ends = [(f"$.rules[{i}].then", rule.get("then")) for i, rule in enumerate(doc.get("rules", []))]
    for path, then in [*ends, ("$.default", doc.get("default"))]:
        if not isinstance(then, dict):
            continue
        for form, members in then.items():
            if isinstance(members, list):  # gateways, success_rate: a list of names
                yield from ((f"{path}.{form}[{k}]", str(name)) for k, name in enumerate(members))
            elif isinstance(members, dict):  # split: name -> share
                yield from ((f"{path}.{form}.{name}", str(name)) for name in members)


def _check_values(doc: dict[str, Any]) -> None:
    """Invalid naming the JSON path of a condition value no payment can carry.

    payedge knows what its payments carry for two fields: `currency` (an upper-case
    ISO 4217 code it knows: "eur" or "EURO" never match) and `payment_method_type`
    (one of payments.methods.METHOD_TYPES: "Card" never matches).
    """
    for i, rule in enumerate(doc.get("rules", [])):
        for j, condition in enumerate(rule.get("when", [])):
            field = condition.get("field")
            if field not in ("currency", "payment_method_type"):
                continue
            value = condition.get("value")
            for k, text in enumerate(value if isinstance(value, list) else [value]):
                problem = _never_carried(field, text)
                if problem:
                    path = f"$.rules[{i}].when[{j}].value" + (f"[{k}]" if isinstance(value, list) else "")
                    raise Invalid(f"{path}: {text!r} never matches: {problem}")


def _never_carried(field: str, text: Any) -> str | None:
    """Why no payment carries `text` in `field`, or None when one can."""
    from payedge_server.payments.methods import METHOD_TYPES
    from payedge_server.payments.validation import currency_as_carried

    if field == "payment_method_type":
        return None if text in METHOD_TYPES else f"payment method types are {', '.join(sorted(METHOD_TYPES))}"
    carried = currency_as_carried(text)
    if carried == text:
        return None
    why = f"write {carried!r}" if carried else "not an ISO 4217 code payedge knows"
    return f"payments carry upper-case ISO 4217 codes ({why})"


def routing_setting() -> str | None:
    """`[routing]`: one table, the Router's rules document (a root-level setting of Config)."""
    value: str | None = setting(
        Table(check=compile_rules, keep_order=True),
        None,
        help="routing rules (docs/routing.md): `rules` (first match wins), `default`, `health`; "
        "without them a payment goes to the gateway it names, or the sandbox",
    )
    return value
