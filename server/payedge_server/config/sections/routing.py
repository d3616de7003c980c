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
A `currency` condition's values must be written as payments carry them: upper-case
ISO 4217 codes payedge knows (the Router compares text exactly, and every payment's
currency is upper-cased when it is created, so "eur" would silently never match).
"""

from __future__ import annotations

import json
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
    known = known_gateways()
    unknown = [g for g in router.gateways if g not in known]
    if unknown:
        raise Invalid(
            f"names gateway {unknown[0]!r}, which payedge does not have (gateways: {', '.join(known)})"
        )
    _check_currencies(json.loads(text))
    return router


def _check_currencies(doc: dict[str, Any]) -> None:
    """Invalid naming the JSON path of a `currency` value no payment can carry ("eur", "EURO")."""
    from payedge_server.payments.validation import currency_as_carried

    for i, rule in enumerate(doc.get("rules", [])):
        for j, condition in enumerate(rule.get("when", [])):
            if condition.get("field") != "currency":
                continue
            value = condition.get("value")
            for k, code in enumerate(value if isinstance(value, list) else [value]):
                path = f"$.rules[{i}].when[{j}].value" + (f"[{k}]" if isinstance(value, list) else "")
                carried = currency_as_carried(code)
                if carried != code:
                    why = f"write {carried!r}" if carried else "not an ISO 4217 code payedge knows"
                    raise Invalid(
                        f"{path}: {code!r} never matches: payments carry upper-case ISO 4217 codes ({why})"
                    )


def routing_setting() -> str | None:
    """`[routing]`: one table, the Router's rules document (a root-level setting of Config)."""
    value: str | None = setting(
        Table(check=compile_rules, keep_order=True),
        None,
        help="routing rules (docs/routing.md): `rules` (first match wins), `default`, `health`; "
        "without them a payment goes to the gateway it names, or the sandbox",
    )
    return value
