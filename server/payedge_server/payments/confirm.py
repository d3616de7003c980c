"""Confirming a payment (SPEC 5, "Fallback on confirm"): its gateways in order, the next one
only when the last one proved it took nothing.

The plan (routing/plan.py) is made in the write that claims the payment: the router's
decision for a routed payment (one created without a gateway while `[routing]` is
configured: its decision is kept in `payment_routes` and shown as `routing`), or the
payment's own gateway. Then:

- In-process gateways (the sandbox) at the head of the plan decide inside that same
  write, as before routing existed: a checkout through the sandbox is ONE store write.
- Otherwise the payment is held (`locked_until`) and the gateways are called in turn
  (create when the provider needs its object first, then confirm). The payment's
  `gateway` is switched in a write of its own BEFORE the next gateway is called, so a
  callback or a status read of that gateway finds it.
- The next gateway is tried only after a `GatewayUnavailableError`: the connector
  proved the provider took nothing (connection refused, a documented "not processed"
  answer, a 5xx still failing after an idempotent retry, a status read that finds no
  trace). A `GatewayTimeoutError` (sent, outcome unknown) is settled by status reads
  (`operations.settle_unknown`) and, while unknown, the payment stays `processing` at
  that gateway and goes nowhere else. A decline is the payer's answer (402): asking a
  second provider to charge the same payer after a "no" is not a fallback (and a card
  declined at several acquirers in a row looks like card testing); the payer may
  confirm again, with another method. A rejection (4xx) is the provider refusing this
  request, answered as such. So at most one gateway can ever have taken the money.
- Every call is kept (`payment_attempts`: gateway, outcome, error code, latency) and,
  once its write is committed, counted in the metrics and fed to the router's health. A
  half-open probe the payment carried but did not use is released.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from payedge_server.contracts import Tx
from payedge_server.errors import DomainError, RequestError
from payedge_server.gateways.base import (
    Gateway,
    GatewayError,
    GatewayRejectedError,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    LocalGateway,
)
from payedge_server.payments import repository
from payedge_server.payments.methods import method_type
from payedge_server.payments.model import CONFIRMABLE, Attempt, LastError, Payment, PaymentStatus, now_ms
from payedge_server.payments.operations import (
    LOCK_MS,
    Confirmation,
    RequestKey,
    claim_in_tx,
    declined,
    gateway_error,
    settle_unknown,
)
from payedge_server.payments.service import PaymentService
from payedge_server.routing import metrics as gateway_metrics
from payedge_server.routing.plan import Outcome, Plan, Tried


@dataclass(frozen=True, slots=True)
class _Call:
    """One remote gateway's answer: a result (perhaps still unknown), or the error it ended with."""

    result: GatewayResult | None = None
    unknown: GatewayTimeoutError | None = None
    error: GatewayError | None = None
    gateway_ref: str | None = None


async def confirm(
    service: PaymentService, payment_id: str, payment_method: str | None, key: RequestKey | None
) -> Confirmation:
    return await _Confirm(service, payment_id, key).run(payment_method)


