"""GCRA (the generic cell rate algorithm, ITU-T I.371 "virtual scheduling") on integer microseconds.

One number per key, its theoretical arrival time (TAT). With the emission interval
`T = period / rate` and the tolerance `tau = (burst - 1) * T`, a request at `now` is
allowed iff `max(TAT, now) - now <= tau`, and then `TAT = max(TAT, now) + T`: a fresh
key admits exactly `burst` requests at once, then one every `T`, with no window
boundary to burst across and no background drip. Integers (microseconds) keep
"exactly `burst`" exact: a float TAT summed `burst` times can land a hair above `tau`.

`Policy` holds one limit; `ahead` (TAT - now, microseconds, after the request when it
was allowed, else as it stands) is all the headers need, so the in-process table here
and the Redis script (redis_gcra.py) report through the same `Report`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final, NamedTuple

MICROS: Final = 1_000_000
SWEEP_MIN: Final = 10_000


@dataclass(frozen=True, slots=True)
class Policy:
    """`rate` requests per `period` seconds sustained, `burst` at once from idle."""

    name: str  # "key" | "address": the policy's name in the RateLimit headers
    rate: int
    period: int
    burst: int
    interval: int  # microseconds between two requests at the sustained rate (T)
    tolerance: int  # (burst - 1) * T
    item_prefix: str  # '"key";': this policy's items in the RateLimit header start so

    @classmethod
    def of(cls, name: str, rate: int, period: int, burst: int | None) -> Policy:
        burst = rate if burst is None else burst
        interval = max(1, period * MICROS // rate)
        return cls(name, rate, period, burst, interval, (burst - 1) * interval, f'"{name}";')

    @property
    def header_item(self) -> str:
        """This policy as an item of `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers):
        `q` requests per window `w` seconds."""
        return f'"{self.name}";q={self.rate};w={self.period}'

    def remaining(self, ahead: int) -> int:
        """Requests this policy would still admit right now, with the TAT `ahead` of now."""
        room = self.tolerance - ahead
        return room // self.interval + 1 if room >= 0 else 0

    def retry_after(self, ahead: int) -> int:
        """Whole seconds until a request is allowed again (at least 1)."""
        wait = ahead - self.tolerance
        return max(1, -(-wait // MICROS))


class Report(NamedTuple):
    """The verdict on one request, with what each policy that applied says (for the headers).

    A NamedTuple rather than a frozen dataclass: it is made on every limited request, and a
    frozen dataclass's `__init__` costs about a microsecond more.
    """

    allowed: bool
    policies: tuple[Policy, ...]
    aheads: tuple[int, ...]

    def headers(self) -> dict[str, str]:
        """`RateLimit-Policy` and `RateLimit` (remaining `r`, seconds `t` until the quota is whole
        again); with `Retry-After` when refused."""
        items = []
        retry = 0
        for policy, ahead in zip(self.policies, self.aheads, strict=True):
            room = policy.tolerance - ahead
            remaining = room // policy.interval + 1 if room >= 0 else 0
            items.append(f"{policy.item_prefix}r={remaining};t={-(-ahead // MICROS)}")
            if room < 0:
                retry = max(retry, policy.retry_after(ahead))
        out = {"RateLimit-Policy": _policy_header(self.policies), "RateLimit": ", ".join(items)}
        if not self.allowed:
            out["Retry-After"] = str(retry or 1)
        return out


@functools.lru_cache(maxsize=8)
def _policy_header(policies: tuple[Policy, ...]) -> str:
    return ", ".join(p.header_item for p in policies)


class LocalTable:
    """The TATs of one policy in this process: a dict, swept of idle keys as it grows."""

    __slots__ = ("_sweep_at", "interval", "policy", "tats", "tolerance")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.interval = policy.interval
        self.tolerance = policy.tolerance
        self.tats: dict[str, int] = {}
        self._sweep_at = SWEEP_MIN

    def sweep(self, now: int) -> None:
        """Drop every key whose TAT has passed (the same as an absent key): amortised O(1) per
        request, the next sweep waiting until the table has doubled."""
        self.tats = {k: tat for k, tat in self.tats.items() if tat > now}
        self._sweep_at = max(SWEEP_MIN, 2 * len(self.tats))

    def full(self) -> bool:
        return len(self.tats) > self._sweep_at


def admit_local(tables: tuple[LocalTable, ...], keys: tuple[str, ...], now: int) -> Report:
    """Check every policy first; take from all of them only when all allow (a refused request
    costs no budget). `now` in microseconds (any clock, the same for every call)."""
    aheads = []
    allowed = True
    for table, key in zip(tables, keys, strict=True):
        tat = table.tats.get(key, 0)
        ahead = tat - now if tat > now else 0
        if ahead > table.tolerance:
            allowed = False
        aheads.append(ahead)
    if allowed:
        for index, table in enumerate(tables):
            ahead = aheads[index] + table.interval
            aheads[index] = ahead
            table.tats[keys[index]] = now + ahead
            if table.full():
                table.sweep(now)
    return Report(allowed, tuple(t.policy for t in tables), tuple(aheads))
