"""The PayPal gateway: an order per payment, the payer's approval, one capture, refunds of it.

- `create` makes the order (`intent: CAPTURE`, `custom_id` = the payedge payment id,
  the return and cancel URLs) with `PayPal-Request-Id` `<payment>:create`; the
  order id is the payment's `gateway_ref`. An order moves no money, so a create
  whose answer is lost is "unavailable": the unanswered order is never approved.
- `confirm` reads the order: not approved yet, the payment is `processing` with
  `next_action` `{type: redirect, url: <approve link>}`; approved, it captures it
  (`PayPal-Request-Id` from the confirm). A declined capture
  (`INSTRUMENT_DECLINED`) sends the order back to the payer: the payment is
  `requires_payment_method` with the error, and a new confirm redirects again.
- once the payer approves, the capture is made by the status poller
  (`reconcile`), after the `CHECKOUT.ORDER.APPROVED` webhook or a poll: PayPal
  allows one capture per order, so racing captures cannot take the money twice.
- `refund` refunds the order's capture (`PayPal-Request-Id` from the refund).
- `cancel` is local: an order that is never approved moves no money (Orders v2
  has no call to cancel one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payedge_server.config.sections.paypal import PayPalConfig
from payedge_server.gateways.base import (
    GatewayRejectedError,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
)
from payedge_server.gateways.http import ProviderHttp, Reply, text
from payedge_server.gateways.paypal.api import PayPalApi, error_of
from payedge_server.gateways.paypal.orders import NAME, SCALE, declined, first_capture, money, order_result
from payedge_server.gateways.polling import PollPolicy
from payedge_server.payments.model import Payment, PaymentStatus

PAYMENT_METHOD = "paypal"
#: Capture answers that mean "read the order": someone captured it, or it is not approved.
_READ_ORDER = ("ORDER_ALREADY_CAPTURED", "ORDER_NOT_APPROVED", "ORDER_COMPLETED_OR_VOIDED")


def _rejected(reply: Reply, what: str) -> Exception:
    err = error_of(reply)
    if reply.status >= 500 or reply.status in (401, 403, 429):
        return GatewayUnavailableError(f"paypal answered {reply.status} {err.code} to {what}")
    return GatewayRejectedError(
        "gateway_rejected", f"paypal refused {what}: {err.description}", gateway_code=err.code
    )


class PayPalGateway:
    name = NAME

    def __init__(self, config: PayPalConfig, return_url: str) -> None:
        assert config.client_id and config.client_secret
        self.api = PayPalApi(config.api_base, config.client_id, config.client_secret, config.timeout)
        self.return_url = return_url
        self.poll = PollPolicy(config.poll_interval, config.poll_max_interval, config.poll_for)

    @property
    def http(self) -> ProviderHttp:
        return self.api.http

    def check_payment_method(self, payment_method: str) -> str | None:
        return (
            None if payment_method == PAYMENT_METHOD else "the paypal gateway takes payment_method 'paypal'"
        )

    def check_amount(self, amount: int, currency: str) -> None:
        SCALE.to_provider(amount, currency)

    # -- outbound -------------------------------------------------------------------------
    async def create(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        back = self.return_url.replace("{payment_id}", payment.id)
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{"amount": money(payment.amount, payment.currency), "custom_id": payment.id}],
            "payment_source": {
                "paypal": {
                    "experience_context": {"return_url": back, "cancel_url": back, "user_action": "PAY_NOW"}
                }
            },
        }
        try:
            reply = await self.api.call("POST", "/v2/checkout/orders", body, idempotency_key)
        except GatewayTimeoutError as exc:
            # An order takes no money: one whose answer was lost is simply never approved.
            raise GatewayUnavailableError(
                f"{exc}; no money moves without an approved, captured order"
            ) from None
        order_id = text(reply.object().get("id")) if reply.ok else None
        if order_id is None:
            if reply.ok:
                raise GatewayUnavailableError("paypal answered an order creation without an order id")
            raise _rejected(reply, "the order")
        status = PaymentStatus.REQUIRES_CONFIRMATION if payment.payment_method else None
        return GatewayResult(status or PaymentStatus.REQUIRES_PAYMENT_METHOD, order_id)

    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        order = await self._order(payment)
        if order is None:
            raise GatewayRejectedError(
                "gateway_rejected", "paypal has no order for this payment", gateway_code="RESOURCE_NOT_FOUND"
            )
        if order.get("status") == "APPROVED":
            return await self._capture(payment, idempotency_key)
        return order_result(order, payment.replace(status=PaymentStatus.PROCESSING))

    async def _order(self, payment: Payment) -> Mapping[str, Any] | None:
        if payment.gateway_ref is None:
            return None
        reply = await self.api.call("GET", f"/v2/checkout/orders/{payment.gateway_ref}")
        if reply.status == 404:
            return None
        order = reply.object()
        if not reply.ok or not order:
            raise GatewayUnavailableError(f"paypal answered {reply.status} to an order read")
        return order

    async def _capture(self, payment: Payment, request_id: str) -> GatewayResult:
        order_id = payment.gateway_ref
        assert order_id is not None
        reply = await self.api.call("POST", f"/v2/checkout/orders/{order_id}/capture", {}, request_id)
        if reply.ok:
            order = reply.object()
            if not order:
                raise GatewayTimeoutError("paypal answered a capture with an unreadable body")
            return order_result(order, payment)
        err = error_of(reply)
        if err.issue == "INSTRUMENT_DECLINED":
            return GatewayResult(PaymentStatus.REQUIRES_PAYMENT_METHOD, order_id, error=declined(err.code))
        if err.issue in _READ_ORDER:
            return await self._read(payment)
        raise _rejected(reply, "the capture")

    async def _read(self, payment: Payment) -> GatewayResult:
        order = await self._order(payment)
        if order is None:
            raise GatewayUnavailableError("paypal lost the order it was asked to capture")
        return order_result(order, payment)

    async def cancel(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        return GatewayResult(PaymentStatus.CANCELED, payment.gateway_ref)

    async def refund(
        self, payment: Payment, amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        order = await self._order(payment)
        capture = first_capture(order) if order else None
        capture_id = text(capture.get("id")) if capture else None
        if capture_id is None:
            raise GatewayRejectedError("gateway_rejected", "paypal has no capture to refund for this payment")
        body = {"amount": money(amount, payment.currency), "custom_id": payment.id, "invoice_id": refund_id}
        reply = await self.api.call(
            "POST", f"/v2/payments/captures/{capture_id}/refund", body, idempotency_key
        )
        refund = text(reply.object().get("id")) if reply.ok else None
        if refund is None:
            if reply.ok:
                raise GatewayTimeoutError("paypal answered a refund without its id")
            raise _rejected(reply, "the refund")
        return refund

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        order = await self._order(payment)
        return order_result(order, payment) if order is not None else None

    async def reconcile(self, payment: Payment) -> GatewayResult | None:
        """A status read; an order the payer approved is captured (one capture per order at PayPal)."""
        order = await self._order(payment)
        if order is None:
            return None
        if order.get("status") == "APPROVED" and payment.status is PaymentStatus.PROCESSING:
            return await self._capture(payment, f"{payment.id}:capture:{payment.version}")
        return order_result(order, payment)

    async def ready(self) -> bool:
        try:
            await self.api.tokens.get()
        except GatewayUnavailableError:
            return False
        return True

    async def close(self) -> None:
        await self.api.http.close()
