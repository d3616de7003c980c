"""Wiring of the hosted-payment connectors (PayPal, CinetPay, MTN MoMo, Orange Money) into the app.

`build` makes the gateways whose credentials are configured; `parsers` makes the
four webhook parsers (always: one without its gateway answers
`webhook_not_configured`) and a `StatusPoller` per enabled gateway (hooked on payment
changes; `pollers_ctx` runs them); `add_routes` adds what the providers need beyond
`POST /v1/webhooks/{provider}`: MTN PUTs its callbacks, CinetPay checks its URL with
a GET.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from payedge_server.config import Config
from payedge_server.contracts import Store
from payedge_server.errors import DomainError
from payedge_server.gateways.base import Gateway, WebhookParser
from payedge_server.gateways.cinetpay import CinetPayGateway, CinetPayWebhooks
from payedge_server.gateways.mtn_momo import MomoGateway, MomoWebhooks
from payedge_server.gateways.orange_money import OrangeGateway, OrangeWebhooks
from payedge_server.gateways.paypal import PayPalGateway, PayPalWebhooks
from payedge_server.gateways.paypal.certs import Certificates
from payedge_server.gateways.polling import Polled, StatusPoller
from payedge_server.payments.service import PaymentService
from payedge_server.webhooks.ingest import WebhookIngest

POLLERS = web.AppKey("status_pollers", dict[str, StatusPoller])


def _back(template: str | None, self_url: str) -> str:
    return template or f"{self_url}/checkout/payments/{{payment_id}}"


def build(config: Config, store: Store, self_url: str) -> dict[str, Gateway]:
    """The hosted-payment gateways whose credentials are set."""
    gw = config.gateways
    found: dict[str, Gateway] = {}
    if gw.paypal.enabled:
        found["paypal"] = PayPalGateway(gw.paypal, _back(gw.paypal.return_url, self_url))
    if gw.cinetpay.enabled:
        notify = f"{self_url}/v1/webhooks/cinetpay"
        found["cinetpay"] = CinetPayGateway(
            gw.cinetpay, store, notify, _back(gw.cinetpay.return_url, self_url)
        )
    if gw.mtn_momo.enabled:
        found["mtn_momo"] = MomoGateway(gw.mtn_momo, store, f"{self_url}/v1/webhooks/mtn_momo")
    if gw.orange_money.enabled:
        notif = f"{self_url}/v1/webhooks/orange_money"
        back = _back(gw.orange_money.return_url, self_url)
        found["orange_money"] = OrangeGateway(gw.orange_money, store, notif, back)
    return found


def _of(payments: PaymentService, name: str, kind: type[Any]) -> Any:
    gateway = payments.gateways.get(name)
    return gateway if isinstance(gateway, kind) else None


def parsers(app: web.Application, config: Config, payments: PaymentService) -> dict[str, WebhookParser]:
    """The four webhook parsers, with the status pollers of the enabled gateways."""
    pollers: dict[str, StatusPoller] = {}
    for name, kind in (
        ("paypal", PayPalGateway),
        ("cinetpay", CinetPayGateway),
        ("mtn_momo", MomoGateway),
        ("orange_money", OrangeGateway),
    ):
        gateway: Polled | None = _of(payments, name, kind)
        if gateway is not None:
            pollers[name] = poller = StatusPoller(gateway, payments)
            payments.add_hook(poller.on_change)
    app[POLLERS] = pollers
    paypal = _of(payments, "paypal", PayPalGateway)
    pp = config.gateways.paypal
    certs = Certificates(paypal.http, pp.cert_origins, pp.cert_url) if paypal else None
    return {
        "paypal": PayPalWebhooks(pp.webhook_id, certs, pollers.get("paypal"), payments.store),
        "cinetpay": CinetPayWebhooks(_of(payments, "cinetpay", CinetPayGateway), pollers.get("cinetpay")),
        "mtn_momo": MomoWebhooks(_of(payments, "mtn_momo", MomoGateway), pollers.get("mtn_momo")),
        "orange_money": OrangeWebhooks(
            _of(payments, "orange_money", OrangeGateway), pollers.get("orange_money")
        ),
    }


def add_routes(app: web.Application, ingest: WebhookIngest) -> None:
    """MTN PUTs its callbacks (taken like a POST, for any provider); CinetPay checks with a GET
    that its notification URL answers 200 (docs: checkout/notification): a GET answers 200 for
    every provider payedge has a webhook endpoint for."""

    async def ping(request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        if provider not in ingest.parsers:
            raise DomainError(
                "unknown_provider", f"no webhook endpoint for provider {provider[:40]!r}", "provider"
            )
        return web.json_response({"status": "ok"})

    app.router.add_put("/v1/webhooks/{provider}", ingest.handle)
    app.router.add_get("/v1/webhooks/{provider}", ping)


async def pollers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The status pollers run while the app does (after the store is open, stopped before it closes)."""
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(poller.run()) for poller in app[POLLERS].values()]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
