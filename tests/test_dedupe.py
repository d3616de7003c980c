"""payedge.Deduper (SPEC 2.2): first sighting wins, TTL, bounded memory, threads."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from payedge import Deduper, InvalidArgumentError, PayedgeError

from tests.support.threads import fast_switching, run_threads


def test_defaults_follow_the_spec() -> None:
    d = Deduper()
    assert d.ttl == 259200.0
    assert d.max_entries == 10_000_000
    assert len(d) == 0
    assert d.evicted == 0


def test_first_sighting_is_true_then_duplicates_are_false() -> None:
    d = Deduper(ttl=10)
    assert d.check_and_insert("evt_1", now=0.0) is True
    assert d.check_and_insert("evt_1", now=1.0) is False
    assert d.check_and_insert("evt_2", now=1.0) is True
    assert len(d) == 2


def test_ttl_runs_from_the_first_sighting() -> None:
    d = Deduper(ttl=10.0)
    assert d.check_and_insert("evt", 100.0)
    assert not d.check_and_insert("evt", 109.5)  # a duplicate does not extend the TTL
    assert d.contains("evt", 109.999)
    assert not d.contains("evt", 110.0)
    assert d.check_and_insert("evt", 110.0)  # expired: first sighting again
    assert not d.check_and_insert("evt", 119.0)


def test_default_now_is_time_monotonic() -> None:
    ttl = 5.0
    d = Deduper(ttl=ttl)
    for i in range(200):
        before = time.monotonic()
        assert d.check_and_insert(f"probe{i}")
        after = time.monotonic()
        # the default `now` lies between two readings of time.monotonic()
        assert d.contains(f"probe{i}", before + ttl - 1e-4)
        assert not d.contains(f"probe{i}", after + ttl)
    before = time.monotonic()
    assert d.check_and_insert("evt")
    assert "evt" in d
    assert d.contains("evt", before + 4.9)
    assert not d.contains("evt", time.monotonic() + 5.0)
    assert not d.check_and_insert("evt", time.monotonic())
    assert d.check_and_insert("evt", time.monotonic() + 5.0)
    assert d.purge_expired() == 0


def test_in_is_false_for_non_str() -> None:
    d = Deduper()
    d.check_and_insert("1")
    assert 1 not in d
    assert None not in d
    assert b"1" not in d
    assert "1" in d


def test_bound_evicts_the_oldest_first_and_counts_it() -> None:
    d = Deduper(ttl=1000.0, max_entries=3)
    for i, key in enumerate("abcde"):
        assert d.check_and_insert(key, float(i))
    assert len(d) == 3
    assert d.evicted == 2
    assert [d.contains(k, 5.0) for k in "abcde"] == [False, False, True, True, True]
    # an evicted key is a first sighting again (and evicts the next oldest)
    assert d.check_and_insert("a", 6.0)
    assert d.evicted == 3
    assert not d.contains("c", 6.0)


def test_bound_drops_expired_entries_before_live_ones_without_counting() -> None:
    d = Deduper(ttl=10.0, max_entries=2)
    d.check_and_insert("old", 0.0)
    d.check_and_insert("live", 8.0)
    assert d.check_and_insert("new", 12.0)  # "old" expired at 10
    assert d.evicted == 0
    assert d.contains("live", 12.0)
    assert d.contains("new", 12.0)
    assert len(d) == 2


def test_purge_expired_removes_only_expired_entries() -> None:
    d = Deduper(ttl=10.0)
    for i in range(100):
        d.check_and_insert(f"k{i}", i / 100)
    assert len(d) == 100
    assert d.purge_expired(now=10.405) == 41  # k0..k40 expire at 10.00..10.40
    assert len(d) == 59
    assert d.contains("k41", 10.405)
    assert not d.contains("k40", 10.405)
    assert d.purge_expired(10.405) == 0
    assert d.purge_expired(1e6) == 59
    assert len(d) == 0
    assert d.evicted == 0


def test_len_counts_expired_entries_until_they_are_purged() -> None:
    d = Deduper(ttl=1.0)
    keys = [f"k{i}" for i in range(200)]
    d.check_and_insert_many(keys, now=0.0)
    # Expiry is lazy: an insert purges only its own shard, so some expired entries stay held ...
    d.check_and_insert("late", 5.0)
    held = len(d)
    assert 1 <= held <= 201
    # ... until purge_expired, after which len() is the live count.
    assert d.purge_expired(5.0) == held - 1
    assert len(d) == 1
    assert not any(d.contains(k, 5.0) for k in keys)


def test_batch_is_single_calls_in_order() -> None:
    d = Deduper(ttl=10.0)
    assert d.check_and_insert("x", 0.0)
    assert d.check_and_insert_many(["a", "x", "b", "a"], now=1.0) == [True, False, True, False]
    assert d.check_and_insert_many(iter(("b", "c")), 2.0) == [False, True]
    assert d.check_and_insert_many([], 2.0) == []
    assert d.check_and_insert_many(("a", "x"), 10.5) == [False, True]  # "x" expired at 10
    assert len(d) == 4


def test_rejected_batch_inserts_nothing() -> None:
    d = Deduper()
    with pytest.raises(InvalidArgumentError, match="element 2 must not be empty") as err:
        d.check_and_insert_many(["a", "b", ""], 0.0)
    assert err.value.param == "keys"
    with pytest.raises(InvalidArgumentError, match="element 1 is int, expected str"):
        d.check_and_insert_many(["a", 1], 0.0)  # type: ignore[list-item]
    assert len(d) == 0


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: Deduper(ttl=0), "ttl"),
        (lambda: Deduper(ttl=-1.0), "ttl"),
        (lambda: Deduper(ttl=float("nan")), "ttl"),
        (lambda: Deduper(ttl=float("inf")), "ttl"),
        (lambda: Deduper(ttl="60"), "ttl"),  # type: ignore[arg-type]
        (lambda: Deduper(max_entries=0), "max_entries"),
        (lambda: Deduper(max_entries=-5), "max_entries"),
        (lambda: Deduper(max_entries=1.5), "max_entries"),  # type: ignore[arg-type]
        (lambda: Deduper(max_entries=2**70), "max_entries"),
        (lambda: Deduper().check_and_insert(""), "key"),
        (lambda: Deduper().check_and_insert(123), "key"),  # type: ignore[arg-type]
        (lambda: Deduper().check_and_insert(b"evt"), "key"),  # type: ignore[arg-type]
        (lambda: Deduper().check_and_insert("\ud800"), "key"),
        (lambda: Deduper().check_and_insert("k", now="now"), "now"),  # type: ignore[arg-type]
        (lambda: Deduper().check_and_insert("k", now=float("nan")), "now"),
        (lambda: Deduper().contains(None), "key"),  # type: ignore[arg-type]
        (lambda: Deduper().contains("k", float("inf")), "now"),
        (lambda: Deduper().purge_expired(now=[]), "now"),  # type: ignore[arg-type]
        (lambda: Deduper().check_and_insert_many("abc"), "keys"),
        (lambda: Deduper().check_and_insert_many(42), "keys"),  # type: ignore[arg-type]
        (lambda: Deduper().check_and_insert_many(["\udc80"]), "keys"),
    ],
)
def test_bad_arguments_raise_a_payedge_error_naming_them(call: object, param: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        call()  # type: ignore[operator]
    assert isinstance(err.value, PayedgeError)
    assert isinstance(err.value, ValueError)
    assert err.value.code == "invalid_argument"
    assert err.value.param == param
    assert str(err.value).startswith(f"{param}: ")


# --- model test: a plain-Python list of (key, expiry) in first-insertion order ---


class Model:
    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: dict[str, float] = {}  # insertion-ordered
        self.evicted = 0

    def expire(self, now: float) -> None:
        self.entries = {k: exp for k, exp in self.entries.items() if exp > now}

    def check_and_insert(self, key: str, now: float) -> bool:
        self.expire(now)
        if key in self.entries:
            return False
        self.entries[key] = now + self.ttl
        while len(self.entries) > self.max_entries:
            del self.entries[next(iter(self.entries))]
            self.evicted += 1
        return True

    def contains(self, key: str, now: float) -> bool:
        self.expire(now)
        return key in self.entries


keys = st.sampled_from([f"evt_{i}" for i in range(20)] + ["é", "🙂", "a" * 300])
ops = st.lists(
    st.tuples(
        st.sampled_from(["insert", "contains", "batch", "purge"]),
        st.floats(min_value=0.0, max_value=4.0, allow_nan=False),  # time step
        st.lists(keys, min_size=1, max_size=5),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops=ops, max_entries=st.integers(min_value=1, max_value=12))
def test_matches_a_plain_python_model(ops: list[tuple[str, float, list[str]]], max_entries: int) -> None:
    ttl = 10.0
    d = Deduper(ttl=ttl, max_entries=max_entries)
    model = Model(ttl, max_entries)
    now = 1000.0
    for op, step, batch in ops:
        now += step
        if op == "insert":
            assert d.check_and_insert(batch[0], now) == model.check_and_insert(batch[0], now)
        elif op == "contains":
            assert d.contains(batch[0], now) == model.contains(batch[0], now)
        elif op == "batch":
            want = [model.check_and_insert(k, now) for k in batch]
            assert d.check_and_insert_many(batch, now) == want
        else:
            d.purge_expired(now)
            model.expire(now)
            assert len(d) == len(model.entries)
        assert len(d) <= max_entries
        assert d.evicted == model.evicted


# --- thread safety ---

THREADS = 8
KEYS = 3_000
KEY_LIST = [f"evt_{i:06d}" for i in range(KEYS)]


def _rotated(t: int) -> list[str]:
    """Thread `t`'s walk over the keys: all of them, from its own offset."""
    cut = t * KEYS // THREADS
    return KEY_LIST[cut:] + KEY_LIST[:cut]


