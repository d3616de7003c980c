"""The `stripe` gateway: PaymentIntents through the official `stripe` package's async client.

`StripeClient` with its aiohttp HTTP client (one session, closed at shutdown),
`api_base` from `--stripe-api-base` (localstripe in tests). Idempotency keys are
passed through. Connection errors are retried with exponential backoff (the
client's own retries are off: they would also retry 409/429/5xx answers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import stripe

from payedge_server.gateways.base import (
    GatewayRejectedError,
    GatewayResult,
    GatewayUnavailableError,
)

log = logging.getLogger("payedge.stripe")

T = TypeVar("T")

# Stripe's PaymentIntent statuses -> payedge's.
_STATUS = {
    "requires_payment_method": "requires_payment_method",
    "requires_confirmation": "requires_confirmation",
    "requires_action": "processing",
    "processing": "processing",
    "requires_capture": "processing",
    "succeeded": "succeeded",
    "canceled": "canceled",
}


def _result(intent: Any) -> GatewayResult:
    status = _STATUS.get(intent.status, "processing")
    received = getattr(intent, "amount_received", None)
    return GatewayResult(
        status=status,
        gateway_ref=intent.id,
        amount_captured=int(received) if status == "succeeded" and received else None,
    )


class StripeGateway:
    name = "stripe"

    def __init__(
        self, api_key: str, api_base: str | None = None, *, retries: int = 3, backoff: float = 0.2
    ) -> None:
        base = {"api": api_base} if api_base else None
        self._http = stripe.AIOHTTPClient()
        self.client = stripe.StripeClient(
            api_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=0,
        )
        self.retries = retries
        self.backoff = backoff

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method.startswith("pm_"):
            return None
        return "a stripe payment method id starts with pm_"

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.retries + 1):
            try:
                return await fn()
            except stripe.APIConnectionError as exc:
                if attempt == self.retries:
                    raise GatewayUnavailableError(f"stripe unreachable: {exc.user_message or exc}") from None
                await asyncio.sleep(self.backoff * 2**attempt)
            except stripe.CardError:
                raise
            except stripe.InvalidRequestError as exc:
                raise GatewayRejectedError(
                    f"stripe_{exc.code or 'invalid_request'}",
                    f"stripe refused the request: {exc.user_message or exc}",
                    exc.param,
                ) from None
            except stripe.StripeError as exc:
                status = exc.http_status or 0
                if status >= 500 or status in (0, 429):
                    raise GatewayUnavailableError(f"stripe answered {status or 'an error'}") from None
                raise GatewayRejectedError(
                    f"stripe_{exc.code or 'error'}", f"stripe refused the request: {exc.user_message or exc}"
                ) from None
        raise GatewayUnavailableError("stripe unreachable")  # pragma: no cover (loop always returns/raises)

    async def create(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        params: dict[str, Any] = {
            "amount": payment["amount"],
            "currency": payment["currency"].lower(),
            "metadata": {**payment.get("metadata", {}), "payedge_payment_id": payment["id"]},
        }
        if payment.get("payment_method"):
            # localstripe (and a simple integration) attach the method at creation.
            params["payment_method"] = payment["payment_method"]
        intent = await self._call(
            lambda: self.client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return _result(intent)

    async def confirm(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        ref = payment["gateway_ref"]
        try:
            intent = await self._call(
                lambda: self.client.v1.payment_intents.confirm_async(
                    ref, None, {"idempotency_key": idempotency_key}
                )
            )
        except stripe.CardError as exc:
            return GatewayResult(
                "failed", ref, error_code=exc.code or "card_declined", error_message=exc.user_message
            )
        return _result(intent)

    async def cancel(self, payment: dict[str, Any], *, idempotency_key: str) -> GatewayResult:
        ref = payment["gateway_ref"]
        intent = await self._call(
            lambda: self.client.v1.payment_intents.cancel_async(
                ref, None, {"idempotency_key": idempotency_key}
            )
        )
        return _result(intent)

    async def refund(
        self, payment: dict[str, Any], amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        params = {"payment_intent": payment["gateway_ref"], "amount": amount}
        refund = await self._call(
            lambda: self.client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return str(refund.id)

    async def ready(self) -> bool:
        try:
            await self.client.v1.balance.retrieve_async()
        except stripe.StripeError:
            return False
        return True

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]
