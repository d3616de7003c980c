"""Events about a payment payedge does not know yet, kept until it does (SPEC 3.1).

A provider may deliver an event before payedge has written the payment it is about
(the webhook of a PaymentIntent races the answer to the call that created it). The
ingest records such an event as `unknown_object` with its effect; when the payment
is created or learns its provider id, `take_in_tx` returns those effects (in the
order they were received) and marks them applied, in the same transaction.
"""

from __future__ import annotations

from typing import Any

import orjson

from payedge_server.contracts import Tx
from payedge_server.gateways.base import GatewayResult
from payedge_server.payments.model import LastError, PaymentStatus

_TAKE = (
    "SELECT event_id, effect FROM webhook_events WHERE provider = ? AND outcome = 'unknown_object' "
    "AND effect IS NOT NULL AND (object_id = ? OR hint = ?) ORDER BY received_at, event_id"
)
_APPLIED = "UPDATE webhook_events SET outcome = 'applied', effect = NULL WHERE provider = ? AND event_id = ?"


def dumps(effect: GatewayResult) -> str:
    error = effect.error
    data: dict[str, Any] = {
        "status": effect.status,  # a StrEnum: orjson writes its value (faster than reading .value)
        "ref": effect.gateway_ref,
        "captured": effect.amount_captured,
        "refunded": effect.amount_refunded,
        "at": effect.occurred_at,
    }
    if error is not None:
        data["error"] = [error.code, error.message, error.gateway_code]
    return orjson.dumps(data).decode()


def loads(text: str) -> GatewayResult:
    data = orjson.loads(text)
    error = data.get("error")
    return GatewayResult(
        PaymentStatus(data["status"]),
        data.get("ref"),
        amount_captured=data.get("captured"),
        amount_refunded=data.get("refunded"),
        error=LastError(*error) if error else None,
        occurred_at=data.get("at"),
    )


def take_in_tx(tx: Tx, provider: str, ref: str | None, payment_id: str) -> list[tuple[str, GatewayResult]]:
    rows = tx.fetchall(_TAKE, (provider, ref, payment_id))
    for event_id, _ in rows:
        tx.execute(_APPLIED, (provider, event_id))
    return [(str(event_id), loads(effect)) for event_id, effect in rows]
