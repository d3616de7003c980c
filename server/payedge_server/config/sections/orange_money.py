"""[gateways.orange_money]: Orange Money Web Payment (SPEC 5); enabled by client id, secret, merchant key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from payedge_server.config.kinds import Text
from payedge_server.config.schema import Check
from payedge_server.config.sections import hosted

P = "orange_money"


def _countries() -> list[str]:
    from payedge_server.gateways.orange_money import COUNTRIES

    return sorted(COUNTRIES)


@dataclass(frozen=True)
class OrangeMoneyConfig:
    api_base: str = hosted.api_base(P, "https://api.orange.com", "Orange developer")
    client_id: str | None = hosted.named(
        P, "client_id", Text(), None, "OAuth2 client id; enables orange_money"
    )
    client_secret: str | None = hosted.named(P, "client_secret", Text(), None, "OAuth2 secret", secret=True)
    merchant_key: str | None = hosted.named(
        P, "merchant_key", Text(), None, "the WebPay merchant_key", secret=True
    )
    country: str = hosted.named(
        P, "country", Text(), "dev", "the WebPay path's country (dev: the sandbox, currency OUV)"
    )
    return_url: str | None = hosted.return_url(P)
    timeout: float = hosted.timeout(P)
    poll_interval: float = hosted.poll_interval(P)
    poll_max_interval: float = hosted.poll_max_interval(P)
    poll_for: float = hosted.poll_for(P)

    checks: ClassVar[tuple[Check, ...]] = (
        hosted.all_or_none(
            P,
            ("client_id", "client_secret", "merchant_key"),
            ("--orange-money-client-id", "--orange-money-client-secret", "--orange-money-merchant-key"),
        ),
        hosted.one_of(P, "country", "--orange-money-country", _countries),
    )

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret and self.merchant_key)
