"""Status reads for hosted payments: after callbacks, and polling, bounded and backing off.

PayPal, CinetPay, MTN MoMo and Orange Money leave a payment `processing` while the
payer acts at the provider. Their callbacks are hints (MoMo's are not even signed)
or can be lost, so each such connector has a `StatusPoller`:

- a payment that becomes `processing` at the gateway is scheduled (a payment hook,
  after the commit); so are the `processing` ones found in the store at start and
  every `RESCAN` seconds (those of a crashed or another process): polling survives
  restarts because its work list is the store;
- a callback pokes its payment: read at once (at most once per `MIN_GAP`, however
  many callbacks arrive: an unsigned MoMo callback cannot make payedge hammer MTN);
- each read is the connector's `reconcile` (a status read; PayPal also captures an
  approved order), outside any store write; its result is then merged into the
  payment in one write (SPEC 3.1);
- a payment still pending is read again after `interval`, doubling up to
  `max_interval`, until it has been `processing` for `give_up_after` seconds
  (then it is logged and left to callbacks and operators).

Several processes each poll: reads are idempotent and merges converge, so the
only cost of a duplicate read is the read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Protocol

from payedge_server.contracts import Tx
from payedge_server.gateways.base import GatewayError, GatewayResult
from payedge_server.payments.model import Payment, PaymentChange, PaymentStatus
from payedge_server.payments.service import PaymentService

log = logging.getLogger("payedge.gateways.polling")

RESCAN = 60.0
BATCH = 8
MIN_GAP = 1.0
SCAN_LIMIT = 1000

_PROCESSING = "SELECT id FROM payments WHERE status = 'processing' AND gateway = ? ORDER BY seq DESC LIMIT ?"


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Seconds: the first read after a payment goes processing, the longest wait, when to stop."""

    interval: float = 5.0
    max_interval: float = 300.0
    give_up_after: float = 86400.0

    def delay(self, tries: int) -> float:
        return float(min(self.interval * 2 ** min(tries, 30), self.max_interval))


class Polled(Protocol):
    """A connector whose `processing` payments payedge follows by status reads."""

    name: str
    poll: PollPolicy

    async def reconcile(self, payment: Payment) -> GatewayResult | None:
        """Read the payment's status at the provider (and do what the provider waits for, e.g.
        PayPal's capture of an approved order); None when the provider has no object for it."""
        ...


@dataclass(slots=True)
class _Due:
    at: float  # time.monotonic()
    tries: int = 0


def still_pending(p: Payment, result: GatewayResult) -> bool:
    """The provider says nothing new about a processing payment (no write needed)."""
    return (
        p.status is PaymentStatus.PROCESSING
        and result.status is PaymentStatus.PROCESSING
        and result.amount_captured is None
        and result.amount_refunded is None
        and (result.next_action is None or result.next_action == p.next_action)
    )


