"""Redis twins of the terminal queue and lease locks, for several server
processes (SPEC 2.4): atomic Lua scripts, fencing tokens from ``INCR``, the
Redis server's clock. Needs the ``redis`` package (``payedge[redis]``).

* :class:`RedisTerminalQueue`, :class:`RedisLeaseLocks` for ``redis.Redis``;
* :class:`AsyncRedisTerminalQueue`, :class:`AsyncRedisLeaseLocks` for
  ``redis.asyncio.Redis`` (same Lua sources).
"""

from __future__ import annotations

from payedge.redis.locks import AsyncRedisLeaseLocks, RedisLeaseLocks
from payedge.redis.queue import AsyncRedisTerminalQueue, RedisTerminalQueue

__all__ = ["AsyncRedisLeaseLocks", "AsyncRedisTerminalQueue", "RedisLeaseLocks", "RedisTerminalQueue"]
