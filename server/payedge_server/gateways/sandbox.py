"""The built-in `sandbox` gateway: deterministic, no network (except its own async webhook).

Payment methods: `pm_sandbox_ok` succeeds, `pm_sandbox_decline` fails with
`card_declined`, `pm_sandbox_unavailable` behaves as an unreachable gateway,
`pm_sandbox_async` goes to `processing` and succeeds `async_delay` seconds later
(`--sandbox-async-delay`, 0.2 s by default) through a Standard-Webhooks-signed
`payment.succeeded` event POSTed to the server's own `/v1/webhooks/sandbox`.

That webhook is durable, like a real provider's: the event (id and body) is
written to `sandbox_deliveries` in the SAME write that moves the payment to
`processing`, and a background task (`run_deliveries`, started by the app in a
cleanup context) POSTs it once due, marks it delivered only after a 2xx, and
otherwise retries the same event with exponential backoff, without giving up.
A process killed in between leaves the row; the next process delivers it. The
ingest dedupes by event id, so a redelivery (killed after the 2xx, before the
mark) is answered `duplicate` and changes nothing.

Several processes (`--workers N`) share the table: a row is claimed in a store
write (a lease, `claimed_until`), and store writes are serialised across
processes, so two processes never post the same row at once. The process that
scheduled a row delivers it; another one takes it over only once it is
`TAKEOVER_GRACE` seconds overdue (its owner died or is stuck), so the workers do
not all race for every row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
import payedge

from payedge_server.contracts import Store, Tx
from payedge_server.gateways.amounts import Scale
from payedge_server.gateways.base import (
    GatewayResult,
    GatewayUnavailableError,
    InboundEvent,
    WebhookRejectedError,
)
from payedge_server.payments.model import LastError, Payment, PaymentStatus

log = logging.getLogger("payedge.sandbox")

NAME = "sandbox"
SCALE = Scale(NAME)  # ISO 4217 minor units as they are: every currency the core knows
PAYMENT_METHODS = ("pm_sandbox_ok", "pm_sandbox_decline", "pm_sandbox_unavailable", "pm_sandbox_async")
DEFAULT_ASYNC_DELAY = 0.2

POST_TIMEOUT = 5.0  # one delivery attempt
LEASE = 15.0  # a claimed row is left alone this long (longer than an attempt)
TAKEOVER_GRACE = 2.0  # a row overdue this long is delivered by any process
POLL = 2.0  # how often an idle process looks for rows of others (dead processes)
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 60.0
CLAIM_BATCH = 32

_SCHEDULE = (
    "INSERT INTO sandbox_deliveries (event_id, payment_id, body, due_at, owner, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
# When this process may next claim something (None: nothing pending).
_NEXT = (
    "SELECT MIN(CASE WHEN d.due > d.claimed THEN d.due ELSE d.claimed END) FROM (SELECT "
    "CASE WHEN owner = ? THEN due_at ELSE due_at + ? END AS due, COALESCE(claimed_until, 0) AS claimed "
    "FROM sandbox_deliveries WHERE delivered_at IS NULL) AS d"
)
_CLAIM = (
    "UPDATE sandbox_deliveries SET claimed_until = ?, owner = ?, attempts = attempts + 1 "
    "WHERE event_id IN (SELECT event_id FROM sandbox_deliveries WHERE delivered_at IS NULL "
    "AND (claimed_until IS NULL OR claimed_until <= ?) "
    "AND CASE WHEN owner = ? THEN due_at ELSE due_at + ? END <= ? ORDER BY due_at LIMIT ?) "
    "RETURNING event_id, payment_id, body, attempts"
)
_DELIVERED = (
    "UPDATE sandbox_deliveries SET delivered_at = ?, claimed_until = NULL WHERE event_id = ? AND owner = ?"
)
_RETRY = "UPDATE sandbox_deliveries SET due_at = ?, claimed_until = NULL WHERE event_id = ? AND owner = ?"
_RELEASE = (
    "UPDATE sandbox_deliveries SET claimed_until = NULL "
    "WHERE owner = ? AND delivered_at IS NULL AND claimed_until IS NOT NULL"
)


def _ms(seconds: float) -> int:
    """Stored times are UNIX milliseconds (one policy for every table)."""
    return int(seconds * 1000)


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


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1` (attempts >= 1), with a little jitter."""
    base = min(BACKOFF_FIRST * 2 ** min(attempts - 1, 16), BACKOFF_MAX)
    return float(base * random.uniform(0.9, 1.1))  # jitter, not a secret


