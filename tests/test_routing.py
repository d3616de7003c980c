"""payedge.Router (SPEC 5): worked examples, every way a rules document can be
wrong (with its JSON path), bad arguments, split shares, and gateway health
(elimination buckets, the one half-open probe, success rates, latency, sharing
between instances) driven by an explicit `now`."""

from __future__ import annotations

import copy
import json
import threading
import tomllib
import types
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import payedge
import pytest
from payedge import InvalidArgumentError, PayedgeError, Router, RoutingError

from tests import routing_reference as reference

EXAMPLE: dict[str, Any] = {
    "rules": [
        {
            "name": "big-eur",
            "when": [
                {"field": "currency", "op": "eq", "value": "EUR"},
                {"field": "amount", "op": "ge", "value": 1000},
            ],
            "then": {"gateways": ["stripe", "paypal"]},
        },
        {
            "name": "momo",
            "when": [{"field": "country", "op": "in", "value": ["CI", "SN"]}],
            "then": {"split": {"cinetpay": 70, "orange_money": 30}},
        },
        {
            "name": "vip",
            "when": [{"field": "metadata.tier", "op": "eq", "value": "gold"}],
            "then": {"success_rate": ["stripe", "paypal"]},
        },
    ],
    "default": {"gateways": ["stripe"]},
}

TWENTY_RULES: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "docs/examples/routing-20-rules.json").read_text()
)


def test_worked_examples() -> None:
    router = Router(EXAMPLE)
    assert router.gateways == ("stripe", "paypal", "cinetpay", "orange_money")
    assert router.rule_names == ("big-eur", "momo", "vip")
    assert router.metadata_keys == ("tier",)

    d = router.decide("pay_1", 1000, "EUR")
    assert (d.gateways, d.rule, d.approach, d.skipped, d.probe, d.hedged) == (
        ["stripe", "paypal"],
        "big-eur",
        "priority",
        {},
        None,
        False,
    )
    # 999 is not >= 1000; "eur" is not "EUR" (exact, case-sensitive).
    assert router.decide("pay_1", 999, "EUR").rule == "default"
    assert router.decide("pay_1", 5000, "eur").rule == "default"
    d = router.decide("pay_2", 5000, "XOF", country="SN")
    assert d.approach == "split" and sorted(d.gateways) == ["cinetpay", "orange_money"]
    assert router.decide("pay_3", 5, "USD", metadata={"tier": "gold"}).approach == "success_rate"
    assert router.decide("pay_3", 5, "USD", metadata={"tier": None}).rule == "default"
    assert repr(router.decide("pay_1", 1000, "EUR")) == (
        "Decision(gateways=['stripe', 'paypal'], rule='big-eur', approach='priority', "
        "skipped={}, probe=None, hedged=False)"
    )


def test_docs_example_and_twenty_rules_match_the_reference() -> None:
    router = Router(TWENTY_RULES)
    assert len(router.rule_names) == 20
    cases: list[tuple[int, str, str | None, str | None, dict[str, str]]] = [
        (2500, "EUR", "FR", "card", {}),
        (600_000, "EUR", "FR", "card", {}),
        (10_000, "XOF", "CI", "orange_money", {}),
        (15_000, "XAF", "CM", "mobile_money", {}),
        (50, "EUR", "DE", "sepa_debit", {}),
        (300_000, "BRL", "BR", "pix", {}),
        (1200, "EUR", "FR", "card", {"env": "test"}),
        (20_000, "EUR", "NL", "ideal", {"tier": "gold"}),
    ]
    for i, (amount, currency, country, method, metadata) in enumerate(cases):
        got = router.decide(
            f"pay_{i}", amount, currency, country=country, payment_method_type=method, metadata=metadata
        )
        want = reference.decide(
            TWENTY_RULES,
            f"pay_{i}",
            amount,
            currency,
            country=country,
            payment_method_type=method,
            metadata=metadata,
        )
        assert (got.gateways, got.rule, got.approach) == (want.gateways, want.rule, want.approach)


