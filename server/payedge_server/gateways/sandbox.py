"""The built-in `sandbox` gateway: deterministic, no network (except its own async webhook).

Payment methods: `pm_sandbox_ok` succeeds, `pm_sandbox_decline` fails with
`card_declined`, `pm_sandbox_unavailable` behaves as an unreachable gateway,
`pm_sandbox_async` goes to `processing` and succeeds shortly afterwards through a
Standard-Webhooks-signed `payment.succeeded` event POSTed to the server's own
`/v1/webhooks/sandbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

import aiohttp
import orjson
import payedge

from payedge_server.gateways.base import GatewayResult, GatewayUnavailableError

log = logging.getLogger("payedge.sandbox")

PAYMENT_METHODS = ("pm_sandbox_ok", "pm_sandbox_decline", "pm_sandbox_unavailable", "pm_sandbox_async")


def new_webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sandbox_event(payment_id: str, amount: int, event_type: str = "payment.succeeded") -> dict[str, Any]:
    return {
        "id": "evt_sb_" + secrets.token_hex(12),
        "type": event_type,
        "created": int(time.time()),
        "data": {"payment_id": payment_id, "amount": amount},
    }


def signed_headers(body: bytes, msg_id: str, secret: str) -> dict[str, str]:
    ts = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": payedge.sign_standard(msg_id, ts, body, secret),
        "content-type": "application/json",
    }


class SandboxGateway:
    name = "sandbox"

    def __init__(self, webhook_url: str, webhook_secret: str, *, async_delay: float = 0.2) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.async_delay = async_delay
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method in PAYMENT_METHODS:
            return None
        return "the sandbox gateway accepts " + ", ".join(PAYMENT_METHODS)

    async def create(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        status = "requires_confirmation" if payment.get("payment_method") else "requires_payment_method"
        return GatewayResult(status=status, gateway_ref="sb_" + payment["id"])

    def confirm_now(self, payment: dict[str, Any]) -> GatewayResult:
        pm = payment.get("payment_method")
        ref = payment.get("gateway_ref") or "sb_" + payment["id"]
        if pm == "pm_sandbox_ok":
            return GatewayResult("succeeded", ref, amount_captured=payment["amount"])
        if pm == "pm_sandbox_decline":
            return GatewayResult(
                "failed", ref, error_code="card_declined", error_message="the card was declined"
            )
        if pm == "pm_sandbox_unavailable":
            raise GatewayUnavailableError("the sandbox gateway is unreachable (pm_sandbox_unavailable)")
        if pm == "pm_sandbox_async":
            return GatewayResult("processing", ref)
        return GatewayResult("failed", ref, error_code="invalid_payment_method", error_message="unknown")

    def after_confirm(self, payment: dict[str, Any], result: GatewayResult) -> None:
        if payment.get("payment_method") == "pm_sandbox_async" and result.status == "processing":
            self._spawn(self._deliver_later(payment["id"], payment["amount"]))

    async def confirm(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        result = self.confirm_now(payment)
        self.after_confirm(payment, result)
        return result

    async def cancel(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        return GatewayResult("canceled", payment.get("gateway_ref"))

    async def refund(
        self, payment: dict[str, Any], amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        return "sbre_" + refund_id

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- async mode ------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_later(self, payment_id: str, amount: int) -> None:
        await asyncio.sleep(self.async_delay)
        event = sandbox_event(payment_id, amount)
        body = orjson.dumps(event)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        # Like a real provider: the same event (same webhook-id) is retried until acknowledged.
        for attempt in range(8):
            headers = signed_headers(body, event["id"], self.webhook_secret)
            try:
                async with self._session.post(self.webhook_url, data=body, headers=headers) as resp:
                    if resp.status < 300:
                        return
                    log.warning("sandbox webhook answered %s (attempt %d)", resp.status, attempt + 1)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "sandbox webhook delivery failed: %s (attempt %d)", type(exc).__name__, attempt + 1
                )
            await asyncio.sleep(min(0.25 * 2**attempt, 5.0))
        log.error("sandbox webhook for %s given up after 8 attempts", payment_id)
