"""payedge.IdempotencyCache and payedge.fingerprint (SPEC 2.2)."""

from __future__ import annotations

import json
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge import (
    Begin,
    IdempotencyCache,
    IdempotencyError,
    InvalidArgumentError,
    PayedgeError,
    fingerprint,
)

from tests.support.threads import fast_switching, run_threads

FP_A = fingerprint("POST", "/v1/payments", b'{"amount": 100, "currency": "eur"}')
FP_B = fingerprint("POST", "/v1/payments", b'{"amount": 200, "currency": "eur"}')


def test_default_ttl_is_24_hours() -> None:
    assert IdempotencyCache().ttl == 86400.0


def test_the_four_outcomes() -> None:
    c = IdempotencyCache()
    first = c.begin("key-1", FP_A, now=0.0)
    assert isinstance(first, Begin)
    assert (first.kind, first.status, first.body) == ("new", None, None)
    assert c.begin("key-1", FP_A, 1.0).kind == "in_flight"
    assert c.begin("key-1", FP_B, 1.0).kind == "mismatch"
    assert c.complete("key-1", 201, b'{"id": "pay_1"}') is True
    replay = c.begin("key-1", FP_A, 2.0)
    assert (replay.kind, replay.status, replay.body) == ("replay", 201, b'{"id": "pay_1"}')
    assert c.begin("key-1", FP_B, 2.0).kind == "mismatch"
    assert c.begin("key-2", FP_B, 2.0).kind == "new"  # keys are independent
    assert len(c) == 2


def test_begin_is_frozen() -> None:
    b = IdempotencyCache().begin("k", "f", 0.0)
    with pytest.raises(AttributeError):
        b.kind = "replay"  # type: ignore[misc,unused-ignore]
    with pytest.raises(TypeError):
        Begin()
    assert repr(b) == "Begin(kind='new')"


def test_mismatch_wins_over_in_flight() -> None:
    c = IdempotencyCache()
    assert c.begin("k", FP_A, 0.0).kind == "new"
    # A different request under a running key is the client's error whatever the timing.
    assert c.begin("k", FP_B, 0.5).kind == "mismatch"
    assert c.begin("k", FP_A, 0.5).kind == "in_flight"


def test_expired_keys_behave_as_new() -> None:
    c = IdempotencyCache(ttl=60.0)
    assert c.begin("k", FP_A, 0.0).kind == "new"
    assert c.complete("k", 200, b"ok")
    assert c.begin("k", FP_A, 59.9).kind == "replay"  # completing did not extend the life
    assert c.begin("k", FP_B, 60.0).kind == "new"  # expired: even another request is new
    assert c.begin("k", FP_B, 119.0).kind == "in_flight"
    assert c.begin("k", FP_B, 120.0).kind == "new"  # a stuck in-flight attempt expires too
    assert c.purge_expired(1000.0) == 1
    assert len(c) == 0


def test_default_now_is_time_monotonic() -> None:
    c = IdempotencyCache(ttl=30.0)
    assert c.begin("k", FP_A).kind == "new"
    assert c.begin("k", FP_A, time.monotonic()).kind == "in_flight"
    assert c.begin("k", FP_A, time.monotonic() + 30.0).kind == "new"
    assert c.purge_expired() == 0


def test_abandon_lets_the_key_be_retried() -> None:
    c = IdempotencyCache()
    assert c.begin("k", FP_A, 0.0).kind == "new"
    assert c.abandon("k") is True
    assert len(c) == 0
    assert c.abandon("k") is False
    assert c.begin("k", FP_B, 1.0).kind == "new"  # a refused request may be retried, even changed


def test_a_saved_response_is_final() -> None:
    c = IdempotencyCache()
    c.begin("k", FP_A, 0.0)
    assert c.complete("k", 502, b"gateway down")  # 5xx saved: the gateway may have acted
    assert c.complete("k", 200, b"other") is False
    assert c.abandon("k") is False
    replay = c.begin("k", FP_A, 1.0)
    assert (replay.status, replay.body) == (502, b"gateway down")


def test_complete_and_abandon_of_unknown_keys_change_nothing() -> None:
    c = IdempotencyCache()
    assert c.complete("never-begun", 200, b"") is False
    assert c.abandon("never-begun") is False
    assert len(c) == 0
    assert c.begin("never-begun", FP_A, 0.0).kind == "new"


