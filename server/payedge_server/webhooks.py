"""POST /v1/webhooks/{provider}: verify, dedupe, apply, answer after the commit.

stripe: `payedge.parse_stripe_event` verifies and parses in one native call with
every configured secret. sandbox: `payedge.verify_standard`. Then:
1. `payedge.Deduper` holds event ids already *committed*: a hot duplicate is
   answered without touching the store. (Ids are inserted after the commit, so a
   delivery is never called a duplicate of one that is not yet durable.)
2. One store write: INSERT OR IGNORE on (provider, event_id) -- the durable
   truth -- and, for a first delivery, the payment transition in the same
   transaction. Unknown types and objects are recorded and acknowledged.
3. 200 `{"received": true, "duplicate": ...}` once that write is committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
import payedge
from aiohttp import web

from payedge_server import metrics
from payedge_server.contracts import Tx
from payedge_server.errors import JSON, ApiError
from payedge_server.gateways.base import GatewayResult
from payedge_server.payments.service import PaymentService
from payedge_server.payments.validation import PAYMENT_ID
from payedge_server.store.records import now_ms

log = logging.getLogger("payedge.webhooks")

_FIRST = b'{"received":true,"duplicate":false}'
_DUPLICATE = b'{"received":true,"duplicate":true}'

# Stripe event types payedge acts on -> the payment status they report.
STRIPE_EFFECTS = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
    "payment_intent.processing": "processing",
}
SANDBOX_EFFECTS = {
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.canceled": "canceled",
}


@dataclass(frozen=True, slots=True)
class RefundedAtGateway:
    """A Stripe `charge.refunded`: the charge's cumulative refunded amount (a dashboard
    refund, or one payedge made); the payment catches up with it."""

    amount_refunded: int
    refund_ref: str | None


Parsed = tuple[str, str, str | None, str | None, GatewayResult | RefundedAtGateway | None]
"""event id, event type, provider object id, payedge payment id hint, effect."""

# A first delivery, classified by whether its payment is known (by the provider's
# object id, or by the payedge payment id the provider echoes in metadata).
_INSERT_CLASSIFIED = (
    "INSERT OR IGNORE INTO webhook_events (provider, event_id, type, object_id, outcome, received_at) "
    "SELECT ?, ?, ?, ?, CASE WHEN EXISTS (SELECT 1 FROM payments WHERE gateway = ? AND gateway_ref = ?) "
    "OR EXISTS (SELECT 1 FROM payments WHERE id = ? AND gateway = ?) "
    "THEN 'applied' ELSE 'unknown_object' END, ? RETURNING outcome"
)

_INSERT = (
    "INSERT OR IGNORE INTO webhook_events (provider, event_id, type, object_id, outcome, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class _Outcomes:
    """The webhook outcome counters of one provider."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def inc(self, name: str) -> None:
        metrics.WEBHOOKS.inc(self.provider, name)


