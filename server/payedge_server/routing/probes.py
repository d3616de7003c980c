"""The one half-open probe per gateway, across instances (SPEC 5: "exactly one probe through").

`Router.decide` hands a half-open gateway's probe to one payment of this instance and
skips the gateway for the others (`probe_in_flight`) until the probe's outcome is
recorded. Several instances sharing health each have their own router, so each would
send a probe: with Redis, the instance whose decision carries a probe first takes a
lease, `SET payedge:routing:probe:<gateway> <instance> NX PX <probe timeout>`. Only
the holder sends it. An instance that finds the lease taken leaves the gateway out of
that payment and keeps its local probe marked as taken, so its next payments skip
the gateway without asking Redis, until the holder's outcome reaches it through the
health sync (a success closes the circuit everywhere: the bucket's epoch moved; a
failure refills the bucket everywhere) or the probe timeout passes. Once the probe's
outcome is recorded the holder keeps the lease two sync intervals more (`linger`),
so that every peer has merged that outcome before another probe can be claimed: one
probe per half-open period, not one at a time. A probe a payment did not use (an
earlier gateway answered) is released at once. Only the holder's own lease is touched
(compare-and-set in a script); a holder that dies lets it expire.

With Redis unreachable, `claim` says yes: each instance then probes on its own, which
is what "routing from its own observations" means (SPEC 7: Redis accelerates, never
decides alone).
"""

from __future__ import annotations

from typing import Final, Protocol

import redis.asyncio as aioredis

from payedge_server.shared_redis import SharedRedis

PREFIX: Final = "payedge:routing:probe:"
# Only our own lease (it may have expired and been taken since): shorten it to ARGV[2] ms,
# or delete it when that is 0.
_RELEASE: Final = (
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2])"
)


class Probes(Protocol):
    shared: bool  # True when another instance may hold a probe (the lease is in Redis)

    async def claim(self, gateway: str, ttl: float) -> bool: ...

    def release(self, gateway: str, *, used: bool) -> None: ...


class LocalProbes:
    """One instance: the router's own probe is the only one."""

    shared = False

    async def claim(self, gateway: str, ttl: float) -> bool:
        return True

    def release(self, gateway: str, *, used: bool) -> None:
        return None


class RedisProbes:
    shared = True

    def __init__(self, redis: SharedRedis, instance: str, linger: float) -> None:
        self.redis = redis
        self.instance = instance
        self.linger = linger  # seconds a used probe's lease outlives its outcome

    async def claim(self, gateway: str, ttl: float) -> bool:
        key, ms = PREFIX + gateway, max(1, int(ttl * 1000))

        async def take(r: aioredis.Redis) -> bool:
            return bool(await r.set(key, self.instance, nx=True, px=ms))

        return await self.redis.call(take, default=True)

    def release(self, gateway: str, *, used: bool) -> None:
        key, keep = PREFIX + gateway, str(max(1, int(self.linger * 1000))) if used else "0"

        async def drop(r: aioredis.Redis) -> None:
            await r.eval(_RELEASE, 1, key, self.instance, keep)

        self.redis.spawn(drop)
