"""[gateways.cinetpay]: CinetPay Checkout API v2 (SPEC 5); enabled by an apikey and a site id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from payedge_server.config.kinds import Text
from payedge_server.config.schema import Check
from payedge_server.config.sections import hosted

P = "cinetpay"


@dataclass(frozen=True)
class CinetPayConfig:
    api_base: str = hosted.api_base(P, "https://api-checkout.cinetpay.com", "CinetPay checkout")
    apikey: str | None = hosted.named(P, "apikey", Text(), None, "the merchant's apikey", secret=True)
    site_id: str | None = hosted.named(P, "site_id", Text(), None, "the merchant's site_id")
    secret_key: str | None = hosted.named(
        P, "secret_key", Text(), None, "the secret key of the notifications' x-token HMAC", secret=True
    )
    return_url: str | None = hosted.return_url(P)
    timeout: float = hosted.timeout(P)
    poll_interval: float = hosted.poll_interval(P)
    poll_max_interval: float = hosted.poll_max_interval(P)
    poll_for: float = hosted.poll_for(P)

    checks: ClassVar[tuple[Check, ...]] = (
        hosted.all_or_none(
            P,
            ("apikey", "site_id", "secret_key"),
            ("--cinetpay-apikey", "--cinetpay-site-id", "--cinetpay-secret-key"),
        ),
    )

    @property
    def enabled(self) -> bool:
        return bool(self.apikey and self.site_id and self.secret_key)