class WebhookIngest:
    def __init__(
        self,
        payments: PaymentService,
        *,
        stripe_secrets: tuple[str, ...],
        sandbox_secret: str,
        deduper: Any | None = None,
    ) -> None:
        self.payments = payments
        self.store = payments.store
        self.stripe_secrets = list(stripe_secrets)
        self.sandbox_secret = sandbox_secret
        self.deduper = (
            deduper if deduper is not None else payedge.Deduper(ttl=259200.0, max_entries=2_000_000)
        )
        self._metrics = {name: _Outcomes(name) for name in ("stripe", "sandbox")}

    async def handle(self, request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        if provider == "stripe":
            parsed = await self._stripe(request)
        elif provider == "sandbox":
            parsed = await self._sandbox(request)
        else:
            raise ApiError(404, "unknown_provider", f"no webhook endpoint for provider {provider[:40]!r}")
        outcomes = self._metrics[provider]
        event_id, event_type, object_id, hint, effect = parsed
        key = provider + ":" + event_id
        deduper = self.deduper
        if key in deduper:
            outcomes.inc("duplicate")
            return web.Response(body=_DUPLICATE, content_type=JSON)
        outcome = await self.store.write(
            lambda tx: self._record(
                tx,
                provider=provider,
                event_id=event_id,
                event_type=event_type,
                object_id=object_id,
                hint=hint,
                effect=effect,
            )
        )
        deduper.check_and_insert(key)
        outcomes.inc(outcome)
        return web.Response(body=_DUPLICATE if outcome == "duplicate" else _FIRST, content_type=JSON)

    # -- providers --------------------------------------------------------
    async def _stripe(self, request: web.Request) -> Parsed:
        if not self.stripe_secrets:
            raise ApiError(
                400, "webhook_not_configured", "no --stripe-webhook-secret is configured on this server"
            )
        body = await request.read()
        header = request.headers.get("Stripe-Signature")
        if not header:
            self._metrics["stripe"].inc("invalid")
            raise ApiError(400, "invalid_signature", "missing Stripe-Signature header", "Stripe-Signature")
        try:
            event = payedge.parse_stripe_event(body, header, self.stripe_secrets)
        except payedge.SignatureError as exc:
            log.debug("stripe webhook refused: %s", exc)
            self._metrics["stripe"].inc("invalid")
            raise ApiError(400, "invalid_signature", str(exc), "Stripe-Signature") from None
        except payedge.PayedgeError as exc:
            self._metrics["stripe"].inc("invalid")
            raise ApiError(400, "invalid_payload", f"the event could not be parsed: {exc}") from None
        if event.type == "charge.refunded":
            return _charge_refunded(event)
        status = STRIPE_EFFECTS.get(event.type)
        effect = None
        if status is not None and event.object_id:
            received = event.amount_received if status == "succeeded" else None
            effect = GatewayResult(
                status,
                event.object_id,
                amount_captured=received,
                error_code="payment_failed" if status == "failed" else None,
                error_message="the payment failed (stripe webhook)" if status == "failed" else None,
            )
        hint = event.metadata.get("payedge_payment_id") if event.metadata else None
        return event.id, event.type, event.object_id, hint, effect

    async def _sandbox(self, request: web.Request) -> Parsed:
        body = await request.read()
        h = request.headers
        headers = {
            "webhook-id": h.get("webhook-id", ""),
            "webhook-timestamp": h.get("webhook-timestamp", ""),
            "webhook-signature": h.get("webhook-signature", ""),
        }
        try:
            event_id = payedge.verify_standard(body, headers, [self.sandbox_secret])
        except payedge.SignatureError as exc:
            self._metrics["sandbox"].inc("invalid")
            raise ApiError(400, "invalid_signature", str(exc), "webhook-signature") from None
        try:
            event = orjson.loads(body)
            event_type = str(event["type"])
            payment_id = event["data"]["payment_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise ApiError(400, "invalid_payload", "not a sandbox event") from None
        status = SANDBOX_EFFECTS.get(event_type)
        effect = None
        if status is not None and isinstance(payment_id, str):
            effect = GatewayResult(
                status,
                None,
                error_code="card_declined" if status == "failed" else None,
                error_message="the card was declined" if status == "failed" else None,
            )
        pid = payment_id if isinstance(payment_id, str) else None
        return event_id, event_type, pid, pid, effect

    # -- the write ----------------------------------------------------------
    def _record(
        self,
        tx: Tx,
        *,
        provider: str,
        event_id: str,
        event_type: str,
        object_id: str | None,
        hint: str | None,
        effect: GatewayResult | RefundedAtGateway | None,
    ) -> str:
        """Record the event (durable dedupe) and apply its effect; returns the outcome.

        One statement records a first delivery and says whether it concerns a
        known payment: INSERT OR IGNORE ... RETURNING returns no row for a
        duplicate. Only an event about a known payment reads and changes it.
        """
        now = now_ms()
        if effect is None:
            inserted = tx.execute(_INSERT, (provider, event_id, event_type, object_id, "unhandled_type", now))
            return "unhandled_type" if inserted else "duplicate"
        ref = object_id if provider != "sandbox" else None
        pid = hint if hint and PAYMENT_ID.fullmatch(hint) else None
        row = tx.fetchone(
            _INSERT_CLASSIFIED,
            (provider, event_id, event_type, object_id, provider, ref, pid, provider, now),
        )
        if row is None:
            return "duplicate"
        if row[0] != "applied":
            return str(row[0])
        payment = self.payments.find_by_gateway_ref_in_tx(tx, provider, ref) if ref else None
        if payment is None and pid:
            payment = self.payments.load_in_tx(tx, pid)
        assert payment is not None  # the INSERT found it in this transaction
        before = payment["version"]
        source = f"webhook:{provider}:{event_id}"
        if isinstance(effect, RefundedAtGateway):
            after = self.payments.sync_refunded_in_tx(
                tx, payment, effect.amount_refunded, effect.refund_ref, source=source
            )
        else:
            after = self.payments.apply_gateway_status_in_tx(tx, payment, effect, source=source)
        if after["version"] == before:
            tx.execute(
                "UPDATE webhook_events SET outcome = 'ignored' WHERE provider = ? AND event_id = ?",
                (provider, event_id),
            )
            return "ignored"
        return "applied"


def _charge_refunded(event: payedge.StripeEvent) -> Parsed:
    """`charge.refunded`: the object is a Charge; its payment is found by `payment_intent`.

    Read from the raw event only for this rare type (the native parser's fields
    are those of a PaymentIntent). A charge without a payment intent or a
    cumulative `amount_refunded` is recorded and acknowledged, not acted on.
    """
    try:
        charge = orjson.loads(event.raw)["data"]["object"]
        pi = charge.get("payment_intent")
        refunded = charge.get("amount_refunded")
        refunds = (charge.get("refunds") or {}).get("data") or []
        ref = refunds[0].get("id") if refunds and isinstance(refunds[0], dict) else None
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return event.id, event.type, event.object_id, None, None
    if not isinstance(pi, str) or not isinstance(refunded, int) or isinstance(refunded, bool) or refunded < 0:
        return event.id, event.type, event.object_id, None, None
    return event.id, event.type, pi, None, RefundedAtGateway(refunded, ref if isinstance(ref, str) else None)
