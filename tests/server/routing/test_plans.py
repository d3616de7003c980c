"""Routing's plans in process, on the real connectors (their own amount and payment-method checks):
a simulation equals the decision a confirm gets and has no effect; a gateway that cannot take
the payment is left out with the reason; the probe of a left-out gateway is not kept.

Random rule sets (tests/test_routing_differential.py's strategies), random payments, and
random health: some gateways' circuits open, some half-open (their failures recorded a
leak interval ago).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.app import build_gateways
from payedge_server.config import load
from payedge_server.errors import DomainError
from payedge_server.gateways.base import Gateway
from payedge_server.routing.router import METHOD_NOT_ACCEPTED, NOT_CONFIGURED, Routing
from payedge_server.store import open_store

from tests.test_routing_differential import GATEWAYS, rule_sets

pytestmark = pytest.mark.sqlite_only  # no store is opened: the connectors only check amounts here

CREDENTIALS = [
    *("--stripe-api-key", "sk_test_RoutingPlans1"),
    *("--paypal-client-id", "id", "--paypal-client-secret", "secret"),
    *("--cinetpay-apikey", "key", "--cinetpay-site-id", "1", "--cinetpay-secret-key", "secret"),
    *("--mtn-momo-subscription-key", "sub", "--mtn-momo-api-user", "user", "--mtn-momo-api-key", "key"),
    *("--mtn-momo-target-environment", "mtnivorycoast"),
    *(
        "--orange-money-client-id",
        "id",
        "--orange-money-client-secret",
        "s",
        "--orange-money-merchant-key",
        "m",
    ),
    *("--orange-money-country", "ci", "--api-key", "pek_RoutingPlans1"),
]
METHODS = ["pm_sandbox_ok", "pm_card_visa", "paypal", "msisdn:2250500000001", "orange_money", "cinetpay"]
CURRENCIES = ["EUR", "XOF", "USD", "JPY", "XAF"]


def gateways(tmp: Path, without: tuple[str, ...] = ()) -> dict[str, Gateway]:
    loaded = load([*CREDENTIALS, "--data-dir", str(tmp)], {})
    assert loaded.config is not None, loaded.problems
    built = build_gateways(loaded.config, open_store(f"sqlite:///{tmp}/unused.sqlite3"))
    return {name: gw for name, gw in built.items() if name not in without}


@st.composite
def payments(draw: st.DrawFn) -> dict[str, Any]:
    metadata = {k: draw(st.sampled_from(["EUR", "CI", "card", "gold"])) for k in draw(
        st.lists(st.sampled_from(["tier", "channel", "country"]), unique=True)
    )}  # fmt: skip
    return {
        "payment_id": "pay_" + draw(st.text("0123456789abcdef", min_size=24, max_size=24)),
        "amount": draw(st.sampled_from([1, 5, 100, 101, 2500, 9155])),
        "currency": draw(st.sampled_from(CURRENCIES)),
        "payment_method": draw(st.sampled_from(METHODS)),
        "metadata": metadata,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Gateway]:
    return gateways(tmp_path_factory.mktemp("plans"), without=("orange_money",))


@settings(max_examples=150, deadline=None)
@given(
    doc=rule_sets(),
    batch=st.lists(payments(), min_size=1, max_size=6),
    open_=st.sets(st.sampled_from(GATEWAYS)),
    half=st.sets(st.sampled_from(GATEWAYS)),
)
def test_a_simulation_is_the_decision_and_changes_nothing(
    built: dict[str, Gateway],
    doc: dict[str, Any],
    batch: list[dict[str, Any]],
    open_: set[str],
    half: set[str],
) -> None:
    routing = Routing(json.dumps(doc), built, warn=False)
    now = time.monotonic()
    for names, at in ((open_, now), (half - open_, now - 100.0)):
        for g in names & routing.named:
            for _ in range(5):  # the default bucket_size
                routing.router.record(g, False, failure_class="unavailable", now=at)
        routing.router.health(now=at)  # the circuits trip when they are seen full
    for p in batch:
        pid, amount, currency, pm, metadata = p.values()
        fields = {"payment_method": pm, "country": metadata.get("country"), "metadata": metadata}
        seen = routing.preview(pid, amount, currency, **fields)
        in_flight = {g: h["probe_in_flight"] for g, h in routing.router.health().items()}
        assert routing.preview(pid, amount, currency, **fields) == seen  # no effect
        assert {g: h["probe_in_flight"] for g, h in routing.router.health().items()} == in_flight
        for g in seen.gateways:
            assert routing.refusal(g, amount, currency, pm) is None
        for g, why in seen.skipped.items():
            assert why in ("circuit_open", "probe_in_flight", "half_open") or why == routing.refusal(
                g, amount, currency, pm
            )
        if not seen.gateways:
            with pytest.raises(DomainError):
                routing.plan(pid, amount, currency, pm, metadata)
            continue
        assert routing.plan(pid, amount, currency, pm, metadata) == seen
        if seen.probe is not None:
            assert routing.router.health()[seen.probe]["probe_in_flight"] is True
            routing.router.release_probe(seen.probe)


def test_reasons_a_gateway_is_left_out(tmp_path: Path) -> None:
    rules = {"default": {"gateways": ["orange_money", "cinetpay", "mtn_momo", "stripe", "sandbox"]}}
    routing = Routing(json.dumps(rules), gateways(tmp_path, without=("orange_money",)), warn=False)
    plan = routing.preview("pay_x", 5001, "XOF", payment_method="msisdn:2250500000001")
    assert plan.gateways == ("mtn_momo",)
    assert plan.skipped == {
        "orange_money": NOT_CONFIGURED,
        "cinetpay": "amount_not_representable",  # XOF: multiples of 5 at CinetPay
        "stripe": METHOD_NOT_ACCEPTED,
        "sandbox": METHOD_NOT_ACCEPTED,
    }
    assert routing.preview("pay_x", 100, "EUR", payment_method="msisdn:1").skipped["mtn_momo"] == (
        "currency_not_supported"
    )
    with pytest.raises(DomainError) as refused:
        routing.plan("pay_x", 5000, "XOF", "paypal", {})
    assert (refused.value.code, refused.value.param) == ("payment_method_invalid", "payment_method")
    with pytest.raises(DomainError) as refused:
        routing.provisional("pay_x", 100, "SEK", payment_method="msisdn:1")
    assert refused.value.code == "currency_not_supported"


def test_without_rules_health_is_kept_for_every_configured_gateway(tmp_path: Path) -> None:
    built = gateways(tmp_path)
    routing = Routing(None, built)
    assert not routing.routes and routing.named == frozenset(built)
    only = {"default": {"gateways": ["stripe"]}}
    with_rules = Routing(json.dumps(only), built)
    assert with_rules.ruled == {"stripe"} and with_rules.named == frozenset(built)  # health for all
    assert with_rules.preview("p", 100, "EUR").gateways == ("stripe",)  # the health-only rule never matches