def test_threads_hammering_single_calls_see_exactly_one_first_per_key() -> None:
    d = Deduper()
    firsts: list[list[str]] = [[] for _ in range(THREADS)]

    def worker(t: int) -> None:
        firsts[t].extend(k for k in _rotated(t) if d.check_and_insert(k))

    with fast_switching():
        run_threads(worker, THREADS)
    assert sorted(k for f in firsts for k in f) == KEY_LIST  # each key exactly once
    assert len(d) == KEYS


def test_threads_hammering_the_gil_free_batch_see_exactly_one_first_per_key() -> None:
    d = Deduper()
    firsts: list[list[str]] = [[] for _ in range(THREADS)]

    def worker(t: int) -> None:
        mine = _rotated(t)
        for start in range(0, KEYS, 250):  # many small batches interleave more
            chunk = mine[start : start + 250]
            results = d.check_and_insert_many(chunk)
            firsts[t].extend(k for k, first in zip(chunk, results, strict=True) if first)

    run_threads(worker, THREADS)
    assert sorted(k for f in firsts for k in f) == KEY_LIST
    assert len(d) == KEYS


def test_threads_respect_the_bound_and_count_every_eviction() -> None:
    max_entries = 500
    per_thread = 1_000
    d = Deduper(max_entries=max_entries)

    def worker(t: int) -> None:
        chunk = [f"t{t}-{i}" for i in range(per_thread)]
        assert all(d.check_and_insert_many(chunk[:500]))
        assert all(d.check_and_insert(k) for k in chunk[500:])

    with fast_switching():
        run_threads(worker, THREADS)
    assert len(d) == max_entries
    assert d.evicted == THREADS * per_thread - max_entries


