"""GCRA (ratelimit/gcra.py) against ITU-T I.371's other formulation, and its promises as properties.

The limiter runs the "virtual scheduling" form (one theoretical arrival time per key);
the reference here is the "continuous-state leaky bucket" form of the same
recommendation (a bucket's content and its last conformance time), written
independently: both must give the same verdict to every request of any sequence,
for several keys and two policies taken all-or-nothing. Then the promises users read
in the docs: a fresh key admits exactly `burst` at once; no interval of length D
from idle admits more than `burst + D / T`; `RateLimit`'s `r` is how many requests
would pass right now; a refused request's `Retry-After` is when one passes again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.ratelimit import Policy, RateLimiter
from payedge_server.ratelimit.gcra import MICROS, LocalTable, admit_local

pytestmark = pytest.mark.sqlite_only  # no store


@dataclass
class LeakyBucket:
    """ITU-T I.371 continuous-state leaky bucket: content X drains one unit per microsecond."""

    increment: int  # I = T
    limit: int  # L = tau
    content: dict[str, int] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)

    def conforms(self, key: str, t: int) -> bool:
        drained = self.content.get(key, 0) - (t - self.last.get(key, t))
        return max(drained, 0) <= self.limit

    def take(self, key: str, t: int) -> None:
        drained = self.content.get(key, 0) - (t - self.last.get(key, t))
        self.content[key] = max(drained, 0) + self.increment
        self.last[key] = t


policies = st.builds(
    Policy.of,
    st.sampled_from(["key", "address"]),
    st.integers(1, 50),
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(1, 60)),
)
requests = st.lists(
    st.tuples(st.integers(0, 3 * MICROS), st.sampled_from(["a", "b", "c"]), st.sampled_from(["k1", "k2"])),
    min_size=1,
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(address=policies, key=policies, stream=requests)
def test_the_same_verdicts_as_the_leaky_bucket(
    address: Policy, key: Policy, stream: list[tuple[int, str, str]]
) -> None:
    tables = (LocalTable(address), LocalTable(key))
    buckets = (LeakyBucket(address.interval, address.tolerance), LeakyBucket(key.interval, key.tolerance))
    now = 10 * MICROS
    for gap, addr, k in stream:
        now += gap
        report = admit_local(tables, (addr, k), now)
        expected = buckets[0].conforms(addr, now) and buckets[1].conforms(k, now)
        if expected:
            buckets[0].take(addr, now)
            buckets[1].take(k, now)
        assert report.allowed is expected


@settings(max_examples=200, deadline=None)
@given(policy=policies, gaps=st.lists(st.integers(0, MICROS), min_size=1, max_size=200))
def test_a_fresh_key_admits_burst_at_once_and_no_more_than_the_rate_after(
    policy: Policy, gaps: list[int]
) -> None:
    table = (LocalTable(policy),)
    start = 5 * MICROS
    at_once = [admit_local(table, ("k",), start).allowed for _ in range(policy.burst + 3)]
    assert at_once == [True] * policy.burst + [False] * 3
    admitted, now = policy.burst, start
    for gap in gaps:
        now += gap
        admitted += admit_local(table, ("k",), now).allowed
        assert admitted <= policy.burst + (now - start) // policy.interval


@settings(max_examples=200, deadline=None)
@given(policy=policies, taken=st.integers(0, 70), wait=st.integers(0, 2 * MICROS))
def test_the_headers_say_what_would_pass_now_and_when_again(policy: Policy, taken: int, wait: int) -> None:
    table = (LocalTable(policy),)
    now = 7 * MICROS
    for _ in range(taken):
        admit_local(table, ("k",), now)
    now += wait
    report = admit_local(table, ("k",), now)
    headers = report.headers()
    assert headers["RateLimit-Policy"] == f'"{policy.name}";q={policy.rate};w={policy.period}'
    remaining = int(headers["RateLimit"].split(";r=")[1].split(";")[0])
    passes = 0
    while admit_local(table, ("k",), now).allowed:
        passes += 1
    assert passes == remaining
    refused = admit_local(table, ("k",), now)
    retry = int(refused.headers()["Retry-After"])
    assert retry >= 1
    assert admit_local(table, ("k",), now + retry * MICROS).allowed
    if retry > 1:
        assert not admit_local(table, ("k",), now + (retry - 1) * MICROS - 1).allowed


def test_idle_keys_are_swept_as_the_table_grows() -> None:
    table = LocalTable(Policy.of("address", 10, 1, 1))
    for i in range(25_000):
        admit_local((table,), (f"10.0.{i}",), i * 10_000)  # 10 ms apart, each idle again 0.1 s later
    assert len(table.tats) <= 10_001  # swept when it passed 10,000: 25,000 keys never held at once


async def test_off_unless_configured_and_which_policies_apply() -> None:
    from payedge_server.config import Config

    assert RateLimiter.from_config(Config()) is None
    limiter = RateLimiter(Policy.of("key", 2, 1, None), None)
    assert await limiter.admit("10.0.0.1", None) is None  # no key: no key policy, no address policy
    first = await limiter.admit("10.0.0.1", "kid")
    assert first is not None and first.allowed and [p.name for p in first.policies] == ["key"]
