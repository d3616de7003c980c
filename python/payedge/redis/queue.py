"""Redis twins of ``payedge.TerminalQueue`` for several server processes (SPEC 2.4).

Same methods and semantics as the in-process queue, with these differences
that come from sharing it through Redis:

* the clock is the Redis server's (``TIME`` inside each script), never the
  caller's: ``now`` is accepted for call compatibility but must be left out
  (passing one raises ``InvalidArgumentError(param="now")``); ``expires_at``
  is Redis time in UNIX seconds, to the microsecond;
* fencing tokens come from ``INCR`` on the server;
* every operation is one Lua script (atomic); ``position`` is one ``ZRANK``
  (O(log n)); keys are ``payedge:tq:{<name>}:*`` (one cluster slot);
* every process must construct the queue with the same terminals: a handle
  validates ``terminal_id`` and lists ``snapshot()["terminals"]`` from its own
  list (so construction needs no round trip and works for asyncio too).

As in the core, ``position``, ``cancel`` and ``snapshot`` take no clock and
do not expire leases; every other call first ends the expired leases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from payedge._core import Lease
from payedge.redis._ops import QUEUE_SCRIPTS, Call, QueueCalls, refuse_now

if TYPE_CHECKING:
    import redis
    import redis.asyncio

T = TypeVar("T")


class _QueueHandle:
    def __init__(self, name: str, terminals: Sequence[str], lock_ttl: float) -> None:
        self._calls = QueueCalls(name, terminals, lock_ttl)

    @property
    def terminals(self) -> tuple[str, ...]:
        return self._calls.terminals

    @property
    def lock_ttl(self) -> float:
        return self._calls.lock_ttl

    def __repr__(self) -> str:
        return f"{type(self).__name__}(terminals={self.terminals!r}, lock_ttl={self.lock_ttl!r})"


class RedisTerminalQueue(_QueueHandle):
    """Terminal queue shared through Redis, for a sync ``redis.Redis`` client."""

    def __init__(
        self, client: redis.Redis, name: str, terminals: Sequence[str], lock_ttl: float = 180.0
    ) -> None:
        super().__init__(name, terminals, lock_ttl)
        self._client = client
        self._scripts = {name: client.register_script(src) for name, src in QUEUE_SCRIPTS.items()}

    def _run(self, call: Call[T]) -> T:
        return call.decode(self._scripts[call.script](keys=call.keys, args=call.args))

    def enqueue(self, payment_id: str, user_id: str, now: None = None) -> int:
        refuse_now(now)
        return self._run(self._calls.enqueue(payment_id, user_id))

    def position(self, payment_id: str) -> int | None:
        return self._calls.decode_rank(self._client.zrank(self._calls.queue_key, payment_id))

    def allocate(self, terminal_id: str, now: None = None) -> Lease | None:
        refuse_now(now)
        return self._run(self._calls.allocate(terminal_id))

    def complete(self, token: int, now: None = None) -> None:
        refuse_now(now)
        self._run(self._calls.complete(token))

    def extend(self, token: int, now: None = None) -> float:
        refuse_now(now)
        return self._run(self._calls.extend(token))

    def cancel(self, payment_id: str) -> bool:
        return self._run(self._calls.cancel(payment_id))

    def expire(self, now: None = None) -> list[Lease]:
        refuse_now(now)
        return self._run(self._calls.expire())

    def snapshot(self) -> dict[str, Any]:
        return self._run(self._calls.snapshot())


class AsyncRedisTerminalQueue(_QueueHandle):
    """Terminal queue shared through Redis, for a ``redis.asyncio.Redis`` client."""

    def __init__(
        self, client: redis.asyncio.Redis, name: str, terminals: Sequence[str], lock_ttl: float = 180.0
    ) -> None:
        super().__init__(name, terminals, lock_ttl)
        self._client = client
        self._scripts = {name: client.register_script(src) for name, src in QUEUE_SCRIPTS.items()}

    async def _run(self, call: Call[T]) -> T:
        return call.decode(await self._scripts[call.script](keys=call.keys, args=call.args))

    async def enqueue(self, payment_id: str, user_id: str, now: None = None) -> int:
        refuse_now(now)
        return await self._run(self._calls.enqueue(payment_id, user_id))

    async def position(self, payment_id: str) -> int | None:
        return self._calls.decode_rank(await self._client.zrank(self._calls.queue_key, payment_id))

    async def allocate(self, terminal_id: str, now: None = None) -> Lease | None:
        refuse_now(now)
        return await self._run(self._calls.allocate(terminal_id))

    async def complete(self, token: int, now: None = None) -> None:
        refuse_now(now)
        await self._run(self._calls.complete(token))

    async def extend(self, token: int, now: None = None) -> float:
        refuse_now(now)
        return await self._run(self._calls.extend(token))

    async def cancel(self, payment_id: str) -> bool:
        return await self._run(self._calls.cancel(payment_id))

    async def expire(self, now: None = None) -> list[Lease]:
        refuse_now(now)
        return await self._run(self._calls.expire())

    async def snapshot(self) -> dict[str, Any]:
        return await self._run(self._calls.snapshot())
