"""The hosted-payment gateways against `payedge fakes` and a real `payedge serve`: helpers.

A `Site` is a `payedge serve` process started with the environment `payedge fakes`
printed (the PAYEDGE_* lines, as `eval "$(payedge fakes)"` would set them) plus short
timeouts and poll intervals; it drives the payments API with `requests` and the
fakes through their admin API (`/_fake/*`), as the payer and as the provider.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.server.support import API_KEY, Server, running_server
from tests.support import services

#: Fake flags: short hangs (the server's provider timeout is shorter still), quick MoMo "ongoing".
FAKES_FLAGS = ("--hang-seconds", "4", "--momo-ongoing-seconds", "1", "--callback-attempts", "3")
PROVIDERS = ("paypal", "cinetpay", "mtn_momo", "orange_money")
#: Per gateway: a timeout shorter than the fakes' hang, and polling quick enough for a test.
QUICK = tuple(
    arg
    for gw in PROVIDERS
    for arg in (
        f"--{gw.replace('_', '-')}-timeout",
        "1.5",
        f"--{gw.replace('_', '-')}-poll-interval",
        "0.2",
        f"--{gw.replace('_', '-')}-poll-max-interval",
        "0.5",
    )
)


@dataclass(frozen=True)
class Provider:
    """How a test pays at one gateway: its currency, its payment method, its units."""

    gateway: str
    env_name: str  # PAYEDGE_<NAME>_API_BASE
    currency: str
    method: str
    unit: int  # payedge minor units per provider unit of the magic amounts (USD: 100 cents)

    def amount(self, provider_units: int) -> int:
        """payedge minor units for an amount the provider sees as `provider_units` (magic amounts)."""
        return provider_units * self.unit


PAYPAL = Provider("paypal", "PAYPAL", "USD", "paypal", 100)
CINETPAY = Provider("cinetpay", "CINETPAY", "XOF", "cinetpay", 1)
MOMO = Provider("mtn_momo", "MTN_MOMO", "EUR", "msisdn:46733000001", 100)
ORANGE = Provider("orange_money", "ORANGE_MONEY", "XOF", "orange_money", 1)
ALL = (PAYPAL, CINETPAY, MOMO, ORANGE)
MOMO_WAITS = "msisdn:46733123454"  # PENDING until the payer answers (the admin API)
MOMO_ONGOING = "msisdn:46733123453"  # PENDING, then SUCCESSFUL after --momo-ongoing-seconds


def wait_until(check: Callable[[], Any], within: float = 10.0, every: float = 0.1) -> Any:
    """`check()` once it is truthy (bounded in time); its last value otherwise, for the assert."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class FakeAdmin:
    """The fakes' admin API: the payer, the provider's books, the callbacks it sent."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.http = requests.Session()

    def base(self, provider: Provider) -> str:
        return self.env[f"PAYEDGE_{provider.env_name}_API_BASE"]

    def post(self, provider: Provider, path: str, body: Any = None) -> dict[str, Any]:
        resp = self.http.post(f"{self.base(provider)}/_fake/{path}", json=body if body is not None else {})
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    def pay(self, provider: Provider, ref: str) -> dict[str, Any]:
        return self.post(provider, f"payments/{ref}/pay")

    def decline(self, provider: Provider, ref: str) -> dict[str, Any]:
        return self.post(provider, f"payments/{ref}/decline")

    def arm(self, provider: Provider, fault: str, phase: str, operation: str = "pay") -> None:
        self.post(provider, "faults", {"operation": operation, "fault": fault, "phase": phase, "times": 1})

    def stats(self, provider: Provider) -> dict[str, Any]:
        return dict(self.http.get(f"{self.base(provider)}/_fake/stats").json())

    def captures(self, provider: Provider, ref: str) -> int:
        return int(self.stats(provider)["payments"].get(ref, {}).get("captures", 0))

    def refunds(self, provider: Provider, ref: str) -> int:
        return int(self.stats(provider)["payments"].get(ref, {}).get("refunds", 0))

    def callbacks(self, provider: Provider, ref: str | None = None) -> list[dict[str, Any]]:
        found = self.http.get(f"{self.base(provider)}/_fake/callbacks").json()["callbacks"]
        return [c for c in found if ref is None or c["payment_id"] == ref]

    def paypal_listener(self, url: str | None) -> None:
        self.post(PAYPAL, "callback-url", {"url": url})


@dataclass
class Site:
    """A `payedge serve` wired to the fakes."""

    server: Server
    http: requests.Session
    fakes: FakeAdmin

    @property
    def url(self) -> str:
        return self.server.url

    def create(
        self, provider: Provider, amount: int, method: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {"amount": amount, "currency": provider.currency, "gateway": provider.gateway, **extra}
        body["payment_method"] = method or provider.method
        resp = self.http.post(f"{self.url}/v1/payments", json=body)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def confirm(self, payment_id: str, expect: int | None = 200) -> requests.Response:
        resp = self.http.post(f"{self.url}/v1/payments/{payment_id}/confirm", json={})
        if expect is not None:
            assert resp.status_code == expect, resp.text
        return resp

    def get(self, payment_id: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.url}/v1/payments/{payment_id}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def status(self, payment_id: str) -> str:
        return str(self.get(payment_id)["status"])

    def wait_status(self, payment_id: str, want: str, within: float = 10.0) -> dict[str, Any]:
        payment = wait_until(lambda: (p := self.get(payment_id))["status"] == want and p, within)
        assert payment, (want, self.get(payment_id))
        return dict(payment)

    def refund(self, payment_id: str, amount: int | None = None) -> requests.Response:
        body = {"amount": amount} if amount is not None else {}
        return self.http.post(f"{self.url}/v1/payments/{payment_id}/refunds", json=body)

    def webhook(
        self, provider: str, body: bytes, headers: dict[str, str], method: str = "POST"
    ) -> requests.Response:
        return requests.request(method, f"{self.url}/v1/webhooks/{provider}", data=body, headers=headers)

    def redeliver(self, delivery: dict[str, Any]) -> requests.Response:
        """A delivery the fake sent, sent again byte for byte (a duplicate)."""
        provider = delivery["url"].rsplit("/", 1)[-1]
        headers = {k: v for k, v in delivery["headers"].items() if k.lower() != "content-length"}
        return self.webhook(provider, delivery["body"].encode(), headers, delivery["method"])

    def log_has_no_internal_errors(self) -> None:
        assert "unhandled error" not in self.server.log, self.server.log[-3000:]


@contextlib.contextmanager
def running_site(data: Path, env: dict[str, str], *extra: str) -> Iterator[Site]:
    """`payedge serve` with the fakes' PAYEDGE_* variables in its environment (and `extra` flags)."""
    port = services.free_port()
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k != "PAYEDGE_FAKES_READY"})
    try:
        server_cm = running_server(data, *QUICK, *extra, port=port)
        server = server_cm.__enter__()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {API_KEY}"
            yield Site(server, http, FakeAdmin(env))
    finally:
        server_cm.__exit__(None, None, None)
