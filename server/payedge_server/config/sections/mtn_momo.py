"""[gateways.mtn_momo]: MTN MoMo Collection (SPEC 5); enabled by a subscription key, API user and key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from payedge_server.config.kinds import Text
from payedge_server.config.schema import Check
from payedge_server.config.sections import hosted

P = "mtn_momo"


def _environments() -> list[str]:
    from payedge_server.gateways.mtn_momo import ENVIRONMENTS

    return sorted(ENVIRONMENTS)


@dataclass(frozen=True)
class MtnMomoConfig:
    api_base: str = hosted.api_base(P, "https://sandbox.momodeveloper.mtn.com", "MoMo Open API")
    subscription_key: str | None = hosted.named(
        P, "subscription_key", Text(), None, "the Collection product's Ocp-Apim-Subscription-Key", secret=True
    )
    api_user: str | None = hosted.named(P, "api_user", Text(), None, "the API user (a UUID)")
    api_key: str | None = hosted.named(P, "api_key", Text(), None, "the API user's key", secret=True)
    target_environment: str = hosted.named(
        P, "target_environment", Text(), "sandbox", "X-Target-Environment (sandbox, mtnuganda, ...)"
    )
    timeout: float = hosted.timeout(P)
    poll_interval: float = hosted.poll_interval(P)
    poll_max_interval: float = hosted.poll_max_interval(P)
    poll_for: float = hosted.poll_for(P)

    checks: ClassVar[tuple[Check, ...]] = (
        hosted.all_or_none(
            P,
            ("subscription_key", "api_user", "api_key"),
            ("--mtn-momo-subscription-key", "--mtn-momo-api-user", "--mtn-momo-api-key"),
        ),
        hosted.one_of(P, "target_environment", "--mtn-momo-target-environment", _environments),
    )

    @property
    def enabled(self) -> bool:
        return bool(self.subscription_key and self.api_user and self.api_key)
