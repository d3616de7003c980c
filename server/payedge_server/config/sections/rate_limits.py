"""[rate_limits]: GCRA limits per API key and per client address (SPEC 8, seed 003). Off unless set.

[rate_limits.per_key]       # every API key (a dashboard session counts as its key)
rate = 100                  # requests per period, sustained
period = 1                  # seconds
burst = 50                  # requests at once from idle (default: rate)

[rate_limits.per_address]   # every client address (its TCP peer), signed in or not
rate = 20
period = 1
burst = 40

With `--redis-url` every instance shares one budget (ratelimit/redis_gcra.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from payedge_server.config.kinds import Int
from payedge_server.config.schema import Check, setting

if TYPE_CHECKING:
    from payedge_server.config.model import Config

MAX_RATE = 1_000_000
MAX_PERIOD = 86_400


def _rate(flag: str, env: str, what: str) -> int | None:
    value: int | None = setting(
        Int(1, MAX_RATE),
        None,
        help=f"requests per period allowed {what}, sustained; unset: no limit",
        flag=flag,
        env=env,
    )
    return value


def _period(flag: str, env: str) -> int:
    value: int = setting(Int(1, MAX_PERIOD), 1, help="the period of `rate`, in seconds", flag=flag, env=env)
    return value


def _burst(flag: str, env: str) -> int | None:
    value: int | None = setting(
        Int(1, MAX_RATE),
        None,
        help="requests allowed at once from idle; default: rate",
        flag=flag,
        env=env,
    )
    return value


@dataclass(frozen=True)
class PerKeyLimit:
    rate: int | None = _rate("--rate-limit-key-rate", "PAYEDGE_RATE_LIMIT_KEY_RATE", "per API key")
    period: int = _period("--rate-limit-key-period", "PAYEDGE_RATE_LIMIT_KEY_PERIOD")
    burst: int | None = _burst("--rate-limit-key-burst", "PAYEDGE_RATE_LIMIT_KEY_BURST")


@dataclass(frozen=True)
class PerAddressLimit:
    rate: int | None = _rate(
        "--rate-limit-address-rate", "PAYEDGE_RATE_LIMIT_ADDRESS_RATE", "per client address"
    )
    period: int = _period("--rate-limit-address-period", "PAYEDGE_RATE_LIMIT_ADDRESS_PERIOD")
    burst: int | None = _burst("--rate-limit-address-burst", "PAYEDGE_RATE_LIMIT_ADDRESS_BURST")


def _burst_needs_rate(config: Config) -> str | None:
    for name in ("per_key", "per_address"):
        limit = getattr(config.rate_limits, name)
        if limit.burst is not None and limit.rate is None:
            return f"rate_limits.{name}.burst needs rate_limits.{name}.rate"
    return None


@dataclass(frozen=True)
class RateLimitsConfig:
    per_key: PerKeyLimit = field(default_factory=PerKeyLimit)
    per_address: PerAddressLimit = field(default_factory=PerAddressLimit)

    checks: ClassVar[tuple[Check, ...]] = (Check("rate_limits", _burst_needs_rate),)
