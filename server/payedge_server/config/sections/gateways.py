"""[gateways]: one sub-section per gateway; a new gateway adds its module and one field here."""

from __future__ import annotations

from dataclasses import dataclass, field

from payedge_server.config.sections.cinetpay import CinetPayConfig
from payedge_server.config.sections.mtn_momo import MtnMomoConfig
from payedge_server.config.sections.orange_money import OrangeMoneyConfig
from payedge_server.config.sections.paypal import PayPalConfig
from payedge_server.config.sections.sandbox import SandboxConfig
from payedge_server.config.sections.stripe import StripeConfig


@dataclass(frozen=True)
class GatewaysConfig:
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    stripe: StripeConfig = field(default_factory=StripeConfig)
    paypal: PayPalConfig = field(default_factory=PayPalConfig)
    cinetpay: CinetPayConfig = field(default_factory=CinetPayConfig)
    mtn_momo: MtnMomoConfig = field(default_factory=MtnMomoConfig)
    orange_money: OrangeMoneyConfig = field(default_factory=OrangeMoneyConfig)
