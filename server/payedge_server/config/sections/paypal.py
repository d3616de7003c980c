"""[gateways.paypal]: PayPal Orders v2 (SPEC 5); enabled by a client id and secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from payedge_server.config.kinds import Invalid, Items, Text, Url
from payedge_server.config.schema import Check
from payedge_server.config.sections import hosted

P = "paypal"
#: PayPal's own origins for PAYPAL-CERT-URL (live and sandbox, both API host names), https only.
CERT_ORIGINS = (
    "https://api.paypal.com",
    "https://api-m.paypal.com",
    "https://api.sandbox.paypal.com",
    "https://api-m.sandbox.paypal.com",
)


def _origin(url: str) -> None:
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        raise Invalid("expected an origin: scheme://host[:port], nothing after it")


@dataclass(frozen=True)
class PayPalConfig:
    api_base: str = hosted.api_base(P, "https://api-m.sandbox.paypal.com", "PayPal REST")
    client_id: str | None = hosted.named(P, "client_id", Text(), None, "REST app client id; enables paypal")
    client_secret: str | None = hosted.named(
        P, "client_secret", Text(), None, "REST app secret (OAuth2 client credentials)", secret=True
    )
    webhook_id: str | None = hosted.named(
        P, "webhook_id", Text(), None, "the webhook's id in PayPal's dashboard (signed into every delivery)"
    )
    cert_origins: tuple[str, ...] = hosted.named(
        P,
        "cert_origins",
        Items(Url(("https", "http"), check=_origin), repeat_flag=False),
        CERT_ORIGINS,
        "where PAYPAL-CERT-URL may point (scheme://host[:port]): certificates are fetched from nowhere else",
    )
    cert_url: str | None = hosted.named(
        P,
        "cert_url",
        Url(("http", "https")),
        None,
        "one more certificate URL trusted exactly as written (the one `payedge fakes` prints)",
    )
    return_url: str | None = hosted.return_url(P)
    timeout: float = hosted.timeout(P)
    poll_interval: float = hosted.poll_interval(P)
    poll_max_interval: float = hosted.poll_max_interval(P)
    poll_for: float = hosted.poll_for(P)

    checks: ClassVar[tuple[Check, ...]] = (
        hosted.all_or_none(
            P, ("client_id", "client_secret"), ("--paypal-client-id", "--paypal-client-secret")
        ),
    )

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)