class SandboxGateway:
    """Decides in-process (`LocalGateway`); a decline is final (the sandbox takes no second attempt)."""

    name = NAME

    def __init__(
        self, webhook_url: str, webhook_secret: str, *, async_delay: float = DEFAULT_ASYNC_DELAY
    ) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.async_delay = async_delay
        # Marks the rows this process scheduled or claimed (sandbox_deliveries.owner).
        self.owner = secrets.token_hex(8)
        self._session: aiohttp.ClientSession | None = None
        self._store: Store | None = None
        self._wake: asyncio.Event | None = None

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method in PAYMENT_METHODS:
            return None
        return "the sandbox gateway accepts " + ", ".join(PAYMENT_METHODS)

    def check_amount(self, amount: int, currency: str) -> None:
        SCALE.to_provider(amount, currency)

    async def create(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        status = (
            PaymentStatus.REQUIRES_CONFIRMATION
            if payment.payment_method
            else PaymentStatus.REQUIRES_PAYMENT_METHOD
        )
        return GatewayResult(status=status, gateway_ref="sb_" + payment.id)

    def confirm_now(self, payment: Payment) -> GatewayResult:
        pm = payment.payment_method
        ref = payment.gateway_ref or "sb_" + payment.id
        if pm == "pm_sandbox_ok":
            return GatewayResult(PaymentStatus.SUCCEEDED, ref, amount_captured=payment.amount)
        if pm == "pm_sandbox_decline":
            error = LastError("card_declined", "the card was declined", "card_declined")
            return GatewayResult(PaymentStatus.FAILED, ref, error=error)
        if pm == "pm_sandbox_unavailable":
            raise GatewayUnavailableError("the sandbox gateway is unreachable (pm_sandbox_unavailable)")
        if pm == "pm_sandbox_async":
            return GatewayResult(PaymentStatus.PROCESSING, ref)
        error = LastError("payment_method_invalid", "unknown sandbox payment method")
        return GatewayResult(PaymentStatus.FAILED, ref, error=error)

    def after_confirm_in_tx(self, tx: Tx, payment: Payment, result: GatewayResult) -> None:
        """Inside the confirming write: an async confirmation owes its webhook (durably)."""
        if result.status is PaymentStatus.PROCESSING and payment.payment_method == "pm_sandbox_async":
            self.schedule_in_tx(tx, payment.id, payment.amount)

    def schedule_in_tx(self, tx: Tx, payment_id: str, amount: int) -> str:
        """Write the `payment.succeeded` webhook owed for `payment_id`; returns its event id."""
        event = sandbox_event(payment_id, amount)
        now = time.time()
        tx.execute(
            _SCHEDULE,
            (
                event["id"],
                payment_id,
                orjson.dumps(event),
                _ms(now + self.async_delay),
                self.owner,
                _ms(now),
            ),
        )
        tx.after_commit(self._poke)
        return str(event["id"])

    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        # The payment service confirms through confirm_now/after_confirm_in_tx (one write);
        # this is the plain Gateway interface, with the webhook in a write of its own.
        result = self.confirm_now(payment)
        if self._store is None:
            raise GatewayUnavailableError("the sandbox's webhook delivery is not running")
        await self._store.write(lambda tx: self.after_confirm_in_tx(tx, payment, result))
        return result

    async def cancel(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        return GatewayResult(PaymentStatus.CANCELED, payment.gateway_ref)

    async def refund(
        self, payment: Payment, amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        return "sbre_" + refund_id

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        """The sandbox's truth is the payment itself (it decides in-process)."""
        if payment.gateway_ref is None:
            return None
        return GatewayResult(
            payment.status,
            payment.gateway_ref,
            amount_captured=payment.amount_captured if payment.status.captured else None,
            amount_refunded=payment.amount_refunded if payment.status.captured else None,
            error=payment.last_error,
        )

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- durable async webhooks ------------------------------------------------
    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def run_deliveries(self, store: Store) -> None:
        """Deliver due webhooks until cancelled (rows left by earlier processes included).

        Idle, it costs one indexed read per wake-up (a commit that scheduled a row
        here, the next due time, or `POLL` for rows of other processes); a write
        only when something is due.
        """
        self._store = store
        wake = self._wake = asyncio.Event()
        while True:
            wake.clear()
            try:
                wait = await store.read(self._next_wait)
                if wait <= 0:
                    claimed = await store.write(self._claim_in_tx)
                    if claimed:
                        await asyncio.gather(*(self._deliver(store, *row) for row in claimed))
                        continue
                    wait = 0.05  # another process claimed them first
            except Exception:
                log.exception("sandbox webhook: looking for due deliveries failed")
                wait = POLL
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)

    async def release_claims(self) -> None:
        """At a clean stop: what this process had claimed is free again (no wait for the lease)."""
        if self._store is not None:
            owner = self.owner
            with contextlib.suppress(Exception):
                await self._store.write(lambda tx: tx.execute(_RELEASE, (owner,)))

    def _next_wait(self, tx: Tx) -> float:
        row = tx.fetchone(_NEXT, (self.owner, _ms(TAKEOVER_GRACE)))
        poll = POLL * random.uniform(0.8, 1.2)  # jitter: workers don't poll in step
        if row is None or row[0] is None:
            return poll
        return max(0.0, min(int(row[0]) / 1000 - time.time(), poll))

    def _claim_in_tx(self, tx: Tx) -> list[tuple[Any, ...]]:
        now = _ms(time.time())
        owner = self.owner
        grace = _ms(TAKEOVER_GRACE)
        return tx.fetchall(_CLAIM, (now + _ms(LEASE), owner, now, owner, grace, now, CLAIM_BATCH))

    async def _deliver(
        self, store: Store, event_id: str, payment_id: str, body: bytes, attempts: int
    ) -> None:
        ok = await self._post(event_id, body, payment_id, attempts)
        now = time.time()
        if ok:
            args: tuple[Any, ...] = (_ms(now), event_id, self.owner)
            sql = _DELIVERED
        else:
            if attempts % 10 == 0:
                log.error("sandbox webhook for %s still undelivered after %d attempts", payment_id, attempts)
            args, sql = (_ms(now + backoff(attempts)), event_id, self.owner), _RETRY
        try:
            await store.write(lambda tx: tx.execute(sql, args))
        except Exception:  # the lease runs out and the row is tried again
            log.exception("sandbox webhook: recording the delivery of %s failed", event_id)

    async def _post(self, event_id: str, body: bytes, payment_id: str, attempt: int) -> bool:
        """One attempt; True once the server answered 2xx (the event is then durable there)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT))
        # Like a real provider: the same event (same webhook-id) is retried until acknowledged.
        headers = signed_headers(body, event_id, self.webhook_secret)
        try:
            async with self._session.post(self.webhook_url, data=body, headers=headers) as resp:
                if 200 <= resp.status < 300:
                    return True
                log.warning(
                    "sandbox webhook for %s answered %s (attempt %d)", payment_id, resp.status, attempt
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "sandbox webhook for %s failed: %s (attempt %d)", payment_id, type(exc).__name__, attempt
            )
        return False


# -- inbound ------------------------------------------------------------------------------

# Sandbox event types -> the status they report (a sandbox failure is final).
_EFFECTS = {
    "payment.succeeded": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
    "payment.canceled": PaymentStatus.CANCELED,
}


class SandboxWebhooks:
    """`POST /v1/webhooks/sandbox`: Standard Webhooks, signed with the sandbox's own secret."""

    provider = NAME

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        signed = {
            name: headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            event_id = payedge.verify_standard(body, signed, [self.secret])
        except payedge.SignatureError as exc:
            raise WebhookRejectedError("invalid_signature", str(exc), "webhook-signature") from None
        return read_event(event_id, body)


def read_event(event_id: str, body: bytes) -> InboundEvent:
    """A verified sandbox event (`{"type", "created", "data": {"payment_id", "amount"}}`)."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return InboundEvent(event_id, "unparsed", problem="the payload is not a sandbox event")
    event_type = event["type"]
    data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
    payment_id = data.get("payment_id")
    status = _EFFECTS.get(event_type)
    if status is None:
        return InboundEvent(event_id, event_type)
    if not isinstance(payment_id, str):
        return InboundEvent(event_id, event_type, problem="a sandbox event without data.payment_id")
    created, amount = event.get("created"), data.get("amount")
    # An event we act on is never applied half-read: a field present with the wrong type flags it.
    for name, value in (("created", created), ("data.amount", amount)):
        if value is not None and not _integer(value):
            problem = f"{name} is not an integer"
            return InboundEvent(event_id, event_type, "sb_" + payment_id, payment_id, problem=problem)
    error = (
        LastError("card_declined", "the card was declined", "card_declined")
        if status is PaymentStatus.FAILED
        else None
    )
    effect = GatewayResult(
        status,
        "sb_" + payment_id,
        amount_captured=amount if status is PaymentStatus.SUCCEEDED and _integer(amount) else None,
        error=error,
        occurred_at=created if _integer(created) else None,
    )
    return InboundEvent(event_id, event_type, "sb_" + payment_id, payment_id, effect)


def _integer(value: object) -> bool:
    """A JSON integer (not a bool, which Python counts as one) that fits 63 bits."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
