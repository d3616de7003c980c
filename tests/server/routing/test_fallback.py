"""Fallback on confirm (SPEC 5) against `payedge fakes` and a real `payedge serve`.

The next gateway is tried only after an error that proves the provider took nothing;
a timeout after sending is settled by a status read and never falls back; a decline
is the payer's answer. The fakes count the money each provider took: never twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.server.gateways.support import CINETPAY, MOMO, Site
from tests.server.routing.support import (
    PAYER,
    arm,
    attempts,
    captures,
    create,
    disarm,
    routed_site,
    write_rules,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def site(routing_fakes: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("fallback")
    with routed_site(root / "data", routing_fakes, write_rules(root)) as running:
        yield running
        running.log_has_no_internal_errors()


@pytest.fixture(autouse=True)
def _no_faults(site: Site) -> Iterator[None]:
    yield
    disarm(site.fakes, CINETPAY)
    disarm(site.fakes, MOMO)


def test_a_payment_naming_no_gateway_is_routed_at_create_and_confirm(site: Site) -> None:
    created = create(site)
    assert (created["gateway"], created["gateway_ref"]) == (
        "cinetpay",
        None,
    )  # nothing made at a provider yet
    shown = site.get(created["id"])
    assert shown["routing"]["rule"] == "default" and shown["routing"]["gateways"] == ["cinetpay", "mtn_momo"]
    pinned = site.http.post(
        f"{site.url}/v1/payments",
        json={"amount": 5000, "currency": "XOF", "gateway": "mtn_momo", "payment_method": PAYER},
    ).json()
    assert site.get(pinned["id"])["routing"] is None
    card = site.http.post(
        f"{site.url}/v1/payments", json={"amount": 5000, "currency": "XOF", "payment_method": "pm_sandbox_ok"}
    ).json()
    assert card["gateway"] == "sandbox"
    done = site.confirm(card["id"]).json()
    assert (done["status"], done["gateway"]) == ("succeeded", "sandbox")
    assert site.get(card["id"])["routing"]["rule"] == "cards"


def test_primary_answering_5xx_the_payment_succeeds_on_the_secondary_one_capture(site: Site) -> None:
    arm(site.fakes, CINETPAY, "5xx", "before")
    p = create(site)
    done = site.confirm(p["id"]).json()
    assert (done["status"], done["gateway"], done["amount_captured"]) == ("succeeded", "mtn_momo", 5000)
    shown = site.get(p["id"])
    assert attempts(shown) == [
        ("cinetpay", "error", "gateway_unavailable"),
        ("mtn_momo", "succeeded", None),
    ]
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 1}
    assert all(a["latency_ms"] >= 0 for a in shown["attempts"])


def test_a_dropped_connection_before_the_provider_acts_also_falls_back(site: Site) -> None:
    arm(site.fakes, CINETPAY, "drop", "before")
    p = create(site)
    assert site.confirm(p["id"]).json()["gateway"] == "mtn_momo"
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 1}


def test_primary_timing_out_after_taking_the_money_no_fallback_the_status_read_finds_it(site: Site) -> None:
    arm(site.fakes, MOMO, "timeout", "after")  # MoMo applies the request, then holds its answer
    p = create(site, metadata={"route": "momo-first"})
    assert p["gateway"] == "mtn_momo"
    done = site.confirm(p["id"]).json()
    assert (done["status"], done["gateway"], done["amount_captured"]) == ("succeeded", "mtn_momo", 5000)
    assert attempts(site.get(p["id"])) == [("mtn_momo", "succeeded", None)]
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 1}
    assert not [c for c in site.fakes.stats(CINETPAY)["payments"].values() if c["reference"] == p["id"]]


def test_an_unknown_outcome_shows_the_attempt_it_waits_for(site: Site) -> None:
    """MoMo's answer never comes and the status read cannot tell: 504, `processing`, and
    `gateway_ref` is the X-Reference-Id payedge sent (docs/gateways.md: the current attempt's
    id), the one the polling then settles; no fallback, one capture."""
    arm(site.fakes, MOMO, "timeout", "before")  # held past payedge's timeout, then refused unapplied
    p = create(site, metadata={"route": "momo-first"})
    shown = site.confirm(p["id"], expect=504).json()["payment"]
    ref = shown["gateway_ref"]
    assert shown["status"] == "processing" and re.fullmatch(r"[0-9a-f-]{36}", ref or ""), shown
    settled = site.wait_status(p["id"], "succeeded")
    assert (settled["gateway"], settled["gateway_ref"]) == ("mtn_momo", ref)
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 1}


def test_a_5xx_after_the_money_moved_is_never_a_fallback(site: Site) -> None:
    """MoMo applies the request, then answers 500: the retry with the same id finds it (409)."""
    arm(site.fakes, MOMO, "5xx", "after")
    p = create(site, metadata={"route": "momo-first"})
    done = site.confirm(p["id"]).json()
    assert (done["status"], done["gateway"]) == ("succeeded", "mtn_momo")
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 1}


def test_a_decline_is_the_payers_answer_not_a_reason_to_fall_back(site: Site) -> None:
    p = create(site, amount=9100, metadata={"route": "momo-first"})  # 9100: MoMo's payer refuses
    resp = site.confirm(p["id"], expect=402)
    body = resp.json()
    assert body["error"]["code"] == "payment_failed"
    assert (body["payment"]["gateway"], body["payment"]["status"]) == ("mtn_momo", "requires_payment_method")
    assert attempts(site.get(p["id"])) == [("mtn_momo", "requires_payment_method", "payment_failed")]
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 0}


def test_every_gateway_unavailable_is_503_and_the_payment_can_be_confirmed_again(site: Site) -> None:
    arm(site.fakes, CINETPAY, "5xx", "before")
    arm(site.fakes, MOMO, "5xx", "before", times=3)  # the request and its retry, then the status read
    p = create(site)
    resp = site.confirm(p["id"], expect=503)
    assert resp.json()["error"]["code"] == "gateway_unavailable"
    shown = site.get(p["id"])
    assert shown["status"] == "requires_confirmation" and shown["last_error"]["code"] == "gateway_unavailable"
    assert [a[:2] for a in attempts(shown)] == [("cinetpay", "error"), ("mtn_momo", "error")]
    disarm(site.fakes, CINETPAY)
    disarm(site.fakes, MOMO)
    again = site.confirm(p["id"]).json()  # a new decision: the primary first again
    assert again["gateway"] == "cinetpay" and again["status"] == "processing"
    assert again["next_action"]["type"] == "redirect"
    assert captures(site.fakes, p["id"]) == {"cinetpay": 0, "mtn_momo": 0}


def test_a_processing_attempt_takes_the_outcome_the_provider_reports(site: Site) -> None:
    p = create(site)
    done = site.confirm(p["id"]).json()
    assert done["status"] == "processing"
    site.fakes.pay(CINETPAY, done["gateway_ref"])
    site.wait_status(p["id"], "succeeded")
    assert attempts(site.get(p["id"])) == [("cinetpay", "succeeded", None)]
    assert captures(site.fakes, p["id"]) == {"cinetpay": 1, "mtn_momo": 0}


def test_no_gateway_can_take_it_is_refused_at_create(site: Site) -> None:
    resp = site.http.post(
        f"{site.url}/v1/payments", json={"amount": 5000, "currency": "XOF", "payment_method": "paypal"}
    )
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert (error["code"], error["param"]) == ("payment_method_invalid", "payment_method")
    assert "cinetpay: payment_method_not_accepted" in error["message"]
    eur = site.http.post(
        f"{site.url}/v1/payments", json={"amount": 5000, "currency": "EUR", "payment_method": PAYER}
    )
    assert eur.status_code == 400 and eur.json()["error"]["code"] == "currency_not_supported", eur.text
    odd = site.http.post(
        f"{site.url}/v1/payments", json={"amount": 5001, "currency": "XOF", "payment_method": PAYER}
    )
    assert odd.status_code == 201, odd.text  # CinetPay takes multiples of 5 only: MoMo then
    assert (odd.json()["gateway"], site.get(odd.json()["id"])["routing"]["skipped"]) == (
        "mtn_momo",
        {"cinetpay": "amount_not_representable"},
    )


def test_metrics_per_gateway_and_outcome(site: Site) -> None:
    arm(site.fakes, CINETPAY, "5xx", "before")
    site.confirm(create(site)["id"])
    text = site.http.get(f"{site.url}/metrics").text
    count = re.search(
        r'payedge_gateway_attempts_total\{[^}]*gateway="cinetpay",outcome="unavailable"[^}]*\} (\S+)', text
    )
    assert count is not None and float(count.group(1)) >= 1, text[-2000:]
    assert re.search(r'payedge_gateway_attempt_seconds_count\{[^}]*gateway="mtn_momo"', text)
    assert re.search(r'payedge_gateway_circuit\{[^}]*gateway="cinetpay"[^}]*\} 0', text)


def simulate(site: Site, **body: Any) -> requests.Response:
    return site.http.post(f"{site.url}/v1/routing/simulate", json=body)


def test_simulate_equals_the_decision_the_confirm_gets(site: Site) -> None:
    p = create(site, amount=5005)
    seen = simulate(site, payment_id=p["id"], amount=5005, currency="XOF", payment_method=PAYER).json()
    site.confirm(p["id"])
    decided = site.get(p["id"])["routing"]
    assert {k: seen[k] for k in decided} == decided
    assert (seen["routed"], seen["payment_id"], seen["gateways"]) == (True, p["id"], ["cinetpay", "mtn_momo"])
    by_rule = simulate(site, amount=100, currency="XOF", payment_method_type="card").json()
    assert (by_rule["rule"], by_rule["gateways"]) == ("cards", ["sandbox"])
    assert by_rule["payment_id"].startswith("pay_")


def test_simulate_pinned_candidate_rules_and_refusals(site: Site) -> None:
    base = {"amount": 5000, "currency": "XOF", "payment_method": PAYER}
    pinned = simulate(site, **base, gateway="mtn_momo").json()
    assert (pinned["routed"], pinned["approach"], pinned["gateways"]) == (False, "pinned", ["mtn_momo"])
    unknown = simulate(site, **base, gateway="adyen").json()
    assert (unknown["gateways"], unknown["error"]["code"]) == ([], "gateway_invalid")
    rules = {"default": {"gateways": ["stripe", "orange_money", "mtn_momo"]}}
    candidate = simulate(site, **base, rules=rules).json()
    assert candidate["gateways"] == ["mtn_momo"]
    assert candidate["skipped"] == {"stripe": "not_configured", "orange_money": "payment_method_not_accepted"}
    nobody = simulate(site, amount=5000, currency="XOF", payment_method="paypal").json()
    assert (nobody["gateways"], nobody["error"]["code"]) == ([], "payment_method_invalid")
    when_xof = [{"field": "currency", "op": "eq", "value": "xof"}]
    lower_case_rule = {"rules": [{"name": "x", "when": when_xof, "then": {"gateways": ["mtn_momo"]}}],
                       "default": {"gateways": ["mtn_momo"]}}  # fmt: skip
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({**base, "rules": {"default": {"gateways": []}}}, 400, "invalid_routing_rules", "rules"),
        ({**base, "rules": {"default": {"gateways": ["adyen"]}}}, 400, "invalid_routing_rules", "rules"),
        ({**base, "rules": lower_case_rule}, 400, "invalid_routing_rules", "rules"),  # never matches
        ({**base, "payment_method_type": "Card"}, 400, "parameter_invalid", "payment_method_type"),
        (
            {"amount": 5000, "currency": "XOF", "payment_method_type": "momo"},
            400,
            "parameter_invalid",
            "payment_method_type",
        ),
        (
            {"amount": 5000, "currency": "XOF", "payment_method": "cinetpay", "payment_method_type": "card"},
            400,
            "parameter_invalid",
            "payment_method_type",
        ),
        ({**base, "rules": ["x"]}, 400, "parameter_invalid", "rules"),
        ({**base, "priority": 1}, 400, "parameter_unknown", "priority"),
        ({"currency": "XOF"}, 400, "parameter_missing", "amount"),
        ({**base, "country": ""}, 400, "parameter_invalid", "country"),
    ]
    for body, status, code, param in cases:
        resp = simulate(site, **body)
        assert resp.status_code == status, (body, resp.text)
        assert (resp.json()["error"]["code"], resp.json()["error"].get("param")) == (code, param), resp.text


def test_gateways_list_configured_ones_with_their_health(site: Site) -> None:
    resp = site.http.get(f"{site.url}/v1/gateways")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    listed = {g["name"]: g for g in body["data"]}
    assert body["routing"] is True
    assert {"sandbox", "cinetpay", "mtn_momo", "paypal", "orange_money"} <= set(listed)
    assert (listed["mtn_momo"]["in_rules"], listed["paypal"]["in_rules"]) == (True, False)
    momo = listed["mtn_momo"]["health"]
    assert momo["circuit"] == "closed" and momo["latency_ms"]["samples"] > 0
    assert any(
        w["currency"] == "XOF" and w["payment_method_type"] == "mobile_money" for w in momo["success_rate"]
    )
    assert site.http.get(f"{site.url}/v1/gateways?x=1").json()["error"]["code"] == "parameter_unknown"


def test_zz_stats_count_every_attempt_made_here(site: Site) -> None:
    """Last in the module: every attempt of the payments above, counted by gateway."""
    ids, cursor = [], None
    while True:
        page = site.http.get(
            f"{site.url}/v1/payments", params={"limit": 100, **({"starting_after": cursor} if cursor else {})}
        ).json()
        ids += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            break
        cursor = ids[-1]
    counted: dict[str, dict[str, int]] = {}
    for pid in ids:
        for a in site.get(pid)["attempts"]:
            kind = {"succeeded": "succeeded", "processing": "pending", "error": "errors"}.get(
                a["outcome"], "declined"
            )
            row = counted.setdefault(
                a["gateway"], {"attempts": 0, "succeeded": 0, "pending": 0, "declined": 0, "errors": 0}
            )
            row["attempts"] += 1
            row[kind] += 1
    resp = site.http.get(f"{site.url}/v1/gateways/stats", params={"from": "0", "group_by": "gateway"})
    assert resp.status_code == 200, resp.text
    got = {
        r["key"]: {k: r[k] for k in ("attempts", "succeeded", "pending", "declined", "errors")}
        for r in resp.json()["data"]
    }
    assert got == counted
    assert counted["cinetpay"]["errors"] >= 3 and counted["mtn_momo"]["succeeded"] >= 3
