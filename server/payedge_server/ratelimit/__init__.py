"""Rate limits (SPEC 8, seed 003): GCRA per API key and per client address, off unless configured.

`RateLimiter.from_config` is None when `[rate_limits]` sets no rate, and the edge
middleware then does nothing at all. When on, each request the limits apply to (every
route but webhooks, `/health*` and `/metrics`) is checked against the address policy
(its TCP peer; signed in or not, so guessing keys is limited too) and, once
authenticated, the key policy (a dashboard session counts as the API key it signed in
with). A request over either limit is refused with 429 `rate_limited`, `Retry-After`
and the IETF `RateLimit-Policy` / `RateLimit` headers; every limited answer carries
the latter two.

Webhooks are left out of both limits: they carry no key, a provider delivers bursts
from a few addresses (and answers a 429 by delivering later, which delays payments),
and their signature check costs microseconds. `/health` and `/metrics` are for probes
and scrapers.

With `--redis-url` the budgets are shared by every instance (one Lua script per
request, redis_gcra.py); if Redis fails, each process enforces them alone until it is
back (a limit per process rather than none).
"""

from __future__ import annotations

import time
from typing import Any

from payedge_server.config import Config
from payedge_server.ratelimit.gcra import LocalTable, Policy, Report, admit_local
from payedge_server.ratelimit.redis_gcra import PREFIX, SCRIPT, redis_args, report_of

__all__ = ["Policy", "RateLimiter", "Report"]

EXEMPT_PREFIXES = ("/v1/webhooks/", "/health", "/metrics")


class RateLimiter:
    def __init__(self, per_key: Policy | None, per_address: Policy | None) -> None:
        self.by_key = LocalTable(per_key) if per_key else None
        self.by_address = LocalTable(per_address) if per_address else None
        # The tables a request is checked against, by which of address and key it has.
        self._both = tuple(t for t in (self.by_address, self.by_key) if t is not None)
        self._address_only = (self.by_address,) if self.by_address else ()
        self._key_only = (self.by_key,) if self.by_key else ()
        self.shared: Any = None  # shared_redis.SharedRedis once attached
        self._script: Any = None

    @classmethod
    def from_config(cls, config: Config) -> RateLimiter | None:
        limits = config.rate_limits
        key, address = limits.per_key, limits.per_address
        per_key = Policy.of("key", key.rate, key.period, key.burst) if key.rate else None
        per_address = (
            Policy.of("address", address.rate, address.period, address.burst) if address.rate else None
        )
        if per_key is None and per_address is None:
            return None
        return cls(per_key, per_address)

    def attach(self, shared: Any) -> None:
        """Share the budgets through Redis (a `shared_redis.SharedRedis`)."""
        self.shared = shared
        self._script = shared.client.register_script(SCRIPT)

    @staticmethod
    def applies(path: str) -> bool:
        return not path.startswith(EXEMPT_PREFIXES)

    async def admit(self, address: str | None, key_id: str | None) -> Report | None:
        """The verdict for one request from `address`, made with the key `key_id` (its hash) if any."""
        keys: tuple[str, ...]
        by_address = self.by_address if address else None
        by_key = self.by_key if key_id else None
        if by_address is not None and by_key is not None:
            tables, keys = self._both, (str(address), str(key_id))
        elif by_address is not None:
            tables, keys = self._address_only, (str(address),)
        elif by_key is not None:
            tables, keys = self._key_only, (str(key_id),)
        else:
            return None
        if self._script is not None:
            shared_report = await self._shared(tables, keys)
            if shared_report is not None:
                return shared_report
        return admit_local(tables, keys, time.monotonic_ns() // 1000)

    async def _shared(self, tables: tuple[LocalTable, ...], keys: tuple[str, ...]) -> Report | None:
        policies = tuple(t.policy for t in tables)
        redis_keys = [f"{PREFIX}{p.name[0]}:{k}" for p, k in zip(policies, keys, strict=True)]
        script = self._script
        reply = await self.shared.call(
            lambda r: script(keys=redis_keys, args=redis_args(policies), client=r), default=None
        )
        return report_of(reply, policies) if reply is not None else None