class StatusPoller:
    def __init__(self, gateway: Polled, payments: PaymentService) -> None:
        self.gateway = gateway
        self.payments = payments
        self._due: dict[str, _Due] = {}
        self._last_read: dict[str, float] = {}
        self._settled: set[str] = set()  # captured payments to read once (a refund happened)
        self._wake = asyncio.Event()

    # -- scheduling (event-loop thread) -------------------------------------------------
    def schedule(self, payment_id: str, delay: float = 0.0, tries: int = 0) -> None:
        """Read `payment_id` in `delay` seconds (sooner if it was already due sooner)."""
        at = max(time.monotonic() + delay, self._last_read.get(payment_id, 0.0) + MIN_GAP)
        due = self._due.get(payment_id)
        if due is None or at < due.at:
            self._due[payment_id] = _Due(at, due.tries if due else tries)
            self._wake.set()

    def poke(self, payment_id: str, *, settled: bool = False) -> None:
        """A callback about `payment_id` arrived: read its status now.

        `settled`: read it even if captured (a refund made at the provider), once.
        """
        if settled:
            self._settled.add(payment_id)
        self.schedule(payment_id)

    def on_change(self, tx: Tx, change: PaymentChange) -> None:
        """Payment hook: a payment of this gateway became processing -> read it later (after commit)."""
        after, before = change.after, change.before
        if after.gateway != self.gateway.name or after.status is not PaymentStatus.PROCESSING:
            return
        if before is not None and before.status is PaymentStatus.PROCESSING:
            return
        pid, delay = after.id, self.gateway.poll.interval
        tx.after_commit(lambda: self.schedule(pid, delay))

    # -- the loop -----------------------------------------------------------------------
    async def run(self) -> None:
        """Read due payments until cancelled (a failure never stops the loop)."""
        next_scan = 0.0
        while True:
            self._wake.clear()
            now = time.monotonic()
            try:
                if now >= next_scan:
                    next_scan = now + RESCAN
                    await self._scan()
                due = sorted((d.at, pid) for pid, d in self._due.items() if d.at <= now)[:BATCH]
                if due:
                    await asyncio.gather(*(self._read(pid) for _, pid in due))
                    continue
            except Exception:
                log.exception("%s status reads: a round failed", self.gateway.name)
            wait = min([d.at for d in self._due.values()] + [next_scan]) - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.01))

    async def _scan(self) -> None:
        name = self.gateway.name
        rows = await self.payments.store.read(lambda tx: tx.fetchall(_PROCESSING, (name, SCAN_LIMIT)))
        for (pid,) in rows:
            if pid not in self._due:
                self.schedule(str(pid), random.uniform(0, self.gateway.poll.interval))

    async def _read(self, payment_id: str) -> None:
        due = self._due.pop(payment_id, None)
        tries = due.tries if due else 0
        self._last_read[payment_id] = time.monotonic()
        p = await self.payments.store.read(lambda tx: self.payments.load_in_tx(tx, payment_id))
        settled = payment_id in self._settled
        self._settled.discard(payment_id)
        if p is not None and settled and p.status.captured and p.gateway == self.gateway.name:
            await self._reconcile(p)
            return
        if p is None or p.gateway != self.gateway.name or p.status is not PaymentStatus.PROCESSING:
            self._last_read.pop(payment_id, None)
            return
        if time.time() - p.updated_at / 1000 > self.gateway.poll.give_up_after:
            log.warning("%s: payment %s still processing, no longer polled", self.gateway.name, payment_id)
            self._last_read.pop(payment_id, None)
            return
        if await self._reconcile(p) is PaymentStatus.PROCESSING:
            self._due.setdefault(
                payment_id, _Due(time.monotonic() + self.gateway.poll.delay(tries), tries + 1)
            )

    async def _reconcile(self, p: Payment) -> PaymentStatus:
        """One status read and its merge; the payment's status after it."""
        try:
            result = await self.gateway.reconcile(p)
        except GatewayError as exc:
            log.info("%s: status read of %s failed: %s", self.gateway.name, p.id, exc)
            return p.status
        if result is None:
            log.warning("%s: the provider knows no object for processing payment %s", self.gateway.name, p.id)
            return p.status
        if still_pending(p, result):
            return p.status
        after = await self.payments.store.write(lambda tx: apply_in_tx(tx, self.payments, p.id, result))
        return after.status if after is not None else p.status


def apply_in_tx(tx: Tx, payments: PaymentService, payment_id: str, result: GatewayResult) -> Payment | None:
    """Merge a status read into the payment (the provider's current attempt id and next action too)."""
    cur = payments.load_in_tx(tx, payment_id)
    if cur is None:
        return None
    if cur.status is PaymentStatus.PROCESSING and result.status is PaymentStatus.PROCESSING:
        cur = payments.hold_in_tx(tx, cur, follow(cur, result))
    return payments.apply_in_tx(tx, cur, result, source="status_read")


def follow(p: Payment, result: GatewayResult) -> Payment:
    """The payment with the provider's current attempt id and the payer's next action."""
    return p.replace(
        gateway_ref=result.gateway_ref or p.gateway_ref,
        next_action=result.next_action if result.next_action is not None else p.next_action,
    )