@dataclass(slots=True)
class _Confirm:
    """One confirm request: its payment, its plan once made, the gateways it tried."""

    service: PaymentService
    payment_id: str
    key: RequestKey | None
    plan: Plan | None = None  # made once: the claiming write may run more than once
    tried: list[str] = field(default_factory=list)
    claimed: bool = False  # this instance holds the plan's probe in Redis

    async def run(self, payment_method: str | None) -> Confirmation:
        routing = self.service.routing
        try:
            p, done = await self.service.store.write(lambda tx: self._claim_in_tx(tx, payment_method))
        except BaseException:
            if routing is not None and self.plan is not None and self.plan.probe is not None:
                routing.release_probe(self.plan.probe)  # taken by a decision whose confirm did not start
            raise
        if self.key:
            self.key.mark_started()
        if done is not None:
            return done
        return await self._call_in_turn(p)

    # -- the claiming write -----------------------------------------------------------------------
    def _claim_in_tx(self, tx: Tx, payment_method: str | None) -> tuple[Payment, Confirmation | None]:
        if self.key:
            self.key.check_in_tx(tx)
        p = claim_in_tx(tx, self.service, self.payment_id, CONFIRMABLE, "confirm")
        pm = payment_method or p.payment_method
        if pm is None:
            raise RequestError("parameter_missing", "a payment_method is needed to confirm", "payment_method")
        self.tried.clear()
        if self.plan is None:
            self.plan = self._plan_in_tx(tx, p, pm)
        return self._start_in_tx(tx, p, pm, self.plan)

    def _plan_in_tx(self, tx: Tx, p: Payment, pm: str) -> Plan:
        routing = self.service.routing
        if routing is not None and routing.routes and repository.route(tx, p.id) is not None:
            plan = routing.plan(p.id, p.amount, p.currency, pm, p.metadata)
            repository.save_route(tx, p.id, plan.view(), now_ms())
            return plan
        problem = self.service.gateway(p.gateway).check_payment_method(pm)
        if problem:
            raise RequestError("payment_method_invalid", problem, "payment_method")
        return Plan.pinned(p.gateway)

    def _in_write(self, plan: Plan) -> LocalGateway | None:
        """The in-process gateway the claiming write may decide with (not a probe another
        instance may hold: that needs the Redis lease first)."""
        routing = self.service.routing
        if plan.probe is not None and routing is not None and routing.probes.shared:
            return None
        return self.service.local.get(plan.gateways[0])

    def _start_in_tx(self, tx: Tx, p: Payment, pm: str, plan: Plan) -> tuple[Payment, Confirmation | None]:
        """Claim the payment for its first gateway; decide there and then with in-process gateways."""
        service = self.service
        first = plan.gateways[0]
        if first != p.gateway:
            p = repository.switch_gateway(tx, p, first, p.locked_until)
        local = self._in_write(plan)
        held = p.replace(payment_method=pm, locked_until=None if local else now_ms() + LOCK_MS)
        if p.status is PaymentStatus.REQUIRES_PAYMENT_METHOD:
            ready = held.replace(status=PaymentStatus.REQUIRES_CONFIRMATION, last_error=None)
            held = service.save_in_tx(tx, p, ready, source="api:confirm")
        else:
            held = service.hold_in_tx(tx, p, held)
        if local is None:
            return held, None
        for name in plan.gateways:
            gateway = service.local.get(name)
            if gateway is None:  # the rest are remote: hold the payment for their calls
                return service.hold_in_tx(tx, held, held.replace(locked_until=now_ms() + LOCK_MS)), None
            if name != held.gateway:
                held = repository.switch_gateway(tx, held, name, None)
            self.tried.append(name)
            done = _local_in_tx(tx, service, held, gateway, last=name == plan.gateways[-1])
            if done is not None:
                self._done_in_tx(tx, done)
                return held, done
            held = service.require_in_tx(tx, p.id)
        raise AssertionError("unreachable: the last gateway always ends the confirm")  # pragma: no cover

    def _done_in_tx(self, tx: Tx, done: Confirmation) -> None:
        if self.key:
            self.key.save_in_tx(tx, done)
        routing, plan = self.service.routing, self.plan
        if routing is not None and plan is not None and plan.probe is not None:
            used, claimed = list(self.tried), self.claimed
            tx.after_commit(lambda: routing.finish(plan, used, claimed))

    # -- the calls ----------------------------------------------------------------------------------
    async def _call_in_turn(self, p: Payment) -> Confirmation:
        """The gateways not tried in the claiming write, one after the other (module doc)."""
        routing, plan = self.service.routing, self.plan
        assert plan is not None
        if routing is not None and plan.probe is not None and plan.probe not in self.tried:
            self.claimed = await routing.claim_probe(plan.probe)
            if not self.claimed:
                # Another instance sends this gateway's probe: not this payment. The local probe stays
                # taken, so the next payments here skip the gateway without asking Redis (probes.py).
                plan = self.plan = plan.without(plan.probe, "probe_in_flight")
                decision, at = plan.view(), now_ms()
                await self.service.store.write(lambda tx: repository.save_route(tx, p.id, decision, at))
        try:
            return await self._through(p, [g for g in plan.gateways if g not in self.tried])
        finally:
            if routing is not None and plan.probe is not None:
                routing.finish(plan, self.tried, self.claimed)

    async def _through(self, p: Payment, order: list[str]) -> Confirmation:
        service = self.service
        if not order:
            error = DomainError(
                "gateway_unavailable", "every gateway of this payment is busy or down: retry later"
            )
            await service.store.write(lambda tx: _release_in_tx(tx, service, self.payment_id, error))
            raise error
        for name in order:
            last = name == order[-1]
            if name != p.gateway:
                switch = functools.partial(
                    _switch_in_tx, service=service, payment_id=self.payment_id, to=name
                )
                p = await service.store.write(switch)
            self.tried.append(name)
            local = service.local.get(name)
            if local is not None:
                done = await service.store.write(
                    functools.partial(self._local_final_in_tx, gw=local, last=last)
                )
            else:
                done = await self._remote(p, service.gateway(name), last=last)
            if done is not None:
                return done
        raise AssertionError("unreachable: the last gateway always ends the confirm")  # pragma: no cover

    def _local_final_in_tx(self, tx: Tx, *, gw: LocalGateway, last: bool) -> Confirmation | None:
        service = self.service
        cur = service.require_in_tx(tx, self.payment_id)
        cur = service.hold_in_tx(tx, cur, cur.replace(locked_until=None))
        done = _local_in_tx(tx, service, cur, gw, last=last)
        if done is None:  # unavailable: held again for the next gateway
            cur = service.require_in_tx(tx, self.payment_id)
            service.hold_in_tx(tx, cur, cur.replace(locked_until=now_ms() + LOCK_MS))
            return None
        if self.key:
            self.key.save_in_tx(tx, done)
        return done

    async def _remote(self, p: Payment, gw: Gateway, *, last: bool) -> Confirmation | None:
        """Call one remote gateway; None when it proved it took nothing and another gateway follows."""
        service, started = self.service, time.perf_counter()
        call = await _call(gw, p)
        if isinstance(call.error, GatewayUnavailableError) and not last:
            await service.store.write(
                lambda tx: _attempt_in_tx(
                    tx, service, p, Outcome.UNAVAILABLE, "error", "gateway_unavailable", started
                )
            )
            return None
        if call.error is not None:
            failure = call.error
            error = await service.store.write(
                lambda tx: _unavailable_in_tx(tx, service, service.require_in_tx(tx, p.id), failure, started)
            )
            raise error from None
        return await service.store.write(lambda tx: self._apply_in_tx(tx, call, started))

    def _apply_in_tx(self, tx: Tx, call: _Call, started: float) -> Confirmation:
        service, result = self.service, call.result
        assert result is not None
        cur = service.require_in_tx(tx, self.payment_id)
        if call.gateway_ref and not cur.gateway_ref:
            cur = service.hold_in_tx(tx, cur, cur.replace(gateway_ref=call.gateway_ref))
        done = _applied(tx, service, cur, result, started, unknown=call.unknown is not None)
        if call.unknown is not None:  # processing: never confirmed elsewhere; status reads settle it
            timeout = gateway_error(call.unknown)
            attach = {"payment": done.payment.view()}
            done = Confirmation(done.payment, DomainError(timeout.code, timeout.message, attach=attach))
        if self.key:
            self.key.save_in_tx(tx, done)
        return done


