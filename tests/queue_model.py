"""A plain-Python sequential model of SPEC 2.4 (terminal queue and lease locks).

Written for clarity, not speed: a list for the queue, dicts for leases. The
differential tests drive it and the real implementations (Rust core, Redis
twin) with the same operations and clocks and require identical results,
positions, queue order and errors. It also serves as the baseline in
bench/test_bench_queue.py. Decisions where the spec is silent (shared by
every implementation):

* validation order: ``now`` is checked, then due leases expire, then the
  other arguments are checked (so expiry happens even when the call fails);
* enqueueing a queued payment for another user: InvalidArgumentError(param="user_id");
  enqueueing a payment that holds a live lease: QueueError("already_allocated");
* ``extend`` never shortens a lease; ``expire`` returns leases in original enqueue order;
* ``LeaseLocks.release`` of an expired lock returns False.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from payedge import InvalidArgumentError, Lease, QueueError, StaleLeaseError


def _check_now(now: float | None) -> float:
    if now is None:
        return time.monotonic()
    if not math.isfinite(now):
        raise InvalidArgumentError(f"now: must be a finite number of seconds, got {now}", param="now")
    return now


def _check_ttl(field: str, ttl: float) -> None:
    if not (math.isfinite(ttl) and ttl > 0):
        raise InvalidArgumentError(f"{field}: must be > 0", param=field)


def _check_id(field: str, value: str) -> None:
    if not value:
        raise InvalidArgumentError(f"{field}: must be a non-empty string", param=field)


@dataclass
class _Entry:
    payment_id: str
    user_id: str
    seq: int  # original enqueue order


class QueueModel:
    """Sequential reference for ``payedge.TerminalQueue``."""

    def __init__(self, terminals: list[str], lock_ttl: float = 180.0) -> None:
        _check_ttl("lock_ttl", lock_ttl)
        self.terminals: dict[str, int | None] = {}
        for terminal in terminals:
            _check_id("terminals", terminal)
            if terminal in self.terminals:
                raise InvalidArgumentError("terminals: listed twice", param="terminals")
            self.terminals[terminal] = None
        if not self.terminals:
            raise InvalidArgumentError("terminals: at least one is needed", param="terminals")
        self.lock_ttl = lock_ttl
        self.queue: list[_Entry] = []
        self.leases: dict[int, tuple[Lease, int]] = {}  # token -> (lease, seq)
        self.last_seq = 0
        self.last_token = 0

    def _queued(self, payment_id: str) -> int | None:
        for i, entry in enumerate(self.queue):
            if entry.payment_id == payment_id:
                return i
        return None

    def _lease_of(self, payment_id: str) -> int | None:
        for token, (lease, _) in self.leases.items():
            if lease.payment_id == payment_id:
                return token
        return None

    def _end(self, token: int) -> tuple[Lease, int]:
        lease, seq = self.leases.pop(token)
        self.terminals[lease.terminal_id] = None
        return lease, seq

    def enqueue(self, payment_id: str, user_id: str, now: float | None = None) -> int:
        now = _check_now(now)
        self._expire(now)
        _check_id("payment_id", payment_id)
        _check_id("user_id", user_id)
        i = self._queued(payment_id)
        if i is not None:
            if self.queue[i].user_id != user_id:
                raise InvalidArgumentError("user_id: queued for another user", param="user_id")
            return i + 1
        if self._lease_of(payment_id) is not None:
            raise QueueError("payment holds a lease", code="already_allocated")
        self.last_seq += 1
        self.queue.append(_Entry(payment_id, user_id, self.last_seq))
        return len(self.queue)

    def position(self, payment_id: str) -> int | None:
        i = self._queued(payment_id)
        return None if i is None else i + 1

    def allocate(self, terminal_id: str, now: float | None = None) -> Lease | None:
        now = _check_now(now)
        self._expire(now)
        if terminal_id not in self.terminals:
            raise QueueError("unknown terminal", code="unknown_terminal")
        if self.terminals[terminal_id] is not None:
            raise QueueError("terminal busy", code="terminal_busy")
        locked = {lease.user_id for lease, _ in self.leases.values()}
        for i, entry in enumerate(self.queue):
            if entry.user_id not in locked:
                del self.queue[i]
                self.last_token += 1
                lease = Lease(
                    entry.payment_id, entry.user_id, terminal_id, self.last_token, now + self.lock_ttl
                )
                self.leases[lease.token] = (lease, entry.seq)
                self.terminals[terminal_id] = lease.token
                return lease
        return None

    def complete(self, token: int, now: float | None = None) -> None:
        now = _check_now(now)
        self._expire(now)
        if token not in self.leases:
            raise StaleLeaseError("stale lease", token=token)
        self._end(token)

    def extend(self, token: int, now: float | None = None) -> float:
        now = _check_now(now)
        self._expire(now)
        if token not in self.leases:
            raise StaleLeaseError("stale lease", token=token)
        lease, seq = self.leases[token]
        expires_at = max(lease.expires_at, now + self.lock_ttl)
        self.leases[token] = (
            Lease(lease.payment_id, lease.user_id, lease.terminal_id, token, expires_at),
            seq,
        )
        return expires_at

    def cancel(self, payment_id: str) -> bool:
        i = self._queued(payment_id)
        if i is not None:
            del self.queue[i]
            return True
        token = self._lease_of(payment_id)
        if token is not None:
            self._end(token)
            return True
        return False

    def expire(self, now: float | None = None) -> list[Lease]:
        return self._expire(_check_now(now))

    def _expire(self, now: float) -> list[Lease]:
        due = sorted((seq, token) for token, (lease, seq) in self.leases.items() if now >= lease.expires_at)
        ended = [self._end(token) for _, token in due]
        self.queue[:0] = [_Entry(lease.payment_id, lease.user_id, seq) for lease, seq in ended]
        return [lease for lease, _ in ended]

    def snapshot(self) -> dict[str, object]:
        return {
            "queue": [entry.payment_id for entry in self.queue],
            "terminals": {
                terminal: (None if token is None else self.leases[token][0])
                for terminal, token in self.terminals.items()
            },
        }

    def __len__(self) -> int:
        return len(self.queue)


class LocksModel:
    """Sequential reference for ``payedge.LeaseLocks``."""

    def __init__(self, ttl: float = 180.0) -> None:
        _check_ttl("ttl", ttl)
        self.ttl = ttl
        self.held: dict[str, tuple[int, float]] = {}
        self.last_token = 0

    def acquire(self, key: str, now: float | None = None) -> int | None:
        now = _check_now(now)
        _check_id("key", key)
        held = self.held.get(key)
        if held is not None and now < held[1]:
            return None
        self.last_token += 1
        self.held[key] = (self.last_token, now + self.ttl)
        return self.last_token

    def release(self, key: str, token: int, now: float | None = None) -> bool:
        now = _check_now(now)
        held = self.held.get(key)
        if held is None or held[0] != token:
            return False
        del self.held[key]
        return now < held[1]

    def extend(self, key: str, token: int, now: float | None = None) -> bool:
        now = _check_now(now)
        held = self.held.get(key)
        if held is None or held[0] != token or now >= held[1]:
            return False
        self.held[key] = (token, max(held[1], now + self.ttl))
        return True
