"""[gateways.sandbox]: the built-in deterministic gateway (SPEC 3)."""

from __future__ import annotations

from dataclasses import dataclass

from payedge_server.config.fallbacks import Persisted
from payedge_server.config.kinds import Invalid, Seconds, Text
from payedge_server.config.schema import setting


def _new_secret() -> str:
    from payedge_server.gateways.sandbox import new_webhook_secret

    return new_webhook_secret()


def _standard_secret(secret: str) -> None:
    """A Standard Webhooks secret (`whsec_` + base64): what the core signs with."""
    import payedge

    try:
        payedge.sign_standard("msg_check", 0, b"", secret)
    except payedge.PayedgeError:
        raise Invalid("is not a Standard Webhooks secret (whsec_ followed by base64)") from None


@dataclass(frozen=True)
class SandboxConfig:
    async_delay: float = setting(
        Seconds(0, 86400),
        0.2,
        help="seconds between a pm_sandbox_async confirmation and its webhook",
        flag="--sandbox-async-delay",
        env="PAYEDGE_SANDBOX_ASYNC_DELAY",
    )
    webhook_secret: str | None = setting(
        Text(check=_standard_secret),
        None,
        help="Standard Webhooks secret the sandbox signs its webhooks with",
        flag="--sandbox-webhook-secret",
        env="PAYEDGE_SANDBOX_WEBHOOK_SECRET",
        secret=True,
        fallback=Persisted(
            "sandbox_webhook_secret",
            _new_secret,
            doc="generated once, kept in `<data_dir>/sandbox_webhook_secret`",
        ),
    )