def test_split_shares_over_100000_ids() -> None:
    router = Router(
        {
            "rules": [{"name": "ab", "when": [], "then": {"split": {"a": 70, "b": 30}}}],
            "default": {"gateways": ["a"]},
        }
    )
    n = 100_000
    firsts = [router.decide(f"pay_{i:024x}", 100, "EUR").gateways[0] for i in range(n)]
    share = firsts.count("a") / n
    assert abs(share - 0.70) <= 0.01, share
    # Deterministic in the payment id: another router, the same picks.
    other = Router(
        json.dumps(
            {
                "rules": [{"name": "ab", "when": [], "then": {"split": {"a": 70, "b": 30}}}],
                "default": {"gateways": ["a"]},
            }
        )
    )
    assert [other.decide(f"pay_{i:024x}", 100, "EUR").gateways[0] for i in range(1000)] == firsts[:1000]


def test_toml_routing_table() -> None:
    config = tomllib.loads(
        """
[routing]
default = { gateways = ["stripe", "paypal"] }

[[routing.rules]]
name = "west-africa"
when = [
    { field = "country", op = "in", value = ["CI", "SN"] },
    { field = "amount", op = "between", value = [100, 500000] },
]
then = { split = { cinetpay = 60, orange_money = 40 } }

[routing.health.elimination]
bucket_size = 3
"""
    )
    router = Router(config["routing"])
    assert router.decide("p", 100, "XOF", country="CI").approach == "split"
    assert router.decide("p", 99, "XOF", country="CI").rule == "default"
    # A TOML date has no JSON form: the error names the document root.
    with pytest.raises(RoutingError) as info:
        Router({**config["routing"], "health": {"peer_ttl_seconds": datetime(2024, 1, 1)}})
    assert info.value.param == "$"


# ---------------------------------------------------------------- bad documents

Mutation = Callable[[dict[str, Any]], object]


