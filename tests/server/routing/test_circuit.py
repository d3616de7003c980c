"""Circuit breaking in a real server (SPEC 5): the circuit opens after the configured failures,
the gateway is skipped, and once leaked it half-opens with exactly one probe; a simulation
names that probe without taking it."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.gateways.support import CINETPAY, Site, wait_until
from tests.server.routing.support import PAYER, arm, attempts, create, disarm, routed_site, write_rules

pytestmark = pytest.mark.timeout(120)

LEAK = 1.5


@pytest.fixture(scope="module")
def site(routing_fakes: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("circuit")
    with routed_site(root / "data", routing_fakes, write_rules(root, bucket=2, leak=LEAK)) as running:
        yield running
        disarm(running.fakes, CINETPAY)
        running.fakes.post(CINETPAY, "latency", {"latency_ms": 0})
        running.log_has_no_internal_errors()


def health(site: Site, gateway: str) -> dict[str, Any]:
    listed = site.http.get(f"{site.url}/v1/gateways").json()["data"]
    return dict(next(g for g in listed if g["name"] == gateway)["health"])


def simulate(site: Site, payment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payment_id": payment_id,
        "amount": 5000,
        "currency": "XOF",
        "payment_method": PAYER,
    }
    resp = site.http.post(f"{site.url}/v1/routing/simulate", json=body)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_circuit_opens_then_half_opens_with_exactly_one_probe(site: Site) -> None:
    arm(site.fakes, CINETPAY, "5xx", "before", times=1000)
    for _ in range(2):  # bucket_size = 2 failures of the class "unavailable"
        p = create(site)
        assert site.confirm(p["id"]).json()["gateway"] == "mtn_momo"
    assert health(site, "cinetpay")["circuit"] == "open"
    assert health(site, "cinetpay")["buckets"]["unavailable"]["level"] == 2

    skipped = create(site)
    assert skipped["gateway"] == "mtn_momo"  # the provisional choice already leaves it out
    site.confirm(skipped["id"])
    shown = site.get(skipped["id"])
    assert attempts(shown) == [("mtn_momo", "succeeded", None)]
    assert shown["routing"]["skipped"] == {"cinetpay": "circuit_open"}

    assert wait_until(lambda: health(site, "cinetpay")["circuit"] == "half_open", within=3 * LEAK)
    disarm(site.fakes, CINETPAY)
    site.fakes.post(CINETPAY, "latency", {"latency_ms": 800})  # the probe stays in flight a while
    batch = [create(site) for _ in range(5)]
    # Simulations name the probe and take nothing: the first real confirm still carries it.
    for p in batch[:3]:
        seen = simulate(site, p["id"])
        assert (seen["gateways"][0], seen["probe"]) == ("cinetpay", "cinetpay"), seen
    assert health(site, "cinetpay")["probe_in_flight"] is False

    with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
        done = list(pool.map(lambda p: site.confirm(p["id"]).json(), batch))
    site.fakes.post(CINETPAY, "latency", {"latency_ms": 0})
    shown_all = [site.get(p["id"]) for p in batch]
    probes = [s for s in shown_all if any(a["gateway"] == "cinetpay" for a in s["attempts"])]
    assert len(probes) == 1, [attempts(s) for s in shown_all]
    assert probes[0]["routing"]["probe"] == "cinetpay" and probes[0]["status"] == "processing"
    others = [s for s in shown_all if s is not probes[0]]
    assert all(s["routing"]["skipped"] == {"cinetpay": "probe_in_flight"} for s in others), others
    assert all(
        d["gateway"] == "mtn_momo" and d["status"] == "succeeded" for d in done if d["id"] != probes[0]["id"]
    )

    # The probe got through: closed, and the next payment goes to cinetpay first again.
    assert health(site, "cinetpay")["circuit"] == "closed"
    after = create(site)
    assert site.confirm(after["id"]).json()["gateway"] == "cinetpay"


def test_a_probe_whose_payment_ended_earlier_is_released(site: Site) -> None:
    """The probe rides on a payment whose earlier gateway answered: released, the next payment probes."""
    arm(site.fakes, CINETPAY, "5xx", "before", times=1000)
    for _ in range(2):
        site.confirm(create(site)["id"])
    assert health(site, "cinetpay")["circuit"] == "open"
    assert wait_until(lambda: health(site, "cinetpay")["circuit"] == "half_open", within=3 * LEAK)
    momo_first = create(site, metadata={"route": "momo-first"})  # mtn_momo, then cinetpay (the probe)
    site.confirm(momo_first["id"])
    shown = site.get(momo_first["id"])
    assert shown["routing"]["probe"] == "cinetpay" and attempts(shown) == [("mtn_momo", "succeeded", None)]
    assert health(site, "cinetpay")["probe_in_flight"] is False  # released: not waiting for a timeout
    disarm(site.fakes, CINETPAY)
    probe = create(site)
    assert site.confirm(probe["id"]).json()["gateway"] == "cinetpay"
    assert site.get(probe["id"])["routing"]["probe"] == "cinetpay"