def test_keys_are_limited_to_255_characters() -> None:
    c = IdempotencyCache()
    for ok in ["k" * 255, "é" * 255, "🙂" * 255]:  # characters, not bytes
        assert c.begin(ok, FP_A, 0.0).kind == "new"
    for long in ["k" * 256, "é" * 256, "🙂" * 1000]:
        with pytest.raises(IdempotencyError) as err:
            c.begin(long, FP_A, 0.0)
        assert err.value.code == "key_too_long"
        assert f"{len(long)} characters" in str(err.value)
        assert isinstance(err.value, PayedgeError)
        with pytest.raises(IdempotencyError, match="at most 255"):
            c.complete(long, 200, b"")
        with pytest.raises(IdempotencyError):
            c.abandon(long)
    with pytest.raises(IdempotencyError) as err:
        c.begin("", FP_A, 0.0)
    assert err.value.code == "key_empty"
    assert len(c) == 3


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda c: IdempotencyCache(ttl=0.0), "ttl"),
        (lambda c: IdempotencyCache(ttl="1d"), "ttl"),  # type: ignore[arg-type]
        (lambda c: c.begin(5, FP_A), "key"),
        (lambda c: c.begin("k", None), "fingerprint"),
        (lambda c: c.begin("k", FP_A, now="soon"), "now"),
        (lambda c: c.begin("k", FP_A, now=float("nan")), "now"),
        (lambda c: c.complete("k", 99, b""), "status"),
        (lambda c: c.complete("k", 600, b""), "status"),
        (lambda c: c.complete("k", "200", b""), "status"),
        (lambda c: c.complete("k", 200.0, b""), "status"),
        (lambda c: c.complete("k", 2**80, b""), "status"),
        (lambda c: c.complete("k", 200, "body"), "body"),
        (lambda c: c.abandon(b"k"), "key"),
        (lambda c: c.purge_expired(now="x"), "now"),
    ],
)
def test_bad_arguments_raise_a_payedge_error_naming_them(call: object, param: str) -> None:
    c = IdempotencyCache()
    assert c.begin("k", FP_A, 0.0).kind == "new"
    with pytest.raises(InvalidArgumentError) as err:
        call(c)  # type: ignore[operator]
    assert err.value.param == param
    assert str(err.value).startswith(f"{param}: ")
    assert c.begin("k", FP_A, 1.0).kind == "in_flight"  # nothing half-done


# --- model test against a plain dict ---

cache_ops = st.lists(
    st.tuples(
        st.sampled_from(["begin", "begin", "complete", "abandon", "purge"]),
        st.floats(min_value=0.0, max_value=4.0, allow_nan=False),
        st.sampled_from(["k1", "k2", "k3", "ключ"]),
        st.sampled_from(["fa", "fb"]),
        st.sampled_from([200, 201, 500]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops=cache_ops)
def test_matches_a_plain_dict_model(ops: list[tuple[str, float, str, str, int]]) -> None:
    ttl = 10.0
    c = IdempotencyCache(ttl=ttl)
    model: dict[str, tuple[str, float, tuple[int, bytes] | None]] = {}  # key -> (fp, expiry, response)
    now = 0.0
    for op, step, key, fp, status in ops:
        now += step
        entry = model.get(key)
        live = entry is not None and entry[1] > now
        if op == "begin":
            got = c.begin(key, fp, now)
            if entry is None or not live:
                want: tuple[str, int | None, bytes | None] = ("new", None, None)
                model[key] = (fp, now + ttl, None)
            elif entry[0] != fp:
                want = ("mismatch", None, None)
            elif entry[2] is None:
                want = ("in_flight", None, None)
            else:
                want = ("replay", entry[2][0], entry[2][1])
            assert (got.kind, got.status, got.body) == want
        elif op == "complete":
            body = f"{key}:{status}".encode()
            got_done = c.complete(key, status, body)
            if entry is not None and not live:
                # complete() takes no `now`: on an expired record its effect is unobservable.
                del model[key]
            elif entry is not None and entry[2] is None:
                assert got_done
                model[key] = (entry[0], entry[1], (status, body))
            else:
                assert not got_done
        elif op == "abandon":
            got_done = c.abandon(key)
            if entry is not None and not live:
                del model[key]
            elif entry is not None and entry[2] is None:
                assert got_done
                del model[key]
            else:
                assert not got_done
        else:
            c.purge_expired(now)
            model = {k: v for k, v in model.items() if v[1] > now}
            assert len(c) == len(model)


# --- thread safety ---


def test_threads_racing_on_the_same_keys_get_exactly_one_new_each() -> None:
    threads, keys_n = 8, 1_500
    c = IdempotencyCache()
    keys = [f"idem-{i}" for i in range(keys_n)]
    outcomes: list[list[tuple[str, str]]] = [[] for _ in range(threads)]

    def worker(t: int) -> None:
        cut = t * keys_n // threads
        for key in keys[cut:] + keys[:cut]:
            got = c.begin(key, FP_A)
            outcomes[t].append((key, got.kind))
            if got.kind == "new":
                assert c.complete(key, 200, key.encode())
            elif got.kind == "replay":
                assert (got.status, got.body) == (200, key.encode())

    with fast_switching():
        run_threads(worker, threads)
    news: dict[str, int] = dict.fromkeys(keys, 0)
    for per_thread in outcomes:
        for key, kind in per_thread:
            assert kind in ("new", "in_flight", "replay")
            news[key] += kind == "new"
    assert set(news.values()) == {1}
    assert all(c.begin(k, FP_A).kind == "replay" for k in keys)


# --- fingerprint ---


def test_fingerprint_is_sha256_hex() -> None:
    fp = fingerprint("POST", "/v1/payments", b"{}")
    assert len(fp) == 64
    assert fp == fp.lower()
    int(fp, 16)


def test_json_key_order_and_whitespace_do_not_matter() -> None:
    a = fingerprint("POST", "/v1/payments", b'{"amount":100,"currency":"eur","metadata":{"a":1,"b":[1,2]}}')
    b = fingerprint(
        "post",
        "/v1/payments",
        b'{\n  "metadata": { "b": [ 1, 2 ], "a": 1 },\n  "currency": "eur",\n  "amount": 100\n}\n',
    )
    assert a == b
    # the same string written with escapes is the same string
    assert fingerprint("POST", "/p", b'{"k":"\\u00e9"}') == fingerprint("POST", "/p", '{"k":"é"}'.encode())


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (b'{"amount":100}', b'{"amount":101}'),
        (b'{"amount":1}', b'{"amount":1.0}'),  # numbers are kept as written
        (b'{"amount":1.0}', b'{"amount":1.00}'),
        (b'{"n":12345678901234567890123}', b'{"n":12345678901234567890124}'),  # beyond 64 bits
        (b'{"a":"1"}', b'{"a":1}'),
        (b'{"a":null}', b"{}"),
        (b"[1,2]", b"[2,1]"),  # arrays keep their order
        (b"a=1&b=2", b"b=2&a=1"),  # not JSON: raw bytes
        (b"", b" "),
        (b"\xff\xfe", b"\xff\xff"),
    ],
)
def test_different_bodies_differ(one: bytes, other: bytes) -> None:
    assert fingerprint("POST", "/p", one) != fingerprint("POST", "/p", other)


