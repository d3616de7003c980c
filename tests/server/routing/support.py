"""Routing against real components: `payedge fakes`, `payedge serve` with a `[routing]` table, Redis.

The payer is a mobile-money number (`msisdn:`) paying XOF: MTN MoMo (Côte d'Ivoire's
environment) and CinetPay (an aggregator) can both charge it, so a payment can fall
back from one to the other. The fakes count what each provider captured, by the
payedge payment id they were given (`reference`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.server.gateways.support import CINETPAY, MOMO, FakeAdmin, Provider, Site, running_site

PAYER = "msisdn:2250500000001"  # any number but MTN's test numbers: SUCCESSFUL at once at MoMo
XOF_MOMO = Provider("mtn_momo", "MTN_MOMO", "XOF", PAYER, 1)
XOF_CINETPAY = Provider("cinetpay", "CINETPAY", "XOF", PAYER, 1)
ROUTED_FLAGS = ("--mtn-momo-target-environment", "mtnivorycoast")
PROVIDERS = {"cinetpay": CINETPAY, "mtn_momo": MOMO}

RULES = """
[routing]
default = {{ gateways = ["cinetpay", "mtn_momo"] }}

[routing.health]
elimination = {{ bucket_size = {bucket}, leak_interval_seconds = {leak}, probe_timeout_seconds = 5 }}

[[routing.rules]]
name = "momo-first"
when = [{{ field = "metadata.route", op = "eq", value = "momo-first" }}]
then = {{ gateways = ["mtn_momo", "cinetpay"] }}

[[routing.rules]]
name = "cards"
when = [{{ field = "payment_method_type", op = "eq", value = "card" }}]
then = {{ gateways = ["sandbox"] }}
"""


def write_rules(directory: Path, *, bucket: int = 1000, leak: float = 10.0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "routing.toml"
    path.write_text(RULES.format(bucket=bucket, leak=leak))
    return path


@contextlib.contextmanager
def routed_site(data: Path, env: dict[str, str], rules: Path, *extra: str) -> Iterator[Site]:
    with running_site(data, env, "--config", str(rules), *ROUTED_FLAGS, *extra) as site:
        yield site


def create(site: Site, amount: int = 5000, **extra: Any) -> dict[str, Any]:
    """A payment that names no gateway: the routing rules choose."""
    body = {"amount": amount, "currency": "XOF", "payment_method": PAYER, **extra}
    resp = site.http.post(f"{site.url}/v1/payments", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def captures(fakes: FakeAdmin, payment_id: str) -> dict[str, int]:
    """Money taken for one payedge payment, per provider (summed over its provider-side attempts)."""
    found = {}
    for name, provider in PROVIDERS.items():
        payments = fakes.stats(provider)["payments"].values()
        found[name] = sum(int(p["captures"]) for p in payments if p.get("reference") == payment_id)
    return found


def arm(fakes: FakeAdmin, provider: Provider, fault: str, phase: str, times: int = 1) -> None:
    body = {"operation": "pay", "fault": fault, "phase": phase, "times": times}
    fakes.post(provider, "faults", body)


def disarm(fakes: FakeAdmin, provider: Provider) -> None:
    resp = fakes.http.delete(f"{fakes.base(provider)}/_fake/faults")
    assert resp.status_code in (200, 204), resp.text


def attempts(payment: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(a["gateway"], a["outcome"], a["error_code"]) for a in payment["attempts"]]
