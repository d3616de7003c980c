"""Gateway health shared by two real `payedge serve` instances on one real Redis (SPEC 5 and 7).

Both instances share one database too (as behind a load balancer). Failures seen by one
open the circuit on the other; once leaked, ONE probe goes through across both, the
others skip the gateway; the probe's success closes the circuit on both.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.gateways.support import CINETPAY, Site, wait_until
from tests.server.routing.support import arm, attempts, create, disarm, routed_site, write_rules

pytestmark = pytest.mark.timeout(120)

LEAK = 1.5
SYNC = 0.1


@pytest.fixture(scope="module")
def pair(
    routing_fakes: dict[str, str], redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, Site]]:
    root = tmp_path_factory.mktemp("shared")
    rules = write_rules(root, bucket=2, leak=LEAK)
    shared = ("--redis-url", redis_url, "--routing-sync-interval", str(SYNC))
    with (
        routed_site(root / "a", routing_fakes, rules, *shared) as a,
        routed_site(root / "b", routing_fakes, rules, *shared, "--database-url", a.server.database_url) as b,
    ):
        yield a, b
        disarm(a.fakes, CINETPAY)
        a.fakes.post(CINETPAY, "latency", {"latency_ms": 0})
        a.log_has_no_internal_errors()
        b.log_has_no_internal_errors()


def health(site: Site, gateway: str = "cinetpay") -> dict[str, Any]:
    listed = site.http.get(f"{site.url}/v1/gateways").json()["data"]
    return dict(next(g for g in listed if g["name"] == gateway)["health"])


def test_one_instance_opens_the_circuit_of_both_and_one_probe_goes_through(pair: tuple[Site, Site]) -> None:
    a, b = pair
    arm(a.fakes, CINETPAY, "5xx", "before", times=1000)
    for _ in range(2):  # failures seen by `a` only
        assert a.confirm(create(a)["id"]).json()["gateway"] == "mtn_momo"
    assert health(a)["circuit"] == "open"
    assert wait_until(lambda: health(b)["circuit"] == "open", within=2.0), health(b)
    on_b = create(b)
    b.confirm(on_b["id"])
    shown = b.get(on_b["id"])
    assert attempts(shown) == [("mtn_momo", "succeeded", None)]
    assert shown["routing"]["skipped"] == {"cinetpay": "circuit_open"}

    both = lambda: health(a)["circuit"] == health(b)["circuit"] == "half_open"  # noqa: E731
    assert wait_until(both, within=3 * LEAK), (health(a), health(b))
    time.sleep(3 * SYNC)
    disarm(a.fakes, CINETPAY)
    a.fakes.post(CINETPAY, "latency", {"latency_ms": 1000})  # the probe stays in flight a while
    batch = [create(site) for site in (a, b, a, b, a, b)]
    sites = [a, b, a, b, a, b]
    with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
        list(pool.map(lambda sp: sp[0].confirm(sp[1]["id"]).json(), zip(sites, batch, strict=True)))
    a.fakes.post(CINETPAY, "latency", {"latency_ms": 0})
    shown_all = [a.get(p["id"]) for p in batch]  # one database: either instance shows every payment
    probes = [s for s in shown_all if any(x["gateway"] == "cinetpay" for x in s["attempts"])]
    assert len(probes) == 1, [(s["routing"], attempts(s)) for s in shown_all]
    others = [s for s in shown_all if s is not probes[0]]
    assert all(s["routing"]["skipped"] == {"cinetpay": "probe_in_flight"} for s in others), [
        s["routing"] for s in others
    ]
    assert all(s["gateway"] == "mtn_momo" and s["status"] == "succeeded" for s in others)

    # The probe succeeded on one instance: the circuit closes on both within a sync.
    assert wait_until(lambda: health(a)["circuit"] == health(b)["circuit"] == "closed", within=2.0)
    for site in (a, b):
        assert site.confirm(create(site)["id"]).json()["gateway"] == "cinetpay"


def test_redis_carries_the_success_rates_of_both(pair: tuple[Site, Site]) -> None:
    a, b = pair
    for site in (a, b):
        site.confirm(create(site, metadata={"route": "momo-first"})["id"])

    def totals(site: Site) -> int:
        windows = health(site, "mtn_momo")["success_rate"]
        return sum(w["total"] for w in windows if w["currency"] == "XOF")

    # Each instance counts its own outcomes plus its peer's (merged, never twice).
    assert wait_until(lambda: totals(a) == totals(b), within=2.0), (totals(a), totals(b))