def test_method_is_case_insensitive_and_path_matters() -> None:
    body = b'{"a":1}'
    assert fingerprint("post", "/p", body) == fingerprint("POST", "/p", body)
    assert fingerprint("POST", "/p", body) != fingerprint("PUT", "/p", body)
    assert fingerprint("POST", "/p", body) != fingerprint("POST", "/P", body)
    assert fingerprint("POST", "/p", body) != fingerprint("POST", "/p?x=1", body)


def test_non_json_bodies_are_hashed_raw() -> None:
    for body in [b"", b"not json", b'{"a":1} trailing', b"\x00\x01\x02", b"[" * 1000, b'{"a":1e400}']:
        assert fingerprint("POST", "/p", body) == fingerprint("POST", "/p", bytes(body))
    assert fingerprint("POST", "/p", b"{ ") != fingerprint("POST", "/p", b"{")


def test_large_bodies_are_hashed() -> None:
    doc = {f"k{i}": list(range(i % 7)) for i in range(20_000)}
    compact = json.dumps(doc, separators=(",", ":")).encode()
    assert len(compact) > 64 * 1024  # the GIL-free path
    shuffled = dict(random.Random(7).sample(sorted(doc.items()), len(doc)))
    assert fingerprint("POST", "/p", compact) == fingerprint(
        "POST", "/p", json.dumps(shuffled, indent=2).encode()
    )


@pytest.mark.parametrize(
    ("args", "param"),
    [
        ((b"POST", "/p", b""), "method"),
        (("POST", None, b""), "path"),
        (("POST", "/p", "{}"), "body"),
        (("POST", "/p", bytearray(b"{}")), "body"),
    ],
)
def test_fingerprint_rejects_bad_types(args: tuple[object, object, object], param: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        fingerprint(*args)  # type: ignore[arg-type]
    assert err.value.param == param


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=5),
    max_leaves=25,
)


def _reorder(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _reorder(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_reorder(v, rng) for v in value]
    return value


@settings(max_examples=200, deadline=None)
@given(
    value=json_values, seed=st.integers(min_value=0, max_value=2**32), indent=st.sampled_from([None, 0, 2])
)
def test_reordered_and_reformatted_json_has_the_same_fingerprint(
    value: object, seed: int, indent: int | None
) -> None:
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    other = json.dumps(
        _reorder(value, random.Random(seed)), indent=indent, ensure_ascii=bool(seed % 2)
    ).encode()
    assert fingerprint("POST", "/v1/x", compact) == fingerprint("post", "/v1/x", other)


@settings(max_examples=200, deadline=None)
@given(a=json_values, b=json_values)
def test_different_json_values_have_different_fingerprints(a: object, b: object) -> None:
    ja = json.dumps(a, sort_keys=True, separators=(",", ":"))
    jb = json.dumps(b, sort_keys=True, separators=(",", ":"))
    if ja != jb:
        assert fingerprint("POST", "/p", ja.encode()) != fingerprint("POST", "/p", jb.encode())
