"""Payment gateways behind one interface (`base.Gateway`): `sandbox` built in, `stripe` when configured."""

from __future__ import annotations

from payedge_server.gateways.base import (
    Gateway,
    GatewayRejectedError,
    GatewayResult,
    GatewayUnavailableError,
)

__all__ = ["Gateway", "GatewayRejectedError", "GatewayResult", "GatewayUnavailableError"]
