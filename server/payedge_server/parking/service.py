"""The parking service: MQTT message dispatch, the payment transition hook, live events.

One instance per application (`app[PARKING]`), created by `setup_parking`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import payedge

from payedge_server.contracts import LivePublisher, Store, Tx
from payedge_server.errors import DomainError
from payedge_server.mqtt_relay import MqttRelay
from payedge_server.parking import messages as m
from payedge_server.parking.ordering import KeyedOrder, vehicle_key
from payedge_server.parking.sessions import (
    Context,
    CreatePayment,
    Outcome,
    fallback_enabled,
    handle_barrier,
    handle_entry,
    handle_exit,
    on_payment_transition,
    record_rejected,
)
from payedge_server.parking.trusted import match_pin, read_fallback, write_fallback
from payedge_server.payments.model import PaymentChange

log = logging.getLogger("payedge.parking")

# PUBACK reason codes (MQTT 5): the message was received and will not be redelivered.
ACK_OK = 0x00
ACK_PAYLOAD_INVALID = 0x99
ACK_IMPLEMENTATION_ERROR = 0x83
# msg_ids are remembered 30 days: the broker keeps our session (and so redelivers) at most 7.


class ParkingService:
    def __init__(
        self,
        store: Store,
        tariff: payedge.Tariff,
        create_payment: CreatePayment,
        live: LivePublisher | None = None,
    ) -> None:
        self.store = store
        self.tariff = tariff
        self.live = live
        self.ctx = Context(tariff=tariff, create_payment=create_payment, fallback=fallback_enabled)
        self.relay: MqttRelay | None = None
        self.order = KeyedOrder()

    def wake(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    # --- MQTT --------------------------------------------------------------------------------

    async def handle_message(self, topic: str, payload: bytes) -> int:
        """Apply one inbound message; returns the PUBACK reason code once the effect is durable."""
        now = time.time()
        try:
            msg = m.parse(topic, payload)
        except m.BadMessage as exc:
            error, param, msg_id = str(exc), exc.param, exc.msg_id
            await self.store.write(
                lambda tx: record_rejected(tx, topic, msg_id, param=param, error=error, now=now)
            )
            log.warning("MQTT message on %s rejected: %s", topic, error)
            return ACK_PAYLOAD_INVALID
        async with self.order.turn(vehicle_key(msg)):
            return await self._apply(topic, msg, now)

    async def _apply(self, topic: str, msg: m.Inbound, now: float) -> int:
        work: Callable[[Tx], Outcome]
        if msg.topic == m.TOPIC_ENTRY:
            work = lambda tx: handle_entry(self.ctx, tx, msg)  # noqa: E731
        elif msg.topic == m.TOPIC_EXIT:
            pin_id = None
            if msg.pin is not None and (await self.fallback())["enabled"]:
                pin_id = await match_pin(self.store, msg.pin)
            work = lambda tx: handle_exit(self.ctx, tx, msg, pin_id)  # noqa: E731
        else:
            work = lambda tx: handle_barrier(self.ctx, tx, msg)  # noqa: E731
        try:
            outcome = await self.store.write(work)
        except (DomainError, payedge.PayedgeError, ValueError, KeyError, TypeError) as exc:
            # Deterministic: redelivering would fail again. Record it, acknowledge it.
            error = f"{type(exc).__name__}: {exc}"
            log.exception("MQTT message %s on %s failed", msg.msg_id, topic)
            await self.store.write(
                lambda tx: record_rejected(tx, topic, msg.msg_id, param="payload", error=error, now=now)
            )
            return ACK_IMPLEMENTATION_ERROR
        for session_id in outcome.touched:
            if outcome.session is not None and outcome.session["id"] == session_id:
                self.publish_session(outcome.session)
        return ACK_OK

    # --- payments ----------------------------------------------------------------------------

    def on_payment_change(self, tx: Tx, change: PaymentChange) -> None:
        """A payment hook: runs inside the payment's write; acts when the payment's status changed."""
        before = change.before
        if before is None or before.status is change.after.status:
            return
        session = on_payment_transition(tx, change.after.view(), before.status.value, time.time())
        if session is not None:
            tx.after_commit(self.wake)
            tx.after_commit(lambda: self.publish_session(session))

    def publish_session(self, session: dict[str, Any]) -> None:
        if self.live is None:
            return
        self.live.publish(
            f"session:{session['id']}",
            {
                "type": "parking.session",
                "version": session["version"],
                "session_id": session["id"],
                "state": session["state"],
                "payment_id": session["payment_id"],
                "flag_reason": session["flag_reason"],
            },
        )

    # --- fallback mode -----------------------------------------------------------------------

    async def fallback(self) -> dict[str, Any]:
        """The fallback mode as stored (every worker reads the same row)."""
        return await self.store.read(read_fallback)

    async def set_fallback(self, enabled: bool, who: str, why: str) -> dict[str, Any]:
        value = await self.store.write(lambda tx: write_fallback(tx, enabled, who, why))
        if self.live is not None:
            self.live.publish("system", {"type": "parking.fallback_mode", **value})
        return value

    async def health(self) -> dict[str, Any]:
        relay = self.relay.status() if self.relay is not None else {"connected": False, "leader": False}
        return {"mqtt": relay, "fallback_mode": await self.fallback()}