def setter(*path_and_value: Any) -> Mutation:
    *path, value = path_and_value

    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def deleter(*path: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        for m in mutations:
            m(doc)

    return mutate


def between(value: Any) -> Mutation:
    return both(setter(*C1, "op", "between"), setter(*C1, "value", value))


C0 = ("rules", 0, "when", 0)  # currency eq EUR
C1 = ("rules", 0, "when", 1)  # amount ge 1000
M0 = ("rules", 1, "when", 0)  # country in [CI, SN]

BAD: list[tuple[str, Mutation, str]] = [
    # the document
    ("unknown top-level field", setter("rule", []), "$.rule"),
    ("missing default", deleter("default"), "$.default"),
    ("default null", setter("default", None), "$.default"),
    ("default not an object", setter("default", "stripe"), "$.default"),
    ("default is a split", setter("default", {"split": {"stripe": 100}}), "$.default.split"),
    ("default without gateways", setter("default", {}), "$.default.gateways"),
    ("default gateways empty", setter("default", "gateways", []), "$.default.gateways"),
    ("default gateway not a str", setter("default", "gateways", [1]), "$.default.gateways[0]"),
    ("default gateway empty", setter("default", "gateways", [""]), "$.default.gateways[0]"),
    ("default gateway twice", setter("default", "gateways", ["a", "a"]), "$.default.gateways[1]"),
    ("rules not a list", setter("rules", {}), "$.rules"),
    ("rule not an object", setter("rules", 1, "momo"), "$.rules[1]"),
    ("rule unknown field", setter("rules", 0, "if", []), "$.rules[0].if"),
    # names
    ("name missing", deleter("rules", 0, "name"), "$.rules[0].name"),
    ("name not a str", setter("rules", 0, "name", 3), "$.rules[0].name"),
    ("name empty", setter("rules", 0, "name", ""), "$.rules[0].name"),
    ("name reserved", setter("rules", 2, "name", "default"), "$.rules[2].name"),
    ("duplicate names", setter("rules", 2, "name", "big-eur"), "$.rules[2].name"),
    # when and conditions
    ("when missing", deleter("rules", 0, "when"), "$.rules[0].when"),
    ("when not a list", setter("rules", 0, "when", {}), "$.rules[0].when"),
    ("condition not an object", setter("rules", 0, "when", 0, "currency=EUR"), "$.rules[0].when[0]"),
    ("condition unknown key", setter(*C0, "operator", "eq"), "$.rules[0].when[0].operator"),
    ("field missing", deleter(*C0, "field"), "$.rules[0].when[0].field"),
    ("op missing", deleter(*C0, "op"), "$.rules[0].when[0].op"),
    ("value missing", deleter(*C0, "value"), "$.rules[0].when[0].value"),
    ("field not a str", setter(*C0, "field", 1), "$.rules[0].when[0].field"),
    ("field unknown", setter(*C0, "field", "amount_cents"), "$.rules[0].when[0].field"),
    ("field wrong case", setter(*C0, "field", "Currency"), "$.rules[0].when[0].field"),
    ("metadata without key", setter(*C0, "field", "metadata."), "$.rules[0].when[0].field"),
    ("op unknown", setter(*C0, "op", "like"), "$.rules[0].when[0].op"),
    ("op wrong case", setter(*C0, "op", "EQ"), "$.rules[0].when[0].op"),
    ("op not a str", setter(*C0, "op", None), "$.rules[0].when[0].op"),
    ("lt on a text field", setter(*C0, "op", "lt"), "$.rules[0].when[0].op"),
    ("ge on metadata", setter("rules", 2, "when", 0, "op", "ge"), "$.rules[2].when[0].op"),
    ("between on country", setter(*M0, "op", "between"), "$.rules[1].when[0].op"),
    ("text eq a number", setter(*C0, "value", 978), "$.rules[0].when[0].value"),
    ("text eq a list", setter(*C0, "value", ["EUR"]), "$.rules[0].when[0].value"),
    ("amount as a string", setter(*C1, "value", "1000"), "$.rules[0].when[1].value"),
    ("amount as a float", setter(*C1, "value", 10.5), "$.rules[0].when[1].value"),
    ("amount written 1000.0", setter(*C1, "value", 1000.0), "$.rules[0].when[1].value"),
    ("amount negative", setter(*C1, "value", -1), "$.rules[0].when[1].value"),
    ("amount a bool", setter(*C1, "value", True), "$.rules[0].when[1].value"),
    ("amount beyond 64 bits", setter(*C1, "value", 2**63), "$.rules[0].when[1].value"),
    ("between a scalar", between(1000), "$.rules[0].when[1].value"),
    ("between a str", between("1..5"), "$.rules[0].when[1].value"),
    ("between one bound", between([1]), "$.rules[0].when[1].value"),
    ("between three bounds", between([1, 2, 3]), "$.rules[0].when[1].value"),
    ("between lo above hi", between([5, 1]), "$.rules[0].when[1].value"),
    ("between a str bound", between([1, "9"]), "$.rules[0].when[1].value[1]"),
    ("between a float bound", between([1.5, 9]), "$.rules[0].when[1].value[0]"),
    ("in empty", setter(*M0, "value", []), "$.rules[1].when[0].value"),
    ("in a scalar", setter(*M0, "value", "CI"), "$.rules[1].when[0].value"),
    ("in with a number", setter(*M0, "value", ["CI", 225]), "$.rules[1].when[0].value[1]"),
    ("not_in empty", both(setter(*M0, "op", "not_in"), setter(*M0, "value", [])), "$.rules[1].when[0].value"),
    (
        "not_in a scalar",
        both(setter(*M0, "op", "not_in"), setter(*M0, "value", "CI")),
        "$.rules[1].when[0].value",
    ),
    # then
    ("then missing", deleter("rules", 0, "then"), "$.rules[0].then"),
    ("then empty", setter("rules", 0, "then", {}), "$.rules[0].then"),
    ("then two forms", setter("rules", 0, "then", "success_rate", ["stripe"]), "$.rules[0].then"),
    ("then unknown form", setter("rules", 0, "then", {"priority": ["stripe"]}), "$.rules[0].then.priority"),
    ("gateways empty", setter("rules", 0, "then", "gateways", []), "$.rules[0].then.gateways"),
    (
        "gateways twice",
        setter("rules", 0, "then", "gateways", ["stripe", "stripe"]),
        "$.rules[0].then.gateways[1]",
    ),
    ("gateways a str", setter("rules", 0, "then", "gateways", "stripe"), "$.rules[0].then.gateways"),
    ("split sums to 90", setter("rules", 1, "then", "split", "cinetpay", 60), "$.rules[1].then.split"),
    ("split sums to 110", setter("rules", 1, "then", "split", "cinetpay", 80), "$.rules[1].then.split"),
    (
        "split weight 0",
        setter("rules", 1, "then", "split", {"cinetpay": 0, "orange_money": 100}),
        "$.rules[1].then.split.cinetpay",
    ),
    (
        "split weight 101",
        setter("rules", 1, "then", "split", "cinetpay", 101),
        "$.rules[1].then.split.cinetpay",
    ),
    (
        "split weight float",
        setter("rules", 1, "then", "split", "cinetpay", 70.0),
        "$.rules[1].then.split.cinetpay",
    ),
    (
        "split weight str",
        setter("rules", 1, "then", "split", "cinetpay", "70"),
        "$.rules[1].then.split.cinetpay",
    ),
    ("split empty", setter("rules", 1, "then", "split", {}), "$.rules[1].then.split"),
    ("split a list", setter("rules", 1, "then", "split", ["cinetpay"]), "$.rules[1].then.split"),
    ("split gateway empty", setter("rules", 1, "then", "split", {"": 100}), '$.rules[1].then.split[""]'),
    ("success_rate empty", setter("rules", 2, "then", "success_rate", []), "$.rules[2].then.success_rate"),
    # health
    ("health unknown field", setter("health", {"circuit": {}}), "$.health.circuit"),
    (
        "bucket_size 0",
        setter("health", {"elimination": {"bucket_size": 0}}),
        "$.health.elimination.bucket_size",
    ),
    (
        "leak interval 0",
        setter("health", {"elimination": {"leak_interval_seconds": 0}}),
        "$.health.elimination.leak_interval_seconds",
    ),
    (
        "probe timeout a str",
        setter("health", {"elimination": {"probe_timeout_seconds": "30s"}}),
        "$.health.elimination.probe_timeout_seconds",
    ),
    (
        "class bucket_size a str",
        setter("health", {"elimination": {"classes": {"timeout": {"bucket_size": "3"}}}}),
        "$.health.elimination.classes.timeout.bucket_size",
    ),
    ("window 0", setter("health", {"success_rate": {"window": 0}}), "$.health.success_rate.window"),
    (
        "min_samples above window",
        setter("health", {"success_rate": {"window": 5, "min_samples": 6}}),
        "$.health.success_rate.min_samples",
    ),
    (
        "hedging 60 %",
        setter("health", {"success_rate": {"hedging_percent": 60}}),
        "$.health.success_rate.hedging_percent",
    ),
    ("latency window 0", setter("health", {"latency_window": 0}), "$.health.latency_window"),
    ("peer ttl negative", setter("health", {"peer_ttl_seconds": -1}), "$.health.peer_ttl_seconds"),
]


def _bad_doc(mutate: Mutation) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    mutate(doc)
    return doc


@pytest.mark.parametrize(("mutate", "path"), [(m, p) for _, m, p in BAD], ids=[name for name, _, _ in BAD])
def test_bad_rules_name_the_json_path(mutate: Mutation, path: str) -> None:
    doc = _bad_doc(mutate)
    for rules in (doc, json.dumps(doc), json.dumps(doc).encode()):
        with pytest.raises(RoutingError) as info:
            Router(rules)
        err = info.value
        assert (err.param, err.code) == (path, "invalid_routing_rules"), str(err)
        assert isinstance(err, PayedgeError) and isinstance(err, ValueError)
        assert str(err).startswith(path + ": ")


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ("[]", "$"),
        ('{"default": ', "$"),
        (b"\xff", "$"),
        ('{"default": {"gateways": ["a"]}, "default": {"gateways": ["b"]}}', "$.default"),
        (
            '{"rules": [{"name": "s", "when": [], "then": {"split": {"a": 50, "a": 50}}}],'
            ' "default": {"gateways": ["a"]}}',
            "$.rules[0].then.split.a",
        ),
        (42, "$"),
        (["default"], "$"),
    ],
)
def test_bad_rules_text_and_types(rules: Any, path: str) -> None:
    with pytest.raises(RoutingError) as info:
        Router(rules)
    assert info.value.param == path


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"payment_id": 1}, "payment_id"),
        ({"payment_id": ""}, "payment_id"),
        ({"amount": 10.0}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": 2**64}, "amount"),
        ({"currency": None}, "currency"),
        ({"country": 250}, "country"),
        ({"payment_method_type": b"card"}, "payment_method_type"),
        ({"metadata": ["tier", "gold"]}, "metadata"),
        ({"metadata": {"tier": 1}}, "metadata.tier"),
        ({"now": "soon"}, "now"),
        ({"now": float("nan")}, "now"),
    ],
)
def test_decide_rejects_bad_arguments(kwargs: dict[str, Any], param: str) -> None:
    args: dict[str, Any] = {"payment_id": "p", "amount": 100, "currency": "EUR", **kwargs}
    for method in (Router(EXAMPLE).decide, Router(EXAMPLE).simulate):
        with pytest.raises(InvalidArgumentError) as info:
            method(**args)
        assert info.value.param == param


