"""`POST /v1/webhooks/paypal`: PayPal's webhooks, verified offline, read into payedge's terms.

Verification (certs.py): the four `PAYPAL-*` headers, the certificate from an
allowed URL, RSA-SHA256 over `transmission_id|transmission_time|webhook_id|crc32`.
The signature proves the event: its effect is applied as it says (SPEC 3.1
converges the order of deliveries):

- `PAYMENT.CAPTURE.COMPLETED`: succeeded, the capture's amount captured;
- `PAYMENT.CAPTURE.PENDING`: processing;
- `PAYMENT.CAPTURE.DENIED`, `.DECLINED`: a failed attempt (`requires_payment_method`, card_declined);
- `PAYMENT.CAPTURE.REFUNDED`, `.REVERSED`: the cumulative refunded amount when PayPal gives it
  (`seller_payable_breakdown.total_refunded_amount`), else a status read of the order;
- `CHECKOUT.ORDER.APPROVED`: none: recorded, then the status poller reads the order and captures it.

The payment is found by the order id (`supplementary_data.related_ids.order_id` of
a capture) or by `custom_id`, which payedge sets to its payment id.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from payedge_server.contracts import Store
from payedge_server.gateways.base import GatewayResult, InboundEvent, WebhookRejectedError
from payedge_server.gateways.http import field, text
from payedge_server.gateways.paypal.certs import Certificates, signed_message, verify
from payedge_server.gateways.paypal.orders import NAME, declined, minor
from payedge_server.gateways.polling import StatusPoller
from payedge_server.payments.model import PaymentStatus

ID, TIME, SIG, CERT, ALGO = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)
AUTH_ALGO = "SHA256withRSA"


def _seconds(value: Any) -> int | None:
    """An RFC 3339 time (`2026-11-30T10:00:00Z`) as UNIX seconds."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _unit_custom_id(resource: Mapping[str, Any]) -> str | None:
    units = resource.get("purchase_units")
    unit = units[0] if isinstance(units, list) and units and isinstance(units[0], dict) else {}
    return text(unit.get("custom_id"))


class PayPalWebhooks:
    provider = NAME

    def __init__(
        self,
        webhook_id: str | None,
        certs: Certificates | None,
        poller: StatusPoller | None = None,
        store: Store | None = None,
    ) -> None:
        self.webhook_id = webhook_id
        self.certs = certs
        self.poller = poller
        self.store = store

    async def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        if not self.webhook_id or self.certs is None:
            raise WebhookRejectedError(
                "webhook_not_configured", "the paypal gateway and --paypal-webhook-id are not configured"
            )
        sent = {name: headers.get(name) or "" for name in (ID, TIME, SIG, CERT)}
        for name, value in sent.items():
            if not value:
                raise WebhookRejectedError("invalid_signature", f"missing {name} header", name)
        if headers.get(ALGO, AUTH_ALGO) != AUTH_ALGO:
            raise WebhookRejectedError("invalid_signature", f"{ALGO} is not {AUTH_ALGO}", ALGO)
        key = await self.certs.key(sent[CERT])
        verify(key, sent[SIG], signed_message(sent[ID], sent[TIME], self.webhook_id, body))
        event = read_event(body)
        if event.follow_up is None and _asks_for_a_read(event):
            return await self._with_read(event)
        return event

    async def _with_read(self, event: InboundEvent) -> InboundEvent:
        """An approval (capture it) or a refund without its total: the poller reads the order."""
        poller, hint = self.poller, event.payment_hint
        if hint is None and event.object_ref and self.store is not None and poller is not None:
            ref = event.object_ref
            found = await self.store.read(lambda tx: poller.payments.find_in_tx(tx, NAME, ref, None))
            hint = found.id if found else None
        if poller is None or hint is None:
            return event
        pid, refund = hint, event.type != "CHECKOUT.ORDER.APPROVED"
        return InboundEvent(
            event.event_id, event.type, event.object_ref, hint, event.effect, event.problem,
            follow_up=lambda: poller.poke(pid, settled=refund),
        )  # fmt: skip


def _asks_for_a_read(event: InboundEvent) -> bool:
    return event.effect is None and event.problem is None and event.type in _READS


def read_event(body: bytes) -> InboundEvent:
    """A verified PayPal event as an InboundEvent (an unreadable one is recorded, never refused)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    event_id = text(data.get("id")) if isinstance(data, dict) else None
    event_type = text(data.get("event_type")) if isinstance(data, dict) else None
    if not isinstance(data, dict) or event_id is None or event_type is None:
        digest = hashlib.sha256(body).hexdigest()[:32]
        return InboundEvent(
            f"unparsed:{digest}", "unparsed", problem="not a PayPal event (no id or event_type)"
        )
    resource = data.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    reader = _READERS.get(event_type)
    if reader is None:
        return InboundEvent(event_id, event_type)
    return reader(event_id, event_type, resource, _seconds(data.get("create_time")))


Reader = Callable[[str, str, Mapping[str, Any], int | None], InboundEvent]


def _order_approved(event_id: str, kind: str, order: Mapping[str, Any], at: int | None) -> InboundEvent:
    return InboundEvent(event_id, kind, text(order.get("id")), _unit_custom_id(order))


def _capture(event_id: str, kind: str, capture: Mapping[str, Any], at: int | None) -> InboundEvent:
    order_id = text(field(capture, "supplementary_data", "related_ids", "order_id"))
    hint = text(capture.get("custom_id"))
    if order_id is None and hint is None:
        return InboundEvent(event_id, kind, problem=f"a {kind} event names neither its order nor custom_id")
    if kind == "PAYMENT.CAPTURE.COMPLETED":
        captured = minor(capture.get("amount"))
        if captured is None:
            return InboundEvent(
                event_id, kind, order_id, hint, problem="the capture's amount is not readable"
            )
        effect = GatewayResult(PaymentStatus.SUCCEEDED, order_id, amount_captured=captured, occurred_at=at)
    elif kind == "PAYMENT.CAPTURE.PENDING":
        effect = GatewayResult(PaymentStatus.PROCESSING, order_id, occurred_at=at)
    else:
        reason = text(field(capture, "status_details", "reason")) or kind.rsplit(".", 1)[-1]
        effect = GatewayResult(
            PaymentStatus.REQUIRES_PAYMENT_METHOD, order_id, error=declined(reason), occurred_at=at
        )
    return InboundEvent(event_id, kind, order_id, hint, effect)


def _refund(event_id: str, kind: str, refund: Mapping[str, Any], at: int | None) -> InboundEvent:
    order_id = text(field(refund, "supplementary_data", "related_ids", "order_id"))
    hint = text(refund.get("custom_id"))
    total = minor(field(refund, "seller_payable_breakdown", "total_refunded_amount"))
    if total is None:
        return InboundEvent(event_id, kind, order_id, hint)  # the poller reads the order
    effect = GatewayResult(PaymentStatus.SUCCEEDED, order_id, amount_refunded=total, occurred_at=at)
    return InboundEvent(event_id, kind, order_id, hint, effect)


_READERS: dict[str, Reader] = {
    "CHECKOUT.ORDER.APPROVED": _order_approved,
    "PAYMENT.CAPTURE.COMPLETED": _capture,
    "PAYMENT.CAPTURE.PENDING": _capture,
    "PAYMENT.CAPTURE.DENIED": _capture,
    "PAYMENT.CAPTURE.DECLINED": _capture,
    "PAYMENT.CAPTURE.REFUNDED": _refund,
    "PAYMENT.CAPTURE.REVERSED": _refund,
}
_READS = frozenset({"CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
