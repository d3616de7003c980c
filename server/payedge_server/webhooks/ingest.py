"""POST /v1/webhooks/{provider}: verify, dedupe, record, apply, answer after the commit.

The provider's connector (`gateways/<provider>.py`, a `WebhookParser`) verifies the
delivery and reads it into an `InboundEvent`. Then:
1. `payedge.Deduper` holds event ids already *committed*: a hot duplicate is
   answered without touching the store. (Ids are inserted after the commit, so a
   delivery is never called a duplicate of one that is not yet durable.)
2. One store write records the event under (provider, event_id) -- the durable
   dedupe -- and, for a first delivery about a known payment, merges its effect
   into the payment in the same transaction (SPEC 3.1).
3. 200 `{"received": true, "duplicate": ...}` once that write is committed.

What the signature proves, payedge records and acknowledges (SPEC 3; Stripe
disables an endpoint that keeps refusing): an event of a type payedge does not act
on (`unhandled_type`), about a payment not known yet (`unknown_object`: kept with
its effect, and applied when the payment becomes known), one payedge cannot read at
all (`unparsed`) or one it acts on but could not read fully (`flagged`, never
applied half-read), a hint whose truth the connector reads from the provider after
this write (`status_read`). Only a delivery whose authenticity is not proven is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import payedge
from aiohttp import web

from payedge_server import metrics
from payedge_server.contracts import Tx
from payedge_server.errors import JSON, DomainError
from payedge_server.gateways.base import GatewayResult, InboundEvent, WebhookParser, WebhookRejectedError
from payedge_server.payments.model import Payment, PaymentChange, now_ms
from payedge_server.payments.service import PaymentService
from payedge_server.payments.validation import PAYMENT_ID
from payedge_server.webhooks import pending

log = logging.getLogger("payedge.webhooks")

DEDUPE_TTL = 259_200.0  # 72 h: Stripe retries a delivery for up to 3 days
DEDUPE_MAX = 2_000_000
_FIRST = b'{"received":true,"duplicate":false}'
_DUPLICATE = b'{"received":true,"duplicate":true}'

# A first delivery about a payment: classified by whether the payment is known (by the
# provider's object id, or by the payedge id the provider echoes). On SQLite it is looked up
# first in the same transaction (one writer at a time), then recorded by this plain INSERT: the
# classifying INSERT ... SELECT ... RETURNING below cost about 9 us more per event there than
# this one plus the lookup. An unknown one keeps its effect for later.
_INSERT_ABOUT_PAYMENT = (
    "INSERT INTO webhook_events (provider, event_id, type, object_id, hint, outcome, effect, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING"
)
# The same, classified inside ONE statement, for PostgreSQL: there every statement is a round
# trip inside the batch transaction, and the lookup plus INSERT above cost two or three (the
# bench's PostgreSQL ingest fell from 55% to 41% of SQLite's with them). `WHERE true`: needed
# before ON CONFLICT in an INSERT ... SELECT; the CAST: PostgreSQL types a parameter in a
# SELECT list as text.
_CLASSIFYING_INSERT = (
    "INSERT INTO webhook_events (provider, event_id, type, object_id, hint, outcome, effect, received_at) "
    "SELECT ?, ?, ?, ?, ?, CASE WHEN k.known THEN 'applied' ELSE 'unknown_object' END, "
    "CASE WHEN k.known THEN NULL ELSE ? END, CAST(? AS BIGINT) FROM (SELECT "
    "(EXISTS (SELECT 1 FROM payments WHERE gateway = ? AND gateway_ref = ?) "
    "OR EXISTS (SELECT 1 FROM payments WHERE id = ? AND gateway = ?)) AS known) AS k WHERE true "
    "ON CONFLICT (provider, event_id) DO NOTHING RETURNING outcome"
)
_INSERT = (
    "INSERT INTO webhook_events (provider, event_id, type, object_id, hint, outcome, problem, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING"
)
_OUTCOME = "UPDATE webhook_events SET outcome = ? WHERE provider = ? AND event_id = ?"


class WebhookIngest:
    def __init__(
        self,
        payments: PaymentService,
        parsers: Mapping[str, WebhookParser],
        *,
        retention: float = DEDUPE_TTL,
        deduper: Any | None = None,
    ) -> None:
        self.payments = payments
        self.store = payments.store
        self.parsers = dict(parsers)
        # The hot-path dedupe never remembers an event longer than the store keeps its record.
        ttl = min(DEDUPE_TTL, retention)
        self.deduper = deduper if deduper is not None else payedge.Deduper(ttl=ttl, max_entries=DEDUPE_MAX)
        # Across instances (--redis-url): keys committed by any instance (shared_redis.RedisDedupe).
        self.shared_dedupe: Any | None = None
        # Fewest round trips on a networked store, fewest Python steps on an embedded one.
        self._first_about_payment = (
            self._classified_in_one if payments.store.dialect == "postgresql" else self._looked_up_first
        )
        payments.add_hook(self._on_payment_change)

    async def handle(self, request: web.Request) -> web.Response:
        provider = request.match_info["provider"]
        parser = self.parsers.get(provider)
        if parser is None:
            raise DomainError(
                "unknown_provider", f"no webhook endpoint for provider {provider[:40]!r}", "provider"
            )
        body = await request.read()
        try:
            parsed = parser.parse(body, request.headers)
            # A parser that verifies with I/O (a certificate, a stored token) answers an awaitable.
            event = parsed if isinstance(parsed, InboundEvent) else await parsed
        except WebhookRejectedError as exc:
            log.debug("%s webhook refused: %s", provider, exc)
            metrics.WEBHOOKS.inc(provider, "invalid")
            raise DomainError(exc.code, exc.message, exc.param) from None
        event = storable(event)
        key = provider + ":" + event.event_id
        deduper = self.deduper
        shared = self.shared_dedupe
        if key in deduper or (shared is not None and await shared.seen(key)):
            metrics.WEBHOOKS.inc(provider, "duplicate")
            return web.Response(body=_DUPLICATE, content_type=JSON)
        outcome = await self.store.write(lambda tx: self.record_in_tx(tx, provider, event))
        deduper.check_and_insert(key)
        if shared is not None:
            shared.remember(key)
        if event.follow_up is not None and outcome != "duplicate":
            event.follow_up()  # recorded first; the connector's status read runs after
        metrics.WEBHOOKS.inc(provider, outcome)
        if outcome == "flagged":
            log.warning("%s event %s recorded but not applied: %s", provider, event.event_id, event.problem)
        return web.Response(body=_DUPLICATE if outcome == "duplicate" else _FIRST, content_type=JSON)

    # -- the write ----------------------------------------------------------------------
    def record_in_tx(self, tx: Tx, provider: str, event: InboundEvent) -> str:
        """Record the event (durable dedupe) and apply its effect; returns the outcome."""
        now = now_ms()
        hint = event.payment_hint if event.payment_hint and PAYMENT_ID.fullmatch(event.payment_hint) else None
        effect = event.effect
        if effect is None or event.problem is not None:
            outcome = _unapplied_outcome(event)
            args = (provider, event.event_id, event.type, event.object_ref, hint, outcome, event.problem, now)
            return outcome if tx.execute(_INSERT, args) else "duplicate"
        outcome, payment = self._first_about_payment(tx, provider, event, effect, hint=hint, now=now)
        if payment is None:
            return outcome
        after = self.payments.apply_in_tx(tx, payment, effect, source=f"webhook:{provider}:{event.event_id}")
        if after is payment:
            tx.execute(_OUTCOME, ("ignored", provider, event.event_id))
            return "ignored"
        return "applied"

    # A first delivery about a payment, recorded: ("applied", the payment) when it is known
    # (its effect is then applied by the caller), else ("unknown_object" or "duplicate", None).
    def _looked_up_first(
        self, tx: Tx, provider: str, event: InboundEvent, effect: GatewayResult, *, hint: str | None, now: int
    ) -> tuple[str, Payment | None]:
        payment = self.payments.find_in_tx(tx, provider, event.object_ref, hint)
        if payment is None:
            args = (provider, event.event_id, event.type, event.object_ref, hint, "unknown_object",
                    pending.dumps(effect), now)  # fmt: skip
            return ("unknown_object" if tx.execute(_INSERT_ABOUT_PAYMENT, args) else "duplicate"), None
        known = (provider, event.event_id, event.type, event.object_ref, hint, "applied", None, now)
        if not tx.execute(_INSERT_ABOUT_PAYMENT, known):
            return "duplicate", None
        return "applied", payment

    def _classified_in_one(
        self, tx: Tx, provider: str, event: InboundEvent, effect: GatewayResult, *, hint: str | None, now: int
    ) -> tuple[str, Payment | None]:
        row = tx.fetchone(
            _CLASSIFYING_INSERT,
            (provider, event.event_id, event.type, event.object_ref, hint, pending.dumps(effect), now,
             provider, event.object_ref, hint, provider),
        )  # fmt: skip
        if row is None:
            return "duplicate", None
        if row[0] != "applied":
            return str(row[0]), None
        # Known when recorded, in this same transaction (SERIALIZABLE): found again here.
        return "applied", self.payments.find_in_tx(tx, provider, event.object_ref, hint)

    def _on_payment_change(self, tx: Tx, change: PaymentChange) -> None:
        """A payment became known (created, or its provider id learnt): apply what was waiting for it."""
        before, after = change.before, change.after
        if before is not None and (before.gateway_ref or not after.gateway_ref):
            return
        for event_id, effect in pending.take_in_tx(tx, after.gateway, after.gateway_ref, after.id):
            current = self.payments.require_in_tx(tx, after.id)
            self.payments.apply_in_tx(tx, current, effect, source=f"webhook:{after.gateway}:{event_id}")


def storable(event: InboundEvent) -> InboundEvent:
    """The event as it can be recorded: U+0000 in a text field is kept out of the store.

    PostgreSQL's text cannot hold U+0000 (a signed event carrying one in its id, type or
    object id would otherwise be refused); such an event is recorded with U+FFFD in its
    place and flagged, never applied: an id that is not the provider's cannot be trusted.
    """
    for text in (event.event_id, event.type, event.object_ref, event.payment_hint, event.problem):
        if text is not None and "\x00" in text:
            break
    else:
        return event

    def clean(text: str | None) -> str | None:
        return None if text is None else text.replace("\x00", "\ufffd")

    return InboundEvent(
        event.event_id.replace("\x00", "\ufffd"),
        event.type.replace("\x00", "\ufffd"),
        clean(event.object_ref),
        None,
        problem="a text field holds U+0000 (shown as U+FFFD)",
    )


def _unapplied_outcome(event: InboundEvent) -> str:
    if event.problem is None:
        # A hint: its connector reads the payment's status once this record is committed.
        return "status_read" if event.follow_up is not None else "unhandled_type"
    return "unparsed" if event.type == "unparsed" else "flagged"
