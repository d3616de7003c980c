"""Typed application state keys (aiohttp `web.AppKey`), one per shared resource."""

from __future__ import annotations

from aiohttp import web

from payedge_server.auth import Authenticator
from payedge_server.config import Config
from payedge_server.contracts import LivePublisher, Store
from payedge_server.gateways.base import Gateway
from payedge_server.idempotency import Idempotency
from payedge_server.payments.service import PaymentService
from payedge_server.webhooks.ingest import WebhookIngest

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
LIVE = web.AppKey("live", LivePublisher)
PAYMENTS = web.AppKey("payments", PaymentService)
GATEWAYS = web.AppKey("gateways", dict[str, Gateway])
WEBHOOKS = web.AppKey("webhooks", WebhookIngest)
IDEMPOTENCY = web.AppKey("idempotency", Idempotency)
# Path prefixes under /v1 that need no API key (e.g. a browser-facing live endpoint);
# parts may append to it before the app starts.
PUBLIC_PREFIXES = web.AppKey("public_prefixes", list[str])
# Ways other than a Bearer key to authenticate a /v1 request (dashboard sessions, client
# secrets, SPEC 8); parts append to it before the app starts (auth.Authenticator).
AUTHENTICATORS = web.AppKey("authenticators", list[Authenticator])
