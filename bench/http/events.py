"""Pre-generate a stream of DISTINCT Stripe-signed webhook events for wrk.

wrk's Lua cannot sign (HMAC-SHA256 in Lua would cost more than the servers
under test), so every event is signed here with `payedge.sign_stripe` and
written as two files the Lua script loads:

- `template.json`: one ~1 KB `payment_intent.succeeded` event body with the
  placeholders `@@EVT@@` (event id) and `@@PI@@` (PaymentIntent id);
- `events.txt`: one line per event, `<evt id> <pi id> <Stripe-Signature header>`.

The body of event i is the template with its two ids substituted: the Lua script
rebuilds exactly the bytes that were signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import payedge


def sign_stripe(payload: bytes, secret: str, timestamp: int) -> str:
    """`payedge.sign_stripe` (SPEC 2.1); the same HMAC by hand while a build lacks it."""
    native = getattr(payedge, "sign_stripe", None)
    if native is not None:
        header: str = native(payload, secret, timestamp)
        return header
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


EVENT_PLACEHOLDER = "@@EVT@@"
PI_PLACEHOLDER = "@@PI@@"


def template(created: int) -> str:
    """A realistic Stripe event body (about 1 KB, the size the peer figures were measured with)."""
    event = {
        "id": EVENT_PLACEHOLDER,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {
            "object": {
                "id": PI_PLACEHOLDER,
                "object": "payment_intent",
                "amount": 2000,
                "amount_capturable": 0,
                "amount_received": 2000,
                "capture_method": "automatic",
                "client_secret": None,
                "confirmation_method": "automatic",
                "created": created,
                "currency": "eur",
                "customer": None,
                "description": "Parking Gare du Nord, bay 14",
                "latest_charge": "ch_3PbenchLatestCharge000",
                "livemode": False,
                "metadata": {"order_ref": "bench-order", "site": "gare-du-nord"},
                "payment_method": "pm_1PbenchPaymentMethod00",
                "payment_method_types": ["card"],
                "status": "succeeded",
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_benchRequest000", "idempotency_key": "bench-idempotency-key-0000"},
        "type": "payment_intent.succeeded",
    }
    return json.dumps(event, indent=2)


def body(tpl: str, event_id: str, pi_id: str) -> bytes:
    return tpl.replace(EVENT_PLACEHOLDER, event_id).replace(PI_PLACEHOLDER, pi_id).encode()


def ids(count: int, prefix: str) -> Iterator[tuple[str, str]]:
    for i in range(count):
        yield f"evt_{prefix}{i:09d}", f"pi_{prefix}{i:09d}"


def write_events(directory: Path, count: int, secret: str, *, prefix: str = "bench") -> float:
    """Write `count` distinct signed events into `directory`; returns the signing timestamp.

    Stripe's default tolerance is 300 s: the events must be sent within that.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    tpl = template(now)
    (directory / "template.json").write_text(tpl)
    with (directory / "events.txt").open("w") as out:
        for event_id, pi_id in ids(count, prefix):
            header = sign_stripe(body(tpl, event_id, pi_id), secret, now)
            out.write(f"{event_id} {pi_id} {header}\n")
    return float(now)