# --- issue 16: a 128-bit keyed digest per key, whatever the key ---


def test_keys_of_any_length_are_told_apart() -> None:
    d = Deduper(ttl=10.0)
    prefix = "evt_" + "x" * 60
    keys = [
        "a",
        "é",
        "\x00",
        "evt\x00",
        prefix,
        prefix + "1",
        prefix + "2",  # differ only after 64 bytes
        "🙂" * 1000,
        "k" * 1_000_000,
        "k" * 1_000_001,
    ]
    assert d.check_and_insert_many(keys, now=0.0) == [True] * len(keys)
    assert d.check_and_insert_many(keys, now=1.0) == [False] * len(keys)
    assert all(d.contains(k, 1.0) for k in keys)
    assert not d.contains(prefix + "3", 1.0)
    assert not d.contains("k" * 999_999, 1.0)
    assert len(d) == len(keys)


def test_big_batches_match_single_calls() -> None:
    """The batch takes the lock in chunks; answers are those of single calls in order."""
    keys = [f"evt_{i % 5_003}" for i in range(12_000)]
    single = Deduper(ttl=10.0, max_entries=4_000)
    batch = Deduper(ttl=10.0, max_entries=4_000)
    assert batch.check_and_insert_many(keys, 1.0) == [single.check_and_insert(k, 1.0) for k in keys]
    assert (len(batch), batch.evicted) == (len(single), single.evicted) == (4_000, single.evicted)


def test_max_entries_has_a_ceiling() -> None:
    assert Deduper(max_entries=2**30).max_entries == 2**30
    with pytest.raises(InvalidArgumentError) as err:
        Deduper(max_entries=2**30 + 1)
    assert err.value.param == "max_entries"


# --- stateful: random interleavings against the plain-Python model ---


class DeduperMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.d = Deduper(ttl=10.0, max_entries=6)
        self.model = Model(10.0, 6)

    @rule(step=st.sampled_from([0.0, 0.5, 1.0, 3.0, 9.999, 10.0]))
    def tick(self, step: float) -> None:
        self.now += step

    @rule(key=keys)
    def insert(self, key: str) -> None:
        assert self.d.check_and_insert(key, self.now) == self.model.check_and_insert(key, self.now)

    @rule(batch=st.lists(keys, max_size=8))
    def insert_many(self, batch: list[str]) -> None:
        want = [self.model.check_and_insert(k, self.now) for k in batch]
        assert self.d.check_and_insert_many(batch, self.now) == want

    @rule(key=keys)
    def contains(self, key: str) -> None:
        assert self.d.contains(key, self.now) == self.model.contains(key, self.now)

    @rule()
    def purge(self) -> None:
        self.d.purge_expired(self.now)
        self.model.expire(self.now)
        assert len(self.d) == len(self.model.entries)

    @invariant()
    def bounded_and_counted(self) -> None:
        assert len(self.d) <= 6
        assert self.d.evicted == self.model.evicted


DeduperMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestDeduperMachine = DeduperMachine.TestCase