async def _call(gw: Gateway, p: Payment) -> _Call:
    """create (when the provider needs its object first) then confirm; a timeout settled by reads."""
    ref = p.gateway_ref
    try:
        if ref is None:
            created = await gw.create(p, idempotency_key=p.id + ":create")
            ref = created.gateway_ref
            p = p.replace(gateway_ref=ref)
        try:
            result = await gw.confirm(p, idempotency_key=f"{p.id}:confirm:{p.version}")
        except GatewayTimeoutError as exc:
            ref = exc.gateway_ref or ref  # the request whose outcome is unknown, when the connector named it
            settled = await settle_unknown(gw, p)
            if settled is None:
                return _Call(GatewayResult(PaymentStatus.PROCESSING, ref), exc, gateway_ref=ref)
            return _Call(settled, gateway_ref=ref)
    except GatewayError as exc:
        return _Call(error=exc)
    return _Call(result, gateway_ref=ref)


# -- writes shared by every path --------------------------------------------------------------


def _switch_in_tx(tx: Tx, *, service: PaymentService, payment_id: str, to: str) -> Payment:
    cur = service.require_in_tx(tx, payment_id)
    return repository.switch_gateway(tx, cur, to, now_ms() + LOCK_MS)  # the lock runs again


def _local_in_tx(
    tx: Tx, service: PaymentService, p: Payment, gateway: LocalGateway, *, last: bool
) -> Confirmation | None:
    """An in-process gateway's answer, applied; None when it was unavailable and another gateway follows."""
    started = time.perf_counter()
    try:
        result = gateway.confirm_now(p)
    except GatewayUnavailableError as exc:
        if not last:
            _attempt_in_tx(tx, service, p, Outcome.UNAVAILABLE, "error", "gateway_unavailable", started)
            return None
        return Confirmation(p, _unavailable_in_tx(tx, service, p, exc, started))
    done = _applied(tx, service, p, result, started)
    gateway.after_confirm_in_tx(tx, done.payment, result)
    return done


