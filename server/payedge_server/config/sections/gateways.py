"""[gateways]: one sub-section per gateway; a new gateway adds its module and one field here."""

from __future__ import annotations

from dataclasses import dataclass, field

from payedge_server.config.sections.sandbox import SandboxConfig
from payedge_server.config.sections.stripe import StripeConfig


@dataclass(frozen=True)
class GatewaysConfig:
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    stripe: StripeConfig = field(default_factory=StripeConfig)