def test_metadata_any_mapping_and_unread_keys_ignored() -> None:
    router = Router(EXAMPLE)
    proxy: Mapping[str, Any] = types.MappingProxyType({"tier": "gold", "other": 1})
    assert router.decide("p", 1, "USD", metadata=proxy).rule == "vip"
    # Keys the rules do not read are never looked at, whatever their type.
    unread: Mapping[str, Any] = {"other": object()}
    assert router.decide("p", 1, "USD", metadata=unread).rule == "default"


@pytest.mark.parametrize(
    ("args", "kwargs", "param"),
    [
        (("nope", True), {}, "gateway"),
        (("stripe", 1), {}, "ok"),
        (("stripe", True), {"failure_class": "timeout"}, "failure_class"),
        (("stripe", False), {"failure_class": ""}, "failure_class"),
        (("stripe", True), {"latency_ms": -1}, "latency_ms"),
        (("stripe", True), {"latency_ms": "12"}, "latency_ms"),
        (("stripe", True), {"latency_ms": float("inf")}, "latency_ms"),
        (("stripe", True), {"currency": 978}, "currency"),
        (("stripe", True), {"now": float("nan")}, "now"),
    ],
)
def test_record_rejects_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Router(EXAMPLE).record(*args, **kwargs)
    assert info.value.param == param


