"""One MQTT relay subscriber per site, whatever the number of processes and instances (SPEC 4, 7).

The relay holds the site's persistent MQTT session (one client id): two running at
once would take the session from each other. Every process campaigns; the one
that wins runs the relay until it loses the lock (or dies), then another takes over.

- `RedisLeader` (`--redis-url`): `SET key token NX PX ttl`, renewed every
  `renew` seconds by a compare-and-expire script. An instance killed stops
  renewing: the key expires and another instance is relay within `ttl + renew`.
  While Redis cannot be reached the leader keeps its relay (nobody else can win
  meanwhile; a Redis that came back empty lets another win, and the old leader
  steps down at its next renewal: the broker hands the session over, and msg_id
  dedupe makes the overlap harmless).
- `FileLeader` (no Redis): an exclusive `flock` next to the SQLite database, so
  the processes of one machine (`--workers`) elect one; released by the kernel
  when its process dies.
"""

from __future__ import annotations

import asyncio
import fcntl
import secrets
from pathlib import Path
from typing import IO, Final, Protocol

from payedge_server import private_files
from payedge_server.shared_redis import SharedRedis

_RENEW: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class Leader(Protocol):
    async def acquire(self) -> None:
        """Return once this process holds the lock."""
        ...

    async def hold(self) -> None:
        """Return when this process has lost the lock (never, for a lock only death releases)."""
        ...

    def release(self) -> None: ...


class FileLeader:
    def __init__(self, path: Path, poll: float = 1.0) -> None:
        self.path = path
        self.poll = poll
        self._handle: IO[str] | None = None

    async def acquire(self) -> None:
        private_files.make_dir(self.path.parent)
        handle = private_files.open_lock_file(self.path)
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._handle = handle
                return
            except BlockingIOError:
                await asyncio.sleep(self.poll)

    async def hold(self) -> None:
        await asyncio.Event().wait()

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class RedisLeader:
    KEY: Final = "payedge:mqtt-relay:leader"

    def __init__(self, shared: SharedRedis, *, ttl: float = 3.0, renew: float = 1.0) -> None:
        self.shared = shared
        self.ttl_ms = int(ttl * 1000)
        self.renew = renew
        self.token = secrets.token_hex(16)

    async def _take(self) -> bool:
        return bool(
            await self.shared.call(lambda r: r.set(self.KEY, self.token, nx=True, px=self.ttl_ms), None)
        )

    async def acquire(self) -> None:
        while not await self._take():  # noqa: ASYNC110 - polling Redis, no local event to wait on
            await asyncio.sleep(self.renew)

    async def hold(self) -> None:
        while True:
            await asyncio.sleep(self.renew)
            renewed = await self.shared.call(
                lambda r: r.eval(_RENEW, 1, self.KEY, self.token, self.ttl_ms), default=None
            )
            if renewed is None or int(renewed) == 1:
                continue  # renewed, or Redis unreachable: keep leading (see the module's note)
            if not await self._take():  # expired while Redis was away, and someone else won
                return

    def release(self) -> None:
        token = self.token

        async def give_up(r: object) -> None:
            script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
            await r.eval(script + " return 0", 1, self.KEY, token)  # type: ignore[attr-defined]

        self.shared.spawn(give_up)
