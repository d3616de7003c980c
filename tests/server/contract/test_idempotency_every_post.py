"""SPEC 3: every POST under /v1 honours Idempotency-Key, found by enumerating the app's routes.

For each POST route the app serves (webhooks aside: their event id is their key),
the test sends the example body its OpenAPI operation documents, then the same
request again (replayed: same status and body, `Idempotent-Replayed: true`), then
the same key with another body (422 `idempotency_key_mismatch`). A new route is
covered without anyone listing it here; if it needs a path parameter the test
cannot make, or has no example, the test fails and says so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from payedge_server.app import create_app
from payedge_server.config import Config
from payedge_server.config.sections.auth import AuthConfig
from payedge_server.config.sections.server import ServerConfig
from payedge_server.config.sections.terminals import TerminalsConfig

from tests.server.support import API_KEY, Server

pytestmark = pytest.mark.timeout(120)


def _post_routes() -> list[str]:
    config = Config(
        auth=AuthConfig(api_keys=("k",)),
        terminals=TerminalsConfig(ids=("T1",)),
        server=ServerConfig(data_dir=Path("/nonexistent")),
    )
    app = create_app(config)
    routes = set()
    for route in app.router.routes():
        resource = route.resource
        if route.method == "POST" and resource is not None:
            path = resource.canonical
            if path.startswith("/v1/") and not path.startswith("/v1/webhooks/"):
                routes.add(path)
    assert isinstance(app, web.Application)
    return sorted(routes)


class Site:
    def __init__(self, server: Server) -> None:
        self.url = server.url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {API_KEY}"

    def post(self, path: str, body: Any = None, **headers: str) -> requests.Response:
        return self.http.post(self.url + path, json=body, headers=headers)

    def payment(self, *, confirmed: bool = False, payee: str = "default") -> str:
        body = {"amount": 900, "currency": "EUR", "payment_method": "pm_sandbox_ok", "payee": payee}
        p = self.post("/v1/payments", body).json()
        if confirmed:
            assert self.post(f"/v1/payments/{p['id']}/confirm").status_code == 200
        return str(p["id"])

    def funded_wallet(self) -> str:
        """An owner whose EUR wallet holds a paid payment (the sandbox's)."""
        owner = f"owner-{uuid.uuid4().hex[:8]}"
        self.payment(confirmed=True, payee=owner)
        return owner

    def withdrawal(self) -> str:
        owner = self.funded_wallet()
        made = self.post(f"/v1/wallets/{owner}/withdrawals", {"amount": 100, "currency": "EUR"})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def idle_terminals(self) -> None:
        """Every terminal free and the queue empty (tests share the server)."""
        snapshot = self.http.get(self.url + "/v1/terminals").json()
        for lease in snapshot["terminals"].values():
            if lease:
                self.post(f"/v1/terminals/leases/{lease['token']}/complete")
        for queued in snapshot["queue"]:
            self.post(f"/v1/terminals/queue/{queued}/cancel")

    def lease_token(self) -> str:
        self.idle_terminals()
        pid = f"pay_q_{uuid.uuid4().hex[:8]}"
        self.post("/v1/terminals/queue", {"payment_id": pid, "user_id": f"u_{pid}"})
        lease = self.post("/v1/terminals/T1/allocate").json()["lease"]
        assert lease["payment_id"] == pid
        return str(lease["token"])

    def idle_terminal(self) -> str:
        self.idle_terminals()
        return "/v1/terminals/T1/allocate"

    def session(self) -> str:
        from tests.parking.harness import Site as Lane

        plate = f"ID-{uuid.uuid4().hex[:6]}"
        found: list[dict[str, Any]] = []
        import asyncio

        async def enter() -> None:
            lane = Lane(self.mqtt_port)
            await lane.connect()
            lane.publish("parking/entry", plate=plate, ts=int(time.time()) - 60)
            for _ in range(100):
                found[:] = self.http.get(self.url + "/v1/parking/sessions", params={"plate": plate}).json()[
                    "data"
                ]
                if found:
                    break
                await asyncio.sleep(0.05)
            await lane.disconnect()

        asyncio.run(enter())
        assert found, "the parking entry was not recorded"
        return str(found[0]["id"])

    def order(self, *, paid: bool = False) -> str:
        body = {"items": [{"product_id": "example", "quantity": 1}], "currency": "EUR",
                "customer": {"email": "ada@example.com"}}  # fmt: skip
        made = self.post("/v1/orders", body)
        assert made.status_code == 201, made.text
        order = made.json()
        if paid:
            confirmed = self.post(
                f"/v1/payments/{order['payment_id']}/confirm", {"payment_method": "pm_sandbox_ok"}
            )
            assert confirmed.status_code == 200, confirmed.text
        return str(order["id"])

    mqtt_port = 0


# How to make a request's path: one entry per POST route with parameters.
PATHS: dict[str, Callable[[Site], str]] = {
    "/v1/payments/{id}/confirm": lambda s: f"/v1/payments/{s.payment()}/confirm",
    "/v1/payments/{id}/cancel": lambda s: f"/v1/payments/{s.payment()}/cancel",
    "/v1/payments/{id}/refunds": lambda s: f"/v1/payments/{s.payment(confirmed=True)}/refunds",
    "/v1/terminals/queue/{payment_id}/cancel": lambda s: (
        f"/v1/terminals/queue/pay_c_{uuid.uuid4().hex[:8]}/cancel"
    ),
    "/v1/terminals/{terminal_id}/allocate": lambda s: s.idle_terminal(),
    "/v1/terminals/leases/{token}/complete": lambda s: f"/v1/terminals/leases/{s.lease_token()}/complete",
    "/v1/terminals/leases/{token}/extend": lambda s: f"/v1/terminals/leases/{s.lease_token()}/extend",
    "/v1/parking/sessions/{session_id}/override": lambda s: f"/v1/parking/sessions/{s.session()}/override",
    "/v1/wallets/{owner}/withdrawals": lambda s: f"/v1/wallets/{s.funded_wallet()}/withdrawals",
    "/v1/withdrawals/{id}/complete": lambda s: f"/v1/withdrawals/{s.withdrawal()}/complete",
    "/v1/withdrawals/{id}/fail": lambda s: f"/v1/withdrawals/{s.withdrawal()}/fail",
    "/v1/orders/{id}/fulfill": lambda s: f"/v1/orders/{s.order(paid=True)}/fulfill",
    "/v1/orders/{id}/cancel": lambda s: f"/v1/orders/{s.order()}/cancel",
}


@pytest.fixture(scope="module")
def site(full_server: Server, mosquitto_port: int) -> Site:
    s = Site(full_server)
    s.mqtt_port = mosquitto_port
    return s


@pytest.fixture(scope="module")
def operations(site: Site) -> dict[str, Any]:
    return dict(site.http.get(site.url + "/openapi.json").json()["paths"])


@pytest.mark.parametrize("route", _post_routes())
def test_every_post_replays_and_refuses_a_reused_key(
    site: Site, operations: dict[str, Any], route: str
) -> None:
    operation = operations[route]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])), (
        f"{route} documents no key"
    )
    example = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
    if "requestBody" in operation and example is None and operation["requestBody"]["required"]:
        pytest.fail(f"{route}: its OpenAPI operation needs an example body")
    if "{" in route:
        assert route in PATHS, f"{route}: add how to make its path to PATHS"
        path = PATHS[route](site)
    else:
        path = route
    if route == "/v1/terminals/queue":
        example = {"payment_id": f"pay_e_{uuid.uuid4().hex[:8]}", "user_id": f"u_{uuid.uuid4().hex[:8]}"}
    key = f"key-{uuid.uuid4().hex}"
    first = site.post(path, example, **{"Idempotency-Key": key})
    assert first.status_code < 300, (route, first.status_code, first.text)
    again = site.post(path, example, **{"Idempotency-Key": key})
    assert (again.status_code, again.content) == (first.status_code, first.content), route
    assert again.headers.get("Idempotent-Replayed") == "true", route
    other = {**(example or {}), "x_other_request": True}
    reused = site.post(path, other, **{"Idempotency-Key": key})
    assert reused.status_code == 422, (route, reused.text)
    assert reused.json()["error"]["code"] == "idempotency_key_mismatch"


def test_a_retried_enqueue_after_the_payment_was_served_does_not_queue_it_again(site: Site) -> None:
    """The reported fault: the retry of an enqueue put a served payment back in the queue."""
    pid, key = f"pay_r_{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex}"
    body = {"payment_id": pid, "user_id": f"u_{pid}"}
    site.idle_terminals()
    assert site.post("/v1/terminals/queue", body, **{"Idempotency-Key": key}).status_code == 200
    lease = site.post("/v1/terminals/T1/allocate").json()["lease"]
    assert lease["payment_id"] == pid
    token = lease["token"]
    assert site.post(f"/v1/terminals/leases/{token}/complete").status_code == 200
    retry = site.post("/v1/terminals/queue", body, **{"Idempotency-Key": key})
    assert retry.headers.get("Idempotent-Replayed") == "true"
    snapshot = site.http.get(site.url + "/v1/terminals").json()
    assert pid not in snapshot["queue"]
