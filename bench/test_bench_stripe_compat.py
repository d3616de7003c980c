"""payedge.stripe_compat against stripe-python on a realistic 1 KB event, same run (issue 14).

Target: `stripe_compat.construct_event` >= 20x `stripe.Webhook.construct_event`,
each followed by what a webhook handler typically reads (`event.id`,
`event.type`, `event.data.object.amount`, `.currency` and a metadata value).
`make bench-quick` (BENCH_QUICK=1) asserts half. Both run with their defaults:
tolerance 300 s on the wall clock, one secret.
"""

from __future__ import annotations

import time
from typing import Any

import payedge
import stripe
from payedge import stripe_compat
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import QUICK, RatioRecorder
from tests.support.stripe_events import ONE_KB_EVENT, SECRET


def floor(target: float) -> float:
    """The ratio to assert: the issue's target, or half of it in the quick CI pass."""
    return target / 2 if QUICK else target


def fresh_header() -> str:
    return payedge.sign_stripe(ONE_KB_EVENT, SECRET, int(time.time()))


def typical_reads(event: Any) -> tuple[object, ...]:
    """What a payment webhook handler reads from the event."""
    obj = event.data.object
    return event.id, event.type, obj.amount, obj.currency, obj.metadata["order_id"]


EXPECTED = ("evt_3PqRsTuVwXyZ0123abcdEFGH", "payment_intent.succeeded", 2000, "eur", "ord_8812")


def test_construct_event_payedge(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    header = fresh_header()

    def construct_and_read() -> tuple[object, ...]:
        return typical_reads(stripe_compat.construct_event(ONE_KB_EVENT, header, SECRET))

    # the first read of a payment_intent imports stripe-python's class for it (once per
    # process): keep that out of pytest-benchmark's calibration
    construct_and_read()
    assert benchmark(construct_and_read) == EXPECTED
    ratios.record("construct_event[payedge.stripe_compat]", benchmark)


def test_construct_event_stripe(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    header = fresh_header()

    def construct_and_read() -> tuple[object, ...]:
        return typical_reads(stripe.Webhook.construct_event(ONE_KB_EVENT, header, SECRET))

    construct_and_read()  # the same first-call imports, on stripe-python's side
    assert benchmark(construct_and_read) == EXPECTED
    ratios.record("construct_event[stripe]", benchmark)
    ratio = ratios.ratio("construct_event[payedge.stripe_compat]", "construct_event[stripe]")
    assert ratio is not None and ratio >= floor(20.0), ratio


def test_verify_header_payedge(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    header = fresh_header()
    assert benchmark(stripe_compat.verify_header, ONE_KB_EVENT, header, SECRET, 300) is True
    ratios.record("verify_header[payedge.stripe_compat]", benchmark)


def test_verify_header_stripe(benchmark: BenchmarkFixture, ratios: RatioRecorder) -> None:
    header = fresh_header()
    assert benchmark(stripe.WebhookSignature.verify_header, ONE_KB_EVENT, header, SECRET, 300) is True
    ratios.record("verify_header[stripe]", benchmark)
    ratio = ratios.ratio("verify_header[payedge.stripe_compat]", "verify_header[stripe]")
    # no target in the issue; it must at least not lose to stripe-python's hashlib pipeline
    assert ratio is not None and ratio >= floor(2.0), ratio
