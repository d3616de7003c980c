"""Routing decisions from Python (SPEC 5, issue 10): `payedge.Router.decide` on the
20-rule example (docs/examples/routing-20-rules.json) with health enabled, against
the plain-Python evaluator of the same rules (tests/routing_reference.py) on the
same payments, in the same run.

Health enabled: outcomes recorded for four gateways (success-rate windows filled,
latencies kept, server_error failures in their buckets, circuits closed) and
orange_money's circuit open, so `decide` takes every path: priority, split, success rate (with a
lock and a score lookup per gateway), a skipped gateway, the default after 20 rules.
The Python evaluator does only the static part (no health at all).

Each benchmark call decides the same 100 payments (a mix over the rules, distinct
ids); figures are per decision (the call's median / 100). Targets: median <= 2 us
per decision, >= 20x the Python evaluator. `make bench-quick` (BENCH_QUICK=1)
asserts half the ratio and twice the time, as the other suites do.
"""

from __future__ import annotations

import copy
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import payedge
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK, RatioRecorder
from tests import routing_reference as reference

RULES: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "docs/examples/routing-20-rules.json").read_text()
)
N = 100
TARGET_MEDIAN_US = 2.0
TARGET_RATIO = 20.0

# (amount, currency, country, payment_method_type, metadata): the rule each one hits.
MIX: list[tuple[int, str, str | None, str | None, dict[str, str] | None]] = [
    (2_500, "EUR", "FR", "card", None),  # eur-cards (split), rule 17
    (4_999, "USD", "US", "card", None),  # usd-cards (success rate), rule 18
    (10_000, "XOF", "CI", "orange_money", None),  # ci-orange, orange_money's circuit open
    (15_000, "XAF", "CM", "mobile_money", None),  # cm-momo (success rate), rule 5
    (50, "EUR", "DE", "sepa_debit", None),  # micro, rule 20
    (300_000, "BRL", "BR", "pix", None),  # default after 20 rules
    (7_000, "GBP", "GB", "card", None),  # gbp-cards (split), rule 11
    (1_200, "EUR", "FR", "card", {"env": "test"}),  # test-traffic, rule 1
    (20_000, "EUR", "NL", "ideal", {"tier": "gold"}),  # gold-merchants (success rate), rule 13
    (250_000, "USD", "MX", None, None),  # default, no method
]
PAYMENTS: list[tuple[str, int, str, str | None, str | None, dict[str, str] | None]] = [
    (f"pay_{i:024x}", amount, currency, country, method, metadata)
    for i, (amount, currency, country, method, metadata) in enumerate(MIX * (N // len(MIX)))
]


def floor(target: float) -> float:
    return target / 2 if QUICK else target


def make_router() -> payedge.Router:
    rules = copy.deepcopy(RULES)
    # Keep the open circuit open for the whole run (an hour's leak interval for timeouts).
    rules["health"]["elimination"]["classes"] = {"timeout": {"leak_interval_seconds": 3600}}
    router = payedge.Router(rules)
    # Outcomes over the last 200 s, one a second: the server_error buckets leak
    # (one unit per 10 s) as fast as they fill, so those circuits stay closed.
    start = time.monotonic() - 200.0
    for i in range(200):
        for gateway, currency, method in [
            ("stripe", "USD", "card"),
            ("paypal", "USD", "card"),
            ("mtn_momo", "XAF", "mobile_money"),
            ("cinetpay", "XAF", "mobile_money"),
        ]:
            ok = i % 10 != 0 or gateway == "paypal"
            router.record(
                gateway,
                ok,
                failure_class=None if ok else "server_error",
                currency=currency,
                payment_method_type=method,
                latency_ms=100.0 + i % 50,
                now=start + i,
            )
    for _ in range(5):
        router.record("orange_money", False, failure_class="timeout")
    return router


ROUTER = make_router()


def run_payedge() -> int:
    decide = ROUTER.decide
    for payment_id, amount, currency, country, method, metadata in PAYMENTS:
        decide(payment_id, amount, currency, country=country, payment_method_type=method, metadata=metadata)
    return len(PAYMENTS)


def run_python() -> int:
    decide = reference.decide
    for payment_id, amount, currency, country, method, metadata in PAYMENTS:
        decide(
            RULES,
            payment_id,
            amount,
            currency,
            country=country,
            payment_method_type=method,
            metadata=metadata,
        )
    return len(PAYMENTS)


def kwargs(payment: tuple[str, int, str, str | None, str | None, dict[str, str] | None]) -> dict[str, Any]:
    _, _, _, country, method, metadata = payment
    return {"country": country, "payment_method_type": method, "metadata": metadata}


def test_the_mix_routes_as_described() -> None:
    rules = [ROUTER.decide(*p[:3], **kwargs(p)).rule for p in PAYMENTS[: len(MIX)]]
    assert rules == [
        "eur-cards",
        "usd-cards",
        "ci-orange",
        "cm-momo",
        "micro",
        "default",
        "gbp-cards",
        "test-traffic",
        "gold-merchants",
        "default",
    ]
    d = ROUTER.decide(*PAYMENTS[2][:3], **kwargs(PAYMENTS[2]))
    assert (d.gateways, d.skipped) == (["cinetpay"], {"orange_money": "circuit_open"})
    # Where health does not intervene, the static decision is the reference's.
    for p in PAYMENTS:
        got = ROUTER.decide(*p[:3], **kwargs(p))
        want = reference.decide(RULES, *p[:3], **kwargs(p))
        assert got.rule == want.rule
        if got.approach in ("priority", "split", "default") and not got.skipped:
            assert got.gateways == want.gateways


def test_decide_payedge(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    test_the_mix_routes_as_described()  # what is measured is what is described
    assert benchmark(run_payedge) == N
    ratios.record("Router.decide x100 (20 rules, health)", benchmark)
    assert benchmark.stats is not None
    median_us = benchmark.stats.stats.median / N * 1e6
    print(f"\nRouter.decide: {median_us:.3f} us per decision (median of calls of {N})")
    assert median_us <= (TARGET_MEDIAN_US * 2 if QUICK else TARGET_MEDIAN_US), median_us


def test_decide_python_reference(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    assert benchmark(run_python) == N
    ratios.record("python evaluator x100 (20 rules)", benchmark)
    assert benchmark.stats is not None
    median_us = benchmark.stats.stats.median / N * 1e6
    print(f"\npython evaluator: {median_us:.3f} us per decision (median of calls of {N})")
    ratio = ratios.ratio("Router.decide x100 (20 rules, health)", "python evaluator x100 (20 rules)")
    assert ratio is not None


def test_interleaved_ratio(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    """Both, round-robin in a shuffled order each round: the asserted ratio is the
    median of same-round ratios (adjacent runs share the machine's load)."""
    rounds = 15 if QUICK else 51
    times: dict[str, list[float]] = {"payedge": [], "python": []}
    runs = {"payedge": run_payedge, "python": run_python}
    order = list(runs)
    rng = random.Random(10)

    def round_robin() -> None:
        for _ in range(rounds):
            rng.shuffle(order)
            for name in order:
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)

    benchmark.pedantic(round_robin, rounds=1, iterations=1)  # type: ignore[no-untyped-call]
    paired = statistics.median(p / f for f, p in zip(times["payedge"], times["python"], strict=True))
    fast = statistics.median(times["payedge"]) / N * 1e6
    slow = statistics.median(times["python"]) / N * 1e6
    line = (
        f"Router.decide vs python evaluator (20 rules): {paired:.1f}x "
        f"(median of {rounds} same-round ratios; {fast:.3f} us vs {slow:.3f} us per decision)"
    )
    ratios.lines.append(line)
    print("\n" + line)
    assert paired >= floor(TARGET_RATIO), paired


# -- the server's plan: the decision narrowed to what the configured connectors can take --------

CREDENTIALS = [
    *("--stripe-api-key", "sk_test_BenchRouting1", "--api-key", "pek_BenchRouting1"),
    *("--paypal-client-id", "id", "--paypal-client-secret", "secret"),
    *("--cinetpay-apikey", "key", "--cinetpay-site-id", "1", "--cinetpay-secret-key", "secret"),
    *("--mtn-momo-subscription-key", "sub", "--mtn-momo-api-user", "user", "--mtn-momo-api-key", "key"),
    *(
        "--orange-money-client-id",
        "id",
        "--orange-money-client-secret",
        "s",
        "--orange-money-merchant-key",
        "m",
    ),
]


def make_routing(tmp: Path) -> Any:
    """payedge_server's Routing on the same rules and health, with every connector configured."""
    from payedge_server.app import build_gateways
    from payedge_server.config import load
    from payedge_server.routing.router import Routing
    from payedge_server.store import open_store

    loaded = load([*CREDENTIALS, "--data-dir", str(tmp)], {})
    assert loaded.config is not None, loaded.problems
    routing = Routing(json.dumps(RULES), build_gateways(loaded.config, open_store(f"sqlite:///{tmp}/x.db")))
    routing.router = ROUTER  # the same health as the decide benchmark
    return routing


def test_server_plan(benchmark: BenchmarkFixture, ratios: RatioRecorder, tmp_path: Path) -> None:
    """What routing costs the server per payment beyond `decide`: `Routing.preview` (simulate, then
    each gateway's exact-amount and payment-method checks). Reported beside `decide`."""
    routing = make_routing(tmp_path)
    preview = routing.preview

    def run() -> int:
        for payment_id, amount, currency, country, method, metadata in PAYMENTS:
            preview(
                payment_id, amount, currency, country=country, payment_method_type=method, metadata=metadata
            )
        return len(PAYMENTS)

    assert benchmark(run) == N
    ratios.record("server plan x100 (decide + narrowing)", benchmark)
    assert benchmark.stats is not None
    median_us = benchmark.stats.stats.median / N * 1e6
    print(f"\nserver plan (Router.simulate + narrowing on the connectors): {median_us:.3f} us per payment")
    assert median_us <= (40.0 if QUICK else 20.0), median_us  # well under a store write's cost
