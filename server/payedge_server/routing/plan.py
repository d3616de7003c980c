"""What routing hands the confirm: the gateways to try, in order, and why the others are left out.

A `Plan` is a `payedge.Decision` narrowed to the gateways that can take this payment
here (configured on this instance, able to carry its amount and currency exactly,
accepting its payment method); `skipped` says why each other gateway of the rule
was left out, the router's reasons (`circuit_open`, `probe_in_flight`, `half_open`)
and the server's (`not_configured`, `amount_not_representable`,
`currency_not_supported`, `payment_method_not_accepted`). A payment that names its
gateway is *pinned*: its plan is that gateway alone, with no rule.

`Tried` is one attempt's outcome in the terms health cares about.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PINNED = "pinned"  # the approach of a payment that names its gateway


@dataclass(frozen=True, slots=True)
class Plan:
    gateways: tuple[str, ...]  # try order; never empty for a payment (a preview's may be)
    rule: str | None = None  # the matched rule, "default", or None (pinned)
    approach: str = PINNED
    skipped: Mapping[str, str] = field(default_factory=dict)
    probe: str | None = None  # this payment carries that half-open gateway's one probe
    hedged: bool = False

    @staticmethod
    def pinned(gateway: str) -> Plan:
        return Plan((gateway,))

    @property
    def routed(self) -> bool:
        return self.rule is not None

    def without(self, gateway: str, why: str) -> Plan:
        """The plan with `gateway` left out for `why` (its probe dropped with it)."""
        return dataclasses.replace(
            self,
            gateways=tuple(g for g in self.gateways if g != gateway),
            skipped={**self.skipped, gateway: why},
            probe=None if self.probe == gateway else self.probe,
        )

    def view(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "approach": self.approach,
            "gateways": list(self.gateways),
            "skipped": dict(self.skipped),
            "probe": self.probe,
            "hedged": self.hedged,
        }


class Outcome(StrEnum):
    """One attempt at a gateway, as health counts it (docs/routing.md, "Health in the server")."""

    SUCCEEDED = "succeeded"  # the money was taken
    PROCESSING = "processing"  # accepted: the payer acts at the provider (hosted), or it settles later
    DECLINED = "declined"  # the payer's answer (a decline, a failed attempt): not the gateway's health
    REJECTED = "rejected"  # the provider refused this request (4xx): not its health either
    UNAVAILABLE = "unavailable"  # proved: nothing was taken (refused connection, 5xx after a retry...)
    TIMEOUT = "timeout"  # sent, no answer in time (settled by a status read, or still unknown)

    @property
    def ok(self) -> bool:
        return self in (Outcome.SUCCEEDED, Outcome.PROCESSING)

    @property
    def failure_class(self) -> str | None:
        """The elimination bucket it fills: only failures that say something about the gateway."""
        return self.value if self in (Outcome.UNAVAILABLE, Outcome.TIMEOUT) else None


@dataclass(frozen=True, slots=True)
class Tried:
    """One attempt, for health and metrics (fed once its write is committed)."""

    gateway: str
    outcome: Outcome
    latency_ms: float
    currency: str
    payment_method_type: str | None