def _outcome(result: GatewayResult, unknown: bool) -> Outcome:
    if unknown:
        return Outcome.TIMEOUT
    if result.error is not None:
        return Outcome.DECLINED
    if result.status.captured:
        return Outcome.SUCCEEDED
    return Outcome.PROCESSING


def _applied(
    tx: Tx,
    service: PaymentService,
    p: Payment,
    result: GatewayResult,
    started: float,
    *,
    unknown: bool = False,
) -> Confirmation:
    """Apply a confirm's answer (lock released) and keep the attempt.

    The answer names the provider's object of this attempt (a hosted provider makes a
    new one per attempt) and what the payer must do next (`next_action`).
    """
    held = p.replace(
        locked_until=None, next_action=result.next_action, gateway_ref=result.gateway_ref or p.gateway_ref
    )
    released = service.hold_in_tx(tx, p, held)
    after = service.apply_in_tx(tx, released, result, source="api:confirm")
    code = "gateway_timeout" if unknown else (result.error.code if result.error else None)
    _attempt_in_tx(tx, service, after, _outcome(result, unknown), result.status.value, code, started)
    return Confirmation(after, declined(after) if result.error else None)


def _unavailable_in_tx(
    tx: Tx, service: PaymentService, p: Payment, exc: GatewayError, started: float
) -> DomainError:
    """The last gateway failed: the payment is free again, its `last_error` says why."""
    error = gateway_error(exc)
    _release_in_tx(tx, service, p.id, error)
    outcome = Outcome.UNAVAILABLE
    if isinstance(exc, GatewayTimeoutError):
        outcome = Outcome.TIMEOUT
    elif isinstance(exc, GatewayRejectedError):
        outcome = Outcome.REJECTED
    _attempt_in_tx(tx, service, p, outcome, "error", error.code, started)
    return error


def _release_in_tx(tx: Tx, service: PaymentService, payment_id: str, error: DomainError) -> None:
    cur = service.require_in_tx(tx, payment_id)
    service.hold_in_tx(
        tx, cur, cur.replace(locked_until=None, last_error=LastError(error.code, error.message))
    )


def _attempt_in_tx(  # noqa: PLR0917 - one row's fields
    tx: Tx,
    service: PaymentService,
    p: Payment,
    outcome: Outcome,
    shown: str,
    error_code: str | None,
    started: float,
) -> None:
    """Keep the attempt; once committed, count it and feed it to the router's health."""
    elapsed = time.perf_counter() - started
    repository.insert_attempt(tx, p.id, Attempt(p.gateway, shown, error_code, int(elapsed * 1000), now_ms()))
    tried = Tried(p.gateway, outcome, elapsed * 1000, p.currency, method_type(p.payment_method))
    routing = service.routing

    def observe() -> None:
        gateway_metrics.observe(tried)
        if routing is not None:
            routing.record(tried)

    tx.after_commit(observe)
