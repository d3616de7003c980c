"""[gateways.stripe]: the Stripe gateway (SPEC 3); enabled by an API key."""

from __future__ import annotations

from dataclasses import dataclass

from payedge_server.config.kinds import Items, Text, Url
from payedge_server.config.schema import setting


@dataclass(frozen=True)
class StripeConfig:
    api_key: str | None = setting(
        Text(),
        None,
        help="Stripe secret key; enables the stripe gateway",
        flag="--stripe-api-key",
        env="PAYEDGE_STRIPE_API_KEY",
        secret=True,
    )
    api_base: str | None = setting(
        Url(("http", "https")),
        None,
        help="a Stripe-compatible API base (localstripe)",
        flag="--stripe-api-base",
        env="PAYEDGE_STRIPE_API_BASE",
    )
    webhook_secrets: tuple[str, ...] = setting(
        Items(Text()),
        (),
        help="webhook signing secrets, every one tried (rotation)",
        flag="--stripe-webhook-secret",
        env="PAYEDGE_STRIPE_WEBHOOK_SECRET",
        secret=True,
    )