def test_merge_rejects_what_is_not_an_export() -> None:
    router = Router(EXAMPLE)
    bad: Any
    for bad in (
        {"version": 2, "gateways": {}},
        {"gateways": {}},
        "not json",
        {"version": 1, "gateways": {"stripe": {"buckets": {"t": {"level": -1, "epoch": 0}}}}},
    ):
        with pytest.raises(InvalidArgumentError) as info:
            router.merge_health("peer", bad, now=0)
        assert info.value.param == "snapshot"
    with pytest.raises(InvalidArgumentError):
        router.merge_health("", {"version": 1, "gateways": {}}, now=0)


# ---------------------------------------------------------------- health


def breaker(size: int = 3, leak: float = 10.0, probe_timeout: float = 30.0) -> Router:
    return Router(
        {
            "default": {"gateways": ["stripe", "paypal"]},
            "health": {
                "elimination": {
                    "bucket_size": size,
                    "leak_interval_seconds": leak,
                    "probe_timeout_seconds": probe_timeout,
                }
            },
        }
    )


def test_circuit_opens_half_opens_with_one_probe_and_closes() -> None:
    router = breaker(size=3, leak=10.0)
    for _ in range(2):
        router.record("stripe", False, failure_class="timeout", now=100.0)
    router.record("stripe", False, now=100.0)  # a decline: no bucket
    assert router.decide("p", 1, "EUR", now=100.0).gateways == ["stripe", "paypal"]
    router.record("stripe", False, failure_class="timeout", now=101.0)  # full: open
    d = router.decide("p", 1, "EUR", now=101.0)
    assert (d.gateways, d.skipped, d.probe) == (["paypal"], {"stripe": "circuit_open"}, None)
    assert router.health(now=110.9)["stripe"]["circuit"] == "open"
    # One leak interval after opening: half-open, exactly one payment probes.
    first = router.decide("p1", 1, "EUR", now=111.0)
    assert (first.gateways, first.probe) == (["stripe", "paypal"], "stripe")
    for i in range(5):
        d = router.decide(f"p{i + 2}", 1, "EUR", now=111.0)
        assert (d.gateways, d.skipped, d.probe) == (["paypal"], {"stripe": "probe_in_flight"}, None)
    health = router.health(now=111.0)["stripe"]
    assert (health["circuit"], health["probe_in_flight"]) == ("half_open", True)
    assert health["buckets"]["timeout"] == {
        "level": 2,
        "size": 3,
        "state": "half_open",
        "leak_interval_seconds": 10.0,
    }
    router.record("stripe", True, now=112.0)
    d = router.decide("p", 1, "EUR", now=112.0)
    assert (d.gateways, d.skipped, d.probe) == (["stripe", "paypal"], {}, None)
    assert router.health(now=112.0)["stripe"]["buckets"]["timeout"]["level"] == 0


