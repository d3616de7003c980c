"""Settings every hosted-payment gateway section shares (PayPal, CinetPay, MTN MoMo, Orange Money).

Each gateway's section calls these with its flag prefix, so that the flags and
variables follow the names `payedge fakes` prints (`--paypal-api-base`,
`PAYEDGE_PAYPAL_API_BASE`, ...): `eval "$(payedge fakes ...)"` plugs into `payedge serve`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from payedge_server.config.kinds import Seconds, Url
from payedge_server.config.schema import Check, setting


def _names(prefix: str, name: str) -> tuple[str, str]:
    """`mtn_momo`, `api_base` -> `--mtn-momo-api-base`, `PAYEDGE_MTN_MOMO_API_BASE`."""
    return f"--{prefix}-{name}".replace("_", "-"), f"PAYEDGE_{prefix.upper()}_{name.upper()}"


def api_base(prefix: str, default: str, stands_for: str) -> Any:
    return named(
        prefix,
        "api_base",
        Url(("http", "https")),
        default,
        f"the {stands_for} API base (`payedge fakes` prints a local one)",
    )


def named(prefix: str, name: str, kind: Any, default: object, help: str, *, secret: bool = False) -> Any:
    """A setting whose flag and variable are `--<prefix>-<name>` and `PAYEDGE_<PREFIX>_<NAME>`."""
    flag, env = _names(prefix, name)
    return setting(kind, default, help=help, secret=secret, flag=flag, env=env)


def return_url(prefix: str) -> Any:
    return named(
        prefix,
        "return_url",
        Url(("http", "https")),
        None,
        "where the provider sends the payer back ({payment_id} is replaced); "
        "default <server.self_url>/checkout/payments/{payment_id}",
    )


def timeout(prefix: str) -> Any:
    return named(prefix, "timeout", Seconds(0.1, 300), 20.0, "seconds a call to the provider may take")


def poll_interval(prefix: str) -> Any:
    return named(
        prefix,
        "poll_interval",
        Seconds(0.05, 3600),
        5.0,
        "seconds before a processing payment's first status read (doubling after each)",
    )


def poll_max_interval(prefix: str) -> Any:
    return named(
        prefix, "poll_max_interval", Seconds(0.05, 86400), 300.0, "longest wait between status reads"
    )


def poll_for(prefix: str) -> Any:
    return named(
        prefix,
        "poll_for",
        Seconds(1, 30 * 86400),
        86400.0,
        "seconds a payment is polled while processing (then left to callbacks)",
    )


def all_or_none(section: str, names: Sequence[str], flags: Sequence[str]) -> Check:
    """A gateway is enabled by its credentials: all of them, or none."""

    def test(config: Any) -> str | None:
        values = [getattr(getattr(config.gateways, section), n) for n in names]
        if any(values) and not all(values):
            # The file's keys and the flags (the variables are the flags' PAYEDGE_ names): the value
            # given may come from any of them.
            missing = [f"{n} ({f})" for n, f, v in zip(names, flags, values, strict=True) if not v]
            return f"the {section} gateway needs all of {', '.join(names)}; missing: {', '.join(missing)}"
        return None

    return Check(f"gateways.{section}", test)


def one_of(section: str, name: str, flag: str, choices: Callable[[], Sequence[str]]) -> Check:
    def test(config: Any) -> str | None:
        value = getattr(getattr(config.gateways, section), name)
        known = choices()
        if value not in known:
            return f"{flag} {value!r} is not one payedge knows: {', '.join(known)}"
        return None

    return Check(f"gateways.{section}.{name} ({flag})", test)
