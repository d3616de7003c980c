"""The one argument layer: every native call refuses a wrong-typed argument with the
payedge exception of its area, naming the argument (never a bare TypeError)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import payedge
import pytest

from tests.support.stripe_events import ONE_KB_EVENT, SECRET

BAD = object()
NOW = 1_763_700_000
TARIFF = payedge.Tariff(
    {
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "increment_minutes": 15,
        "bands": [{"up_to_minute": None, "unit_price": 100}],
    }
)


def _queue() -> payedge.TerminalQueue:
    return payedge.TerminalQueue(["t1"])


# (call taking the bad value, expected class, expected param)
CASES: list[tuple[str, Callable[[Any], object], type[payedge.PayedgeError], str]] = [
    ("Deduper(ttl)", lambda v: payedge.Deduper(ttl=v), payedge.InvalidArgumentError, "ttl"),
    (
        "Deduper.check_and_insert(key)",
        lambda v: payedge.Deduper().check_and_insert(v),
        payedge.InvalidArgumentError,
        "key",
    ),
    (
        "Deduper.contains(now)",
        lambda v: payedge.Deduper().contains("k", v),
        payedge.InvalidArgumentError,
        "now",
    ),
    (
        "IdempotencyCache.begin(fingerprint)",
        lambda v: payedge.IdempotencyCache().begin("k", v),
        payedge.InvalidArgumentError,
        "fingerprint",
    ),
    (
        "IdempotencyCache.complete(status)",
        lambda v: payedge.IdempotencyCache().complete("k", v, b""),
        payedge.InvalidArgumentError,
        "status",
    ),
    (
        "IdempotencyCache.complete(body)",
        lambda v: payedge.IdempotencyCache().complete("k", 200, v),
        payedge.InvalidArgumentError,
        "body",
    ),
    (
        "fingerprint(method)",
        lambda v: payedge.fingerprint(v, "/", b""),
        payedge.InvalidArgumentError,
        "method",
    ),
    ("minor_units(currency)", payedge.minor_units, payedge.InvalidArgumentError, "currency"),
    ("to_minor(currency)", lambda v: payedge.to_minor("1", v), payedge.InvalidArgumentError, "currency"),
    (
        "format_money(currency)",
        lambda v: payedge.format_money(1, v),
        payedge.InvalidArgumentError,
        "currency",
    ),
    ("format_money(amount)", lambda v: payedge.format_money(v, "EUR"), payedge.MoneyError, "amount"),
    (
        "TerminalQueue(terminals)",
        payedge.TerminalQueue,
        payedge.InvalidArgumentError,
        "terminals",
    ),
    (
        "TerminalQueue(lock_ttl)",
        lambda v: payedge.TerminalQueue(["t"], v),
        payedge.InvalidArgumentError,
        "lock_ttl",
    ),
    (
        "TerminalQueue.enqueue(payment_id)",
        lambda v: _queue().enqueue(v, "u"),
        payedge.InvalidArgumentError,
        "payment_id",
    ),
    (
        "TerminalQueue.enqueue(now)",
        lambda v: _queue().enqueue("p", "u", v),
        payedge.InvalidArgumentError,
        "now",
    ),
    (
        "TerminalQueue.position(payment_id)",
        lambda v: _queue().position(v),
        payedge.InvalidArgumentError,
        "payment_id",
    ),
    (
        "TerminalQueue.allocate(terminal_id)",
        lambda v: _queue().allocate(v),
        payedge.InvalidArgumentError,
        "terminal_id",
    ),
    ("TerminalQueue.complete(token)", lambda v: _queue().complete(v), payedge.InvalidArgumentError, "token"),
    (
        "TerminalQueue.cancel(payment_id)",
        lambda v: _queue().cancel(v),
        payedge.InvalidArgumentError,
        "payment_id",
    ),
    ("Lease(token)", lambda v: payedge.Lease("p", "u", "t", v, 1.0), payedge.InvalidArgumentError, "token"),
    ("LeaseLocks(ttl)", payedge.LeaseLocks, payedge.InvalidArgumentError, "ttl"),
    (
        "LeaseLocks.acquire(key)",
        lambda v: payedge.LeaseLocks().acquire(v),
        payedge.InvalidArgumentError,
        "key",
    ),
    (
        "LeaseLocks.release(token)",
        lambda v: payedge.LeaseLocks().release("k", v),
        payedge.InvalidArgumentError,
        "token",
    ),
    ("Tariff.quote(entry)", lambda v: TARIFF.quote(v, NOW), payedge.TariffError, "entry"),
    (
        "Tariff.quote(lost_ticket)",
        lambda v: TARIFF.quote(NOW, NOW, lost_ticket=v),
        payedge.TariffError,
        "lost_ticket",
    ),
    (
        "Tariff.quote(subscription)",
        lambda v: TARIFF.quote(NOW, NOW, subscription=v),
        payedge.TariffError,
        "subscription",
    ),
    (
        "verify_stripe(now)",
        lambda v: payedge.verify_stripe(ONE_KB_EVENT, "t=1", SECRET, now=v),
        payedge.SignatureError,
        "now",
    ),
    ("verify_hmac(secret)", lambda v: payedge.verify_hmac(b"", "00", v), payedge.SignatureError, "secret"),
]


@pytest.mark.parametrize(("call", "cls", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wrong_types_raise_the_area_exception_naming_the_argument(
    call: Callable[[Any], object], cls: type[payedge.PayedgeError], param: str
) -> None:
    for bad in (BAD, 1.5j, []):
        with pytest.raises(cls) as err:
            call(bad)
        assert err.value.param == param, (bad, err.value)
        assert param in str(err.value) or cls is payedge.MoneyError, str(err.value)
        assert not isinstance(err.value, TypeError)


@pytest.mark.parametrize("flag", [True, False])
def test_bool_is_never_an_int(flag: bool) -> None:
    with pytest.raises(payedge.InvalidArgumentError) as err:
        payedge.Deduper(max_entries=flag)
    assert err.value.param == "max_entries"
    with pytest.raises(payedge.InvalidArgumentError):
        payedge.TerminalQueue(["t"]).complete(flag)
    with pytest.raises(payedge.SignatureError) as sig:
        payedge.sign_stripe(b"x", SECRET, flag)
    assert (sig.value.code, sig.value.param) == ("invalid_type", "timestamp")


def test_lone_surrogates_are_named_not_encode_errors() -> None:
    with pytest.raises(payedge.InvalidArgumentError) as err:
        payedge.TerminalQueue(["t", "\ud800"])
    assert err.value.param == "terminals"
    assert "element 1" in str(err.value)
    with pytest.raises(payedge.MoneyError) as money:
        payedge.to_minor("1\ud800", "EUR")
    assert money.value.param == "amount"


def test_the_clock_policy() -> None:
    """Signatures default to the wall clock (UNIX seconds); TTL structures to time.monotonic()."""
    fresh = payedge.sign_stripe(b"{}", SECRET, int(time.time()))
    assert payedge.verify_stripe(b"{}", fresh, SECRET) > 1_600_000_000  # judged at time.time()
    stale = payedge.sign_stripe(b"{}", SECRET, int(time.time()) - 3600)
    with pytest.raises(payedge.SignatureError) as err:
        payedge.verify_stripe(b"{}", stale, SECRET)
    assert err.value.code == "timestamp_outside_tolerance"
    with pytest.raises(payedge.SignatureError) as err:
        payedge.verify_stripe(b"{}", fresh, SECRET, now=time.time())  # type: ignore[arg-type]
    assert (err.value.code, err.value.param) == ("invalid_type", "now")
    before = time.monotonic()
    lease = payedge.TerminalQueue(["t"], lock_ttl=60)
    lease.enqueue("p", "u")
    got = lease.allocate("t")
    after = time.monotonic()
    assert got is not None and before + 60 <= got.expires_at <= after + 60
    locks = payedge.LeaseLocks(ttl=5)
    token = locks.acquire("k")
    assert token is not None
    assert locks.extend("k", token, now=time.monotonic())
    assert not locks.release("k", token, now=time.monotonic() + 3600)
