"""PaymentService: the payment state machine on the store, gateways behind it.

Every status change happens inside a store write: it bumps `version`, appends
to the status history and the audit log, runs the registered transition hooks in
the same transaction, and is published to `payment:<id>` after the commit.
Gateway calls never run inside a write: an operation claims the payment (a short
lock row field), calls the gateway, then writes the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from payedge_server import metrics
from payedge_server.contracts import (
    LivePublisher,
    PaymentCheck,
    PaymentTransitionHook,
    RefundHook,
    Store,
    Tx,
)
from payedge_server.errors import ApiError
from payedge_server.gateways.base import (
    Gateway,
    GatewayRejectedError,
    GatewayResult,
    GatewayUnavailableError,
    LocalGateway,
)
from payedge_server.payments import records, states, validation
from payedge_server.store.records import append_audit, now_ms


class RequestIdempotency(Protocol):
    """The request's Idempotency-Key, as the service uses it (idempotency.IdempotencyContext).

    `check_in_tx` raises if a response is already saved under the key (the
    request is then replayed instead of redone); `save_in_tx` saves the response
    in the write that produces it; `mark_started` says the work has begun.
    """

    key: str

    def check_in_tx(self, tx: Tx) -> None: ...

    def save_in_tx(self, tx: Tx, status: int, body: dict[str, Any]) -> None: ...

    def mark_started(self) -> None: ...


Outcome = tuple[int, dict[str, Any]]

LOCK_SECONDS = 60.0


def _history(tx: Tx, payment_id: str, version: int, status: str, *, source: str, at: int) -> None:
    tx.execute(
        "INSERT INTO payment_status_history (payment_id, version, status, source, at) VALUES (?, ?, ?, ?, ?)",
        (payment_id, version, status, source, at),
    )


def not_found(payment_id: str) -> ApiError:
    return ApiError(404, "payment_not_found", f"no payment {payment_id}", "id")


class PaymentService:
    def __init__(
        self, store: Store, gateways: Mapping[str, Gateway], live: LivePublisher | None = None
    ) -> None:
        self.store = store
        self.gateways = dict(gateways)
        # Gateways that decide in-process (checked once: a runtime Protocol check is slow).
        self._local: dict[str, LocalGateway] = {
            name: gw for name, gw in self.gateways.items() if isinstance(gw, LocalGateway)
        }
        self.live = live
        self._hooks: list[PaymentTransitionHook] = []
        self._create_checks: list[PaymentCheck] = []
        self._refund_hooks: list[RefundHook] = []

    def add_transition_hook(self, hook: PaymentTransitionHook) -> None:
        """`hook(tx, payment, previous_status)` runs inside every status-changing write."""
        self._hooks.append(hook)

    def add_create_check(self, check: PaymentCheck) -> None:
        """`check(draft)` may refuse a payment before it is created (the ledger: commission types)."""
        self._create_checks.append(check)

    def add_refund_hook(self, hook: RefundHook) -> None:
        """Hooks run inside an API refund's reserve / success / failure writes (the ledger's holds)."""
        self._refund_hooks.append(hook)

    def _each_refund_hook(self, step: Callable[[RefundHook], None]) -> None:
        for hook in self._refund_hooks:
            step(hook)

    def _check_new(
        self,
        amount: int,
        currency: str,
        payee: str | None,
        commission_type: str | None,
        metadata: dict[str, str],
    ) -> None:
        draft = {
            "amount": amount,
            "currency": currency,
            "payee": payee or records.DEFAULT_PAYEE,
            "commission_type": commission_type,
            "metadata": metadata,
        }
        for check in self._create_checks:
            check(draft)

    def gateway(self, name: str) -> Gateway:
        gw = self.gateways.get(name)
        if gw is None:
            raise ApiError(
                400,
                "gateway_invalid",
                f"unknown gateway {name!r}; configured: {', '.join(sorted(self.gateways))}",
                "gateway",
            )
        return gw

    # ------------------------------------------------------------------ in-tx primitives
    def load_in_tx(self, tx: Tx, payment_id: str) -> dict[str, Any] | None:
        row = tx.fetchone(f"{records.SELECT} WHERE id = ?", (payment_id,))
        return records.from_row(row) if row else None

    def find_by_gateway_ref_in_tx(self, tx: Tx, gateway: str, ref: str) -> dict[str, Any] | None:
        row = tx.fetchone(f"{records.SELECT} WHERE gateway = ? AND gateway_ref = ?", (gateway, ref))
        return records.from_row(row) if row else None

    def _publish_after(self, tx: Tx, p: dict[str, Any]) -> None:
        """Once committed: count the new status and publish the change on `payment:<id>`."""
        status = p["status"]
        live = self.live
        if live is None:
            tx.after_commit(lambda: metrics.PAYMENT_TRANSITIONS.inc(status))
            return
        event = {"type": "payment.updated", "version": p["version"], "payment": records.public(p)}
        channel = "payment:" + p["id"]

        def after() -> None:
            metrics.PAYMENT_TRANSITIONS.inc(status)
            live.publish(channel, event)

        tx.after_commit(after)

    def create_in_tx(
        self,
        tx: Tx,
        *,
        amount: int,
        currency: str,
        gateway: str = "sandbox",
        user_id: str | None = None,
        order_ref: str | None = None,
        payment_method: str | None = None,
        metadata: dict[str, str] | None = None,
        payment_id: str | None = None,
        gateway_ref: str | None = None,
        status: str | None = None,
        source: str = "api",
        payee: str | None = None,
        commission_type: str | None = None,
    ) -> dict[str, Any]:
        """Create a payment inside the caller's transaction; returns its public dict.

        Used by the API and by other parts (parking). Arguments are validated
        (ApiError 400 on bad input). A gateway with a remote create (stripe)
        registers the payment there lazily, at confirm time.
        """
        amount = validation.amount(amount, minimum=0)
        currency = validation.currency(currency)
        self.gateway(gateway)
        metadata = validation.metadata(metadata)
        payment_method = validation.payment_method(payment_method)
        payee = payee or records.DEFAULT_PAYEE
        self._check_new(amount, currency, payee, commission_type, metadata)
        pid = payment_id or records.new_payment_id()
        if status is None:
            status = "requires_confirmation" if payment_method else "requires_payment_method"
        now = now_ms()
        tx.execute(
            "INSERT INTO payments (id, amount, currency, gateway, status, version, user_id, order_ref, "
            "payment_method, metadata, gateway_ref, created_at, updated_at, payee, commission_type) "
            "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pid,
                amount,
                currency,
                gateway,
                status,
                user_id,
                order_ref,
                payment_method,
                orjson.dumps(metadata).decode(),
                gateway_ref,
                now,
                now,
                payee,
                commission_type,
            ),
        )
        _history(tx, pid, 1, status, source=source, at=now)
        p = {
            "id": pid,
            "amount": amount,
            "currency": currency,
            "gateway": gateway,
            "status": status,
            "version": 1,
            "user_id": user_id,
            "order_ref": order_ref,
            "payment_method": payment_method,
            "metadata": metadata,
            "gateway_ref": gateway_ref,
            "amount_captured": 0,
            "amount_refunded": 0,
            "last_error_code": None,
            "last_error_message": None,
            "created_at": now,
            "updated_at": now,
            "locked_until": None,
            "payee": payee,
            "commission_type": commission_type,
        }
        self._publish_after(tx, p)
        return records.public(p)

    def update_in_tx(self, tx: Tx, p: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Change non-status fields (no version bump, not published)."""
        if not changes:
            return p
        cols = ", ".join(f"{k} = ?" for k in changes)
        tx.execute(f"UPDATE payments SET {cols} WHERE id = ?", (*changes.values(), p["id"]))
        return {**p, **changes}

    def transition_in_tx(
        self,
        tx: Tx,
        p: dict[str, Any],
        new_status: str,
        *,
        source: str,
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Move `p` to `new_status`; None (audited, nothing changed) if the move is not allowed.

        Moving to the status it already has is a no-op that still applies `changes`,
        except `partially_refunded` which is a real change each time.
        """
        current = p["status"]
        if new_status == current and new_status != "partially_refunded":
            return self.update_in_tx(tx, p, changes or {})
        if not states.allowed(current, new_status):
            append_audit(
                tx,
                actor=source,
                action="payment.transition_ignored",
                subject=p["id"],
                data={"from": current, "to": new_status, "version": p["version"]},
            )
            return None
        now = now_ms()
        version = p["version"] + 1
        fields = {**(changes or {}), "status": new_status, "version": version, "updated_at": now}
        cols = ", ".join(f"{k} = ?" for k in fields)
        changed = tx.execute(
            f"UPDATE payments SET {cols} WHERE id = ? AND version = ?",
            (*fields.values(), p["id"], p["version"]),
        )
        if changed != 1:
            raise RuntimeError(f"payment {p['id']} changed under a write (version {p['version']})")
        _history(tx, p["id"], version, new_status, source=source, at=now)
        append_audit(
            tx,
            actor=source,
            action="payment.status_changed",
            subject=p["id"],
            data={"from": current, "to": new_status, "version": version},
        )
        updated = {**p, **fields}
        if self._hooks:
            view = records.public(updated)
            for hook in self._hooks:
                hook(tx, view, current)
        self._publish_after(tx, updated)
        return updated

    @staticmethod
    def refunds_counted_in_tx(tx: Tx, payment_id: str) -> int:
        """What is refunded or being refunded (`succeeded` and `pending` refund rows)."""
        row = tx.fetchone(
            "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_id = ? "
            "AND status IN ('pending', 'succeeded')",
            (payment_id,),
        )
        return int(row[0]) if row else 0

    def add_refunded_in_tx(
        self, tx: Tx, p: dict[str, Any], amount: int, *, source: str
    ) -> dict[str, Any] | None:
        """`amount` more refunded: `partially_refunded`, or `refunded` once it reaches the captured amount."""
        refunded = p["amount_refunded"] + amount
        status = "refunded" if refunded >= p["amount_captured"] else "partially_refunded"
        return self.transition_in_tx(tx, p, status, source=source, changes={"amount_refunded": refunded})

    def sync_refunded_in_tx(
        self, tx: Tx, p: dict[str, Any], gateway_refunded: int, gateway_ref: str | None, *, source: str
    ) -> dict[str, Any]:
        """A refund made at the gateway itself (e.g. in the Stripe dashboard); returns the payment.

        `gateway_refunded` is the gateway's cumulative refunded amount for the
        payment. Refunds payedge knows (succeeded, and pending ones it is making
        through the API right now) are already counted, so only the difference is
        recorded, as a `succeeded` refund row: a redelivery, or the webhook about a
        refund made through payedge, changes nothing. Never beyond the captured
        amount, never downwards.
        """
        if p["status"] not in states.REFUNDABLE:
            return p
        delta = min(gateway_refunded, p["amount_captured"]) - self.refunds_counted_in_tx(tx, p["id"])
        if delta <= 0:
            return p
        tx.execute(
            "INSERT INTO refunds (id, payment_id, amount, status, gateway_ref, created_at) "
            "VALUES (?, ?, ?, 'succeeded', ?, ?)",
            (records.new_refund_id(), p["id"], delta, gateway_ref, now_ms()),
        )
        return self.add_refunded_in_tx(tx, p, delta, source=source) or p

    def apply_gateway_status_in_tx(
        self,
        tx: Tx,
        p: dict[str, Any],
        result: GatewayResult,
        *,
        source: str,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Apply a gateway's verdict (from an API call or a webhook); returns the payment after it."""
        changes: dict[str, Any] = dict(extra or {})
        if result.gateway_ref and not p["gateway_ref"]:
            changes["gateway_ref"] = result.gateway_ref
        if result.status == "succeeded" and p["status"] not in states.REFUNDABLE:
            changes["amount_captured"] = (
                result.amount_captured if result.amount_captured is not None else p["amount"]
            )
        if result.error_code is not None:
            changes["last_error_code"] = result.error_code
            changes["last_error_message"] = result.error_message
        updated = self.transition_in_tx(tx, p, result.status, source=source, changes=changes)
        if updated is None:  # ignored: keep only the bookkeeping fields (lock release)
            return self.update_in_tx(tx, p, dict(extra or {}))
        return updated

    # ------------------------------------------------------------------ API operations
    async def get(self, payment_id: str, *, history: bool = False) -> dict[str, Any]:
        def read(tx: Tx) -> dict[str, Any] | None:
            p = self.load_in_tx(tx, payment_id)
            if p is None:
                return None
            view = records.public(p)
            if history:
                view["history"] = [
                    {"version": v, "status": s, "source": src, "at": at // 1000}
                    for v, s, src, at in tx.fetchall(
                        "SELECT version, status, source, at FROM payment_status_history "
                        "WHERE payment_id = ? ORDER BY version",
                        (payment_id,),
                    )
                ]
            return view

        found = await self.store.read(read)
        if found is None:
            raise not_found(payment_id)
        return found

    async def status_lookup(self, payment_id: str) -> dict[str, Any] | None:
        """`contracts.StatusLookup`: the public payment, or None."""
        if not validation.PAYMENT_ID.fullmatch(payment_id):
            return None

        def read(tx: Tx) -> dict[str, Any] | None:
            p = self.load_in_tx(tx, payment_id)
            return records.public(p) if p else None

        return await self.store.read(read)

    async def create(
        self,
        *,
        amount: int,
        currency: str,
        gateway: str,
        user_id: str | None,
        order_ref: str | None,
        payment_method: str | None,
        metadata: dict[str, str],
        idem: RequestIdempotency | None = None,
        payee: str | None = None,
        commission_type: str | None = None,
    ) -> dict[str, Any]:
        gw = self.gateway(gateway)
        self._check_new(amount, currency, payee, commission_type, metadata)
        if payment_method is not None:
            problem = gw.check_payment_method(payment_method)
            if problem:
                raise ApiError(400, "payment_method_invalid", problem, "payment_method")
        pid = records.new_payment_id()
        draft = {
            "id": pid,
            "amount": amount,
            "currency": currency,
            "payment_method": payment_method,
            "metadata": metadata,
            "gateway_ref": None,
            "user_id": user_id,
            "order_ref": order_ref,
        }
        if idem:
            idem.mark_started()
        result = await self._gateway_call(gw.create(draft, idempotency_key=pid + ":create"))

        def write(tx: Tx) -> dict[str, Any]:
            view = self.create_in_tx(
                tx,
                amount=amount,
                currency=currency,
                gateway=gateway,
                user_id=user_id,
                order_ref=order_ref,
                payment_method=payment_method,
                metadata=metadata,
                payment_id=pid,
                gateway_ref=result.gateway_ref,
                status=result.status,
                payee=payee,
                commission_type=commission_type,
            )
            if idem:
                idem.save_in_tx(tx, 201, view)
            return view

        return await self.store.write(write)

    async def _gateway_call(self, call: Any) -> GatewayResult:
        try:
            result: GatewayResult = await call
        except GatewayUnavailableError as exc:
            raise ApiError(503, "gateway_unavailable", f"the payment gateway is unavailable: {exc}") from None
        except GatewayRejectedError as exc:
            raise ApiError(400, exc.code, exc.message, exc.param) from None
        return result

    def _claim(
        self, tx: Tx, payment_id: str, allowed: frozenset[str], action: str, now: float
    ) -> dict[str, Any]:
        p = self.load_in_tx(tx, payment_id)
        if p is None:
            raise not_found(payment_id)
        if p["status"] not in allowed:
            raise ApiError(
                400,
                "payment_unexpected_state",
                f"cannot {action} a payment in status {p['status']}",
                "status",
            )
        if p["locked_until"] is not None and p["locked_until"] > now:
            raise ApiError(409, "payment_busy", "another operation on this payment is in progress")
        return p

    async def _release(self, payment_id: str, code: str, message: str) -> None:
        def write(tx: Tx) -> None:
            tx.execute(
                "UPDATE payments SET locked_until = NULL, last_error_code = ?, last_error_message = ? "
                "WHERE id = ?",
                (code, message, payment_id),
            )

        await self.store.write(write)

    async def confirm(
        self,
        payment_id: str,
        *,
        payment_method: str | None,
        idem: RequestIdempotency | None = None,
    ) -> Outcome:
        """Confirm through the gateway.

        An in-process gateway (`LocalGateway`: the sandbox) decides inside the
        same write that checks the payment: one write per confirmation. A remote
        gateway (stripe) is called between a write that claims the payment
        (a short lock) and a write that applies its answer.
        """
        now = time.time()

        def claim(tx: Tx) -> tuple[dict[str, Any], Outcome | None]:
            if idem:
                idem.check_in_tx(tx)
            p = self._claim(tx, payment_id, states.CONFIRMABLE, "confirm", now)
            pm = payment_method or p["payment_method"]
            if pm is None:
                raise ApiError(
                    400, "parameter_missing", "a payment_method is needed to confirm", "payment_method"
                )
            gw = self.gateway(p["gateway"])
            problem = gw.check_payment_method(pm)
            if problem:
                raise ApiError(400, "payment_method_invalid", problem, "payment_method")
            local = self._local.get(p["gateway"])
            changes: dict[str, Any] = {}
            if pm != p["payment_method"]:
                changes["payment_method"] = pm
            if local is None:
                changes["locked_until"] = now + LOCK_SECONDS
            if p["status"] == "requires_payment_method":
                moved = self.transition_in_tx(
                    tx, p, "requires_confirmation", source="api:confirm", changes=changes
                )
                assert moved is not None
                p = moved
            else:
                p = self.update_in_tx(tx, p, changes)
            if local is None:
                return p, None
            try:
                result = local.confirm_now(records.public(p))
            except GatewayUnavailableError as exc:
                p = self.update_in_tx(
                    tx, p, {"last_error_code": "gateway_unavailable", "last_error_message": str(exc)}
                )
                outcome: Outcome = (
                    503,
                    ApiError(
                        503, "gateway_unavailable", f"the payment gateway is unavailable: {exc}"
                    ).as_dict(),
                )
            else:
                outcome = self._apply_confirmation(tx, p, result)
                local.after_confirm_in_tx(tx, p, result)
            if idem:
                idem.save_in_tx(tx, *outcome)
            return p, outcome

        p, done = await self.store.write(claim)
        if idem:
            idem.mark_started()
        if done is not None:
            return done
        gw = self.gateway(p["gateway"])
        key = f"{payment_id}:confirm:{p['version']}"
        try:
            if p["gateway_ref"] is None:
                created = await gw.create(records.public(p), idempotency_key=payment_id + ":create")
                p = {**p, "gateway_ref": created.gateway_ref}
            result = await gw.confirm(records.public(p), idempotency_key=key)
        except GatewayUnavailableError as exc:
            await self._release(payment_id, "gateway_unavailable", str(exc))
            raise ApiError(
                503, "gateway_unavailable", f"the payment gateway is unavailable, retry later: {exc}"
            ) from None
        except GatewayRejectedError as exc:
            await self._release(payment_id, exc.code, exc.message)
            raise ApiError(400, exc.code, exc.message, exc.param) from None

        def apply(tx: Tx) -> Outcome:
            cur = self.load_in_tx(tx, payment_id)
            assert cur is not None
            if p["gateway_ref"] and not cur["gateway_ref"]:
                cur["gateway_ref"] = p["gateway_ref"]
                tx.execute("UPDATE payments SET gateway_ref = ? WHERE id = ?", (p["gateway_ref"], payment_id))
            outcome = self._apply_confirmation(tx, cur, result)
            if idem:
                idem.save_in_tx(tx, *outcome)
            return outcome

        return await self.store.write(apply)

    def _apply_confirmation(self, tx: Tx, p: dict[str, Any], result: GatewayResult) -> Outcome:
        updated = self.apply_gateway_status_in_tx(
            tx, p, result, source="api:confirm", extra={"locked_until": None}
        )
        view = records.public(updated)
        if result.status != "failed":
            return 200, view
        error = ApiError(
            402,
            result.error_code or "payment_failed",
            result.error_message or "the payment failed",
            "payment_method",
        )
        return 402, {**error.as_dict(), "payment": view}

    async def cancel(
        self,
        payment_id: str,
        *,
        idem: RequestIdempotency | None = None,
    ) -> dict[str, Any]:
        now = time.time()

        def claim(tx: Tx) -> dict[str, Any]:
            if idem:
                idem.check_in_tx(tx)
            p = self._claim(tx, payment_id, states.CANCELABLE, "cancel", now)
            return self.update_in_tx(tx, p, {"locked_until": now + LOCK_SECONDS})

        p = await self.store.write(claim)
        if idem:
            idem.mark_started()
        gw = self.gateway(p["gateway"])
        if p["gateway_ref"] is None:
            result = GatewayResult("canceled")
        else:
            try:
                result = await gw.cancel(records.public(p), idempotency_key=f"{payment_id}:cancel")
            except (GatewayUnavailableError, GatewayRejectedError) as exc:
                await self._release(payment_id, "gateway_unavailable", str(exc))
                raise ApiError(
                    503, "gateway_unavailable", f"the payment gateway is unavailable: {exc}"
                ) from None

        def apply(tx: Tx) -> dict[str, Any]:
            cur = self.load_in_tx(tx, payment_id)
            assert cur is not None
            updated = self.apply_gateway_status_in_tx(
                tx, cur, result, source="api:cancel", extra={"locked_until": None}
            )
            view = records.public(updated)
            if idem:
                idem.save_in_tx(tx, 200, view)
            return view

        return await self.store.write(apply)

    async def refund(
        self,
        payment_id: str,
        *,
        amount: int | None,
        idem: RequestIdempotency | None = None,
        request_key: str | None = None,
    ) -> dict[str, Any]:
        """Refund (partially); never more than captured, concurrent refunds included.

        The amount is reserved (a `pending` refund row) before the gateway is
        called. With `request_key` (the client's Idempotency-Key), a retry after a
        crash between the gateway call and the final write finds that pending
        refund and resumes it with the same gateway idempotency key: the gateway
        refunds once.
        """

        request_key = idem.key if idem else None

        def reserve(tx: Tx) -> tuple[dict[str, Any], str, int]:
            if idem:
                idem.check_in_tx(tx)
            p = self.load_in_tx(tx, payment_id)
            if p is None:
                raise not_found(payment_id)
            if request_key is not None:
                resumed = tx.fetchone(
                    "SELECT id, amount FROM refunds WHERE payment_id = ? AND request_key = ? "
                    "AND status = 'pending'",
                    (payment_id, request_key),
                )
                if resumed is not None:
                    return p, str(resumed[0]), int(resumed[1])
            if p["status"] not in states.REFUNDABLE:
                raise ApiError(
                    400,
                    "payment_unexpected_state",
                    f"cannot refund a payment in status {p['status']}",
                    "status",
                )
            available = p["amount_captured"] - self.refunds_counted_in_tx(tx, payment_id)
            want = available if amount is None else amount
            if want <= 0 or want > available:
                raise ApiError(
                    400,
                    "refund_exceeds_captured",
                    f"refund of {want} exceeds what is left to refund ({available} of "
                    f"{p['amount_captured']} captured)",
                    "amount",
                )
            rid = records.new_refund_id()
            tx.execute(
                "INSERT INTO refunds (id, payment_id, amount, status, request_key, created_at) "
                "VALUES (?, ?, ?, 'pending', ?, ?)",
                (rid, payment_id, want, request_key, now_ms()),
            )
            self._each_refund_hook(lambda hook: hook.reserve_in_tx(tx, records.public(p), rid, want))
            return p, rid, want

        p, refund_id, want = await self.store.write(reserve)
        if idem:
            idem.mark_started()
        gw = self.gateway(p["gateway"])
        try:
            ref = await gw.refund(
                records.public(p), want, refund_id=refund_id, idempotency_key=f"{refund_id}:refund"
            )
        except (GatewayUnavailableError, GatewayRejectedError) as exc:

            def fail(tx: Tx) -> None:
                tx.execute("UPDATE refunds SET status = 'failed' WHERE id = ?", (refund_id,))
                self._each_refund_hook(lambda hook: hook.release_in_tx(tx, payment_id, refund_id))

            await self.store.write(fail)
            if isinstance(exc, GatewayRejectedError):
                raise ApiError(400, exc.code, exc.message, exc.param) from None
            raise ApiError(503, "gateway_unavailable", f"the payment gateway is unavailable: {exc}") from None

        def apply(tx: Tx) -> dict[str, Any]:
            tx.execute(
                "UPDATE refunds SET status = 'succeeded', gateway_ref = ? WHERE id = ?", (ref, refund_id)
            )
            cur = self.load_in_tx(tx, payment_id)
            assert cur is not None
            # Before the status change (and its transition hooks) that records the refund.
            self._each_refund_hook(lambda hook: hook.settle_in_tx(tx, records.public(cur), refund_id))
            updated = self.add_refunded_in_tx(tx, cur, want, source="api:refund")
            view = {
                "id": refund_id,
                "object": "refund",
                "payment_id": payment_id,
                "amount": want,
                "currency": cur["currency"],
                "status": "succeeded",
                "gateway_ref": ref,
                "payment": records.public(updated or cur),
            }
            if idem:
                idem.save_in_tx(tx, 200, view)
            return view

        return await self.store.write(apply)