def test_a_failed_probe_reopens_and_an_unanswered_one_times_out() -> None:
    router = breaker(size=1, leak=5.0, probe_timeout=20.0)
    router.record("stripe", False, failure_class="server_error", now=0.0)
    assert router.decide("p", 1, "EUR", now=5.0).probe == "stripe"
    router.record("stripe", False, failure_class="server_error", now=6.0)
    assert router.decide("p", 1, "EUR", now=10.9).skipped == {"stripe": "circuit_open"}
    assert router.decide("p", 1, "EUR", now=11.0).probe == "stripe"
    # Nobody records: the probe is given up after probe_timeout_seconds.
    assert router.decide("p", 1, "EUR", now=30.9).skipped == {"stripe": "probe_in_flight"}
    assert router.decide("p", 1, "EUR", now=31.0).probe == "stripe"
    assert router.release_probe("stripe") is True
    assert router.release_probe("stripe") is False
    assert router.decide("p", 1, "EUR", now=31.0).probe == "stripe"


def test_simulate_is_decide_without_taking_the_probe() -> None:
    router = breaker(size=1, leak=5.0)
    router.record("stripe", False, failure_class="server_error", now=0.0)
    for now in (1.0, 5.0, 5.0, 5.0):  # open, then half-open: nothing taken by simulations
        s = router.simulate("p", 1, "EUR", now=now)
        assert router.health(now=now)["stripe"]["probe_in_flight"] is False
    assert (s.gateways, s.skipped, s.probe) == (["stripe", "paypal"], {}, "stripe")
    d = router.decide("p", 1, "EUR", now=5.0)
    assert (d.gateways, d.skipped, d.probe) == (s.gateways, s.skipped, s.probe)
    # The probe is out: simulations see what later decisions see, and take nothing either.
    s, d = router.simulate("q", 1, "EUR", now=5.0), router.decide("q", 1, "EUR", now=5.0)
    assert (
        (s.gateways, s.skipped, s.probe)
        == (d.gateways, d.skipped, d.probe)
        == (
            ["paypal"],
            {"stripe": "probe_in_flight"},
            None,
        )
    )


def test_all_circuits_open_falls_back_to_the_whole_list() -> None:
    router = breaker(size=1)
    router.record("stripe", False, failure_class="timeout", now=0.0)
    router.record("paypal", False, failure_class="timeout", now=0.0)
    d = router.decide("p", 1, "EUR", now=1.0)
    assert d.gateways == ["stripe", "paypal"]
    assert d.skipped == {"stripe": "circuit_open", "paypal": "circuit_open"}


