"""What the sync and asyncio Redis twins share: keys, arguments and the
decoding of script replies. The client classes only send and await."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from payedge._core import Lease
from payedge._errors import InvalidArgumentError, QueueError, StaleLeaseError
from payedge.redis import _lua

T = TypeVar("T")

#: The script sources by name; each client registers them once per instance.
QUEUE_SCRIPTS = {
    "enqueue": _lua.ENQUEUE,
    "allocate": _lua.ALLOCATE,
    "complete": _lua.COMPLETE,
    "extend": _lua.EXTEND,
    "cancel": _lua.CANCEL,
    "expire": _lua.EXPIRE,
    "snapshot": _lua.SNAPSHOT,
}
LOCK_SCRIPTS = {
    "acquire": _lua.LOCK_ACQUIRE,
    "release": _lua.LOCK_RELEASE,
    "extend": _lua.LOCK_EXTEND,
}


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One script invocation and how to read its reply."""

    script: str
    keys: Sequence[str]
    args: Sequence[str | int]
    decode: Callable[[Any], T]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_ttl(field: str, ttl: float) -> int:
    if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl > 0):
        raise InvalidArgumentError(
            f"{field}: must be a positive, finite number of seconds, got {ttl!r}", param=field
        )
    return max(1, round(ttl * 1_000_000))


def refuse_now(now: object) -> None:
    """The twins read Redis's clock, never the caller's: `now` must be left out."""
    if now is not None:
        raise InvalidArgumentError(
            "now: the Redis twins use the Redis server's clock (TIME); leave `now` out",
            param="now",
        )


def _lease(reply: Sequence[Any]) -> Lease:
    token, payment_id, user_id, terminal_id, expires_us = reply
    return Lease(_text(payment_id), _text(user_id), _text(terminal_id), int(token), int(expires_us) / 1e6)


def _ok(reply: Sequence[Any]) -> Sequence[Any]:
    """The payload of an `{"ok", ...}` reply, or raise the error it carries."""
    if _text(reply[0]) == "ok":
        return reply[1:]
    _, kind, code, message, extra = (_text(part) for part in reply)
    if kind == "stale":
        raise StaleLeaseError(message, token=int(extra))
    if kind == "invalid":
        raise InvalidArgumentError(message, param=extra)
    raise QueueError(message, code=code)


class QueueCalls:
    """Keys and calls of one Redis terminal queue (namespaced by its name)."""

    def __init__(self, name: str, terminals: Sequence[str], lock_ttl: float) -> None:
        if isinstance(terminals, str):
            raise InvalidArgumentError("terminals: must be a sequence of terminal ids", param="terminals")
        ids = list(terminals)
        if not ids or any(not t or not isinstance(t, str) for t in ids) or len(set(ids)) != len(ids):
            raise InvalidArgumentError(
                "terminals: need at least one, each a distinct non-empty string", param="terminals"
            )
        if not name:
            raise InvalidArgumentError("name: must be a non-empty string", param="name")
        self.ttl_us = _check_ttl("lock_ttl", lock_ttl)
        self.lock_ttl = float(lock_ttl)
        self.terminals = tuple(ids)
        self._known = frozenset(ids)
        # One hash tag: every key of a queue lives in one cluster slot.
        prefix = f"payedge:tq:{{{name}}}:"
        self.keys = tuple(prefix + k for k in _lua.QUEUE_KEYS)
        self.queue_key = self.keys[0]

    def _call(self, script: str, args: Sequence[str | int], decode: Callable[[Any], T]) -> Call[T]:
        return Call(script, self.keys, (self.ttl_us, *args), decode)

    def enqueue(self, payment_id: str, user_id: str) -> Call[int]:
        return self._call("enqueue", (payment_id, user_id), lambda r: int(_ok(r)[0]))

    def allocate(self, terminal_id: str) -> Call[Lease | None]:
        known = "1" if terminal_id in self._known else "0"

        def decode(reply: Any) -> Lease | None:
            payload = _ok(reply)
            return _lease(payload[0]) if payload else None

        return self._call("allocate", (terminal_id, known), decode)

    def complete(self, token: int) -> Call[None]:
        def decode(reply: Any) -> None:
            _ok(reply)

        return self._call("complete", (int(token),), decode)

    def extend(self, token: int) -> Call[float]:
        return self._call("extend", (int(token),), lambda r: int(_ok(r)[0]) / 1e6)

    def cancel(self, payment_id: str) -> Call[bool]:
        return self._call("cancel", (payment_id,), lambda r: bool(int(_ok(r)[0])))

    def expire(self) -> Call[list[Lease]]:
        return self._call("expire", (), lambda r: [_lease(x) for x in _ok(r)[0]])

    def snapshot(self) -> Call[dict[str, Any]]:
        def decode(reply: Any) -> dict[str, Any]:
            queue, leases = _ok(reply)
            return {
                "queue": [_text(p) for p in queue],
                "terminals": {
                    t: (_lease(lease) if lease else None)
                    for t, lease in zip(self.terminals, leases, strict=True)
                },
            }

        return self._call("snapshot", self.terminals, decode)

    @staticmethod
    def decode_rank(rank: Any) -> int | None:
        return None if rank is None else int(rank) + 1


class LockCalls:
    """Keys and calls of one family of Redis lease locks."""

    def __init__(self, prefix: str, ttl: float) -> None:
        if not prefix:
            raise InvalidArgumentError("prefix: must be a non-empty string", param="prefix")
        self.ttl_us = _check_ttl("ttl", ttl)
        self.ttl = float(ttl)
        self._prefix = f"{{{prefix}}}:"
        self._token_key = self._prefix + "token"

    def _call(self, script: str, key: str, args: Sequence[str | int], decode: Callable[[Any], T]) -> Call[T]:
        return Call(script, (self._prefix + "lock:" + key, self._token_key), (self.ttl_us, *args), decode)

    def acquire(self, key: str) -> Call[int | None]:
        if not key:
            raise InvalidArgumentError("key: must be a non-empty string", param="key")
        return self._call("acquire", key, (), lambda r: None if r is None else int(r))

    def release(self, key: str, token: int) -> Call[bool]:
        return self._call("release", key, (int(token),), lambda r: bool(int(r)))

    def extend(self, key: str, token: int) -> Call[bool]:
        return self._call("extend", key, (int(token),), lambda r: bool(int(r)))
