"""Redis twins of ``payedge.LeaseLocks`` (SPEC 2.4).

``acquire`` returns a fencing token from ``INCR`` (strictly increasing across
the prefix's keys) or None while the key is held; a lock has expired once the
Redis clock reaches its expiry (``TIME`` in the script, to the microsecond;
Redis also drops the key a millisecond later). ``release``/``extend`` return
False for a token that does not hold a live lock. Keys are
``{<prefix>}:lock:<key>`` plus ``{<prefix>}:token`` (one cluster slot). As for
the queue twins, ``now`` must be left out: the clock is Redis's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from payedge.redis._ops import LOCK_SCRIPTS, Call, LockCalls, refuse_now

if TYPE_CHECKING:
    import redis
    import redis.asyncio

T = TypeVar("T")


class RedisLeaseLocks:
    """Lease locks shared through Redis, for a sync ``redis.Redis`` client."""

    def __init__(self, client: redis.Redis, prefix: str, ttl: float = 180.0) -> None:
        self._calls = LockCalls(prefix, ttl)
        self._scripts = {name: client.register_script(src) for name, src in LOCK_SCRIPTS.items()}

    @property
    def ttl(self) -> float:
        return self._calls.ttl

    def _run(self, call: Call[T]) -> T:
        return call.decode(self._scripts[call.script](keys=call.keys, args=call.args))

    def acquire(self, key: str, now: None = None) -> int | None:
        refuse_now(now)
        return self._run(self._calls.acquire(key))

    def release(self, key: str, token: int, now: None = None) -> bool:
        refuse_now(now)
        return self._run(self._calls.release(key, token))

    def extend(self, key: str, token: int, now: None = None) -> bool:
        refuse_now(now)
        return self._run(self._calls.extend(key, token))


class AsyncRedisLeaseLocks:
    """Lease locks shared through Redis, for a ``redis.asyncio.Redis`` client."""

    def __init__(self, client: redis.asyncio.Redis, prefix: str, ttl: float = 180.0) -> None:
        self._calls = LockCalls(prefix, ttl)
        self._scripts = {name: client.register_script(src) for name, src in LOCK_SCRIPTS.items()}

    @property
    def ttl(self) -> float:
        return self._calls.ttl

    async def _run(self, call: Call[T]) -> T:
        return call.decode(await self._scripts[call.script](keys=call.keys, args=call.args))

    async def acquire(self, key: str, now: None = None) -> int | None:
        refuse_now(now)
        return await self._run(self._calls.acquire(key))

    async def release(self, key: str, token: int, now: None = None) -> bool:
        refuse_now(now)
        return await self._run(self._calls.release(key, token))

    async def extend(self, key: str, token: int, now: None = None) -> bool:
        refuse_now(now)
        return await self._run(self._calls.extend(key, token))