def test_success_rate_ordering_and_health_view() -> None:
    router = Router(
        {
            "rules": [{"name": "sr", "when": [], "then": {"success_rate": ["stripe", "paypal"]}}],
            "default": {"gateways": ["stripe"]},
            "health": {"success_rate": {"window": 10, "min_samples": 4, "hedging_percent": 0}},
        }
    )
    for i in range(10):
        router.record(
            "stripe", i % 2 == 0, currency="EUR", payment_method_type="card", latency_ms=100 + i, now=0
        )
        router.record("paypal", i != 0, currency="EUR", payment_method_type="card", latency_ms=300, now=0)
    d = router.decide("p", 1, "EUR", payment_method_type="card", now=0)
    assert (d.gateways, d.approach, d.hedged) == (["paypal", "stripe"], "success_rate", False)
    # No outcome for (EUR, None): both unscored, the list order.
    assert router.decide("p", 1, "EUR", now=0).gateways == ["stripe", "paypal"]
    view = router.health(now=0)
    assert view["stripe"]["success_rate"] == [
        {"currency": "EUR", "payment_method_type": "card", "successes": 5, "total": 10, "score": 0.5}
    ]
    assert view["stripe"]["latency_ms"] == {"p50": 104.0, "p99": 109.0, "samples": 10}
    assert view["paypal"]["success_rate"][0]["score"] == 0.9
    assert list(view) == ["stripe", "paypal"]


def test_instances_share_health() -> None:
    doc = {"default": {"gateways": ["stripe", "paypal"]}, "health": {"elimination": {"bucket_size": 4}}}
    a, b = Router(doc), Router(doc)
    for r in (a, b):
        r.record("stripe", False, failure_class="timeout", now=0)
        r.record("stripe", False, failure_class="timeout", now=0)
    exported = b.export_health(now=0)
    assert exported == {
        "version": 1,
        "gateways": {"stripe": {"buckets": {"timeout": {"level": 2, "epoch": 0}}, "success_rate": []}},
    }
    a.merge_health("b", exported, now=0)
    a.merge_health("b", json.dumps(exported), now=0)  # idempotent; JSON text works too
    assert a.decide("p", 1, "EUR", now=0).skipped == {"stripe": "circuit_open"}
    assert a.health(now=0)["stripe"]["buckets"]["timeout"]["level"] == 4
    b.merge_health("a", a.export_health(now=0), now=0)
    assert b.decide("p", 1, "EUR", now=0).skipped == {"stripe": "circuit_open"}
    # a's probe succeeds: b closes once it merges a's export (the epoch moved).
    assert a.decide("p", 1, "EUR", now=10.0).probe == "stripe"
    a.record("stripe", True, now=10.5)
    b.merge_health("a", a.export_health(now=10.5), now=10.5)
    a.merge_health("b", b.export_health(now=10.5), now=10.5)
    for r in (a, b):
        assert r.health(now=10.5)["stripe"]["circuit"] == "closed"
    a.reset_health(now=11)
    a.reset_health("paypal", now=11)


def test_one_probe_across_threads() -> None:
    router = breaker(size=1, leak=1.0)
    router.record("stripe", False, failure_class="timeout", now=0.0)
    probes: list[str] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(300):
            probe = router.decide(f"p{t}-{i}", 1, "EUR", now=2.0).probe
            if probe is not None:
                with lock:
                    probes.append(probe)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert probes == ["stripe"]


def test_default_now_is_monotonic_and_decision_is_frozen() -> None:
    router = breaker()
    router.record("stripe", True, latency_ms=12.5)
    d = router.decide("p", 1, "EUR")
    assert d.gateways == ["stripe", "paypal"]
    with pytest.raises(AttributeError):
        d.rule = "x"  # type: ignore[misc]
    assert payedge.Decision is type(d)
    assert repr(router) == "Router(rules=0, gateways=('stripe', 'paypal'))"
