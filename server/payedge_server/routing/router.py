"""The server's routing: the `[routing]` rules compiled once into a `payedge.Router`, narrowed to
what this instance can do, with health fed back from every attempt.

`Routing` answers three questions (docs/routing.md, "In the server"):

- `provisional(new, payment_id)`: at creation, for a payment that names no gateway, which
  gateway it shows until it is confirmed (`Router.simulate`: no probe is taken by a
  payment that may never be confirmed);
- `plan(payment, payment_method)`: at confirm, the gateways to try in order
  (`Router.decide`, which may hand this payment a half-open circuit's one probe);
- `preview(...)`: the same for a hypothetical payment, with no effect (`POST
  /v1/routing/simulate`).

A gateway of the decision is left out, and the reason kept in the plan's `skipped`,
when it is not configured here, cannot carry the amount in the currency exactly
(`amount_not_representable`, `currency_not_supported`: the connector's own check),
or does not take the payment method. Without `[routing]`, every payment is pinned to
the gateway it names (or the sandbox) as before, and the router only keeps health:
its default list is every configured gateway. With `[routing]`, configured gateways
the rules do not name are added in a rule that never matches, so their health is
kept too (`GET /v1/gateways`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import payedge

from payedge_server.errors import DomainError, RequestError
from payedge_server.gateways.base import Gateway, GatewayRejectedError
from payedge_server.payments.methods import method_type
from payedge_server.routing.plan import Plan, Tried
from payedge_server.routing.probes import LocalProbes, Probes

log = logging.getLogger("payedge.routing")

DEFAULT_GATEWAY = "sandbox"  # what a payment naming no gateway gets without [routing]
HEALTH_ONLY_RULE = "payedge:health-only"  # never matches (amount < 0): health of unnamed gateways
NOT_CONFIGURED = "not_configured"
METHOD_NOT_ACCEPTED = "payment_method_not_accepted"
_AMOUNT_PARAMS = {"amount_not_representable": "amount", "currency_not_supported": "currency"}


def _document(rules: str | None, configured: list[str]) -> dict[str, Any]:
    """The router's document: the configured rules (plus unnamed gateways, for health), or health only."""
    if rules is None:
        return {"default": {"gateways": configured}}
    doc: dict[str, Any] = json.loads(rules)
    named = set(payedge.Router(rules).gateways)
    unnamed = [g for g in configured if g not in named]
    if unnamed:
        never = {"field": "amount", "op": "lt", "value": 0}
        extra = {"name": HEALTH_ONLY_RULE, "when": [never], "then": {"gateways": unnamed}}
        doc = {**doc, "rules": [*doc.get("rules", []), extra]}
    return doc


def _probe_timeout(doc: Mapping[str, Any]) -> float:
    elimination = doc.get("health", {}).get("elimination", {})
    return float(elimination.get("probe_timeout_seconds", 30.0))


class Routing:
    def __init__(
        self,
        rules: str | None,
        gateways: Mapping[str, Gateway],
        probes: Probes | None = None,
        *,
        warn: bool = True,
    ) -> None:
        self.gateways = gateways
        self.rules = rules
        self.document = _document(rules, sorted(gateways))
        self.router = payedge.Router(self.document)
        self.named = frozenset(self.router.gateways)  # health is kept for these
        self.ruled = frozenset(payedge.Router(rules).gateways if rules is not None else ())
        self.probe_timeout = _probe_timeout(self.document)
        self.probes: Probes = probes or LocalProbes()
        self._warned: set[str] = set()
        if warn:
            missing = sorted(g for g in self.ruled if g not in gateways)
            if missing:
                log.warning(
                    "the routing rules name gateway(s) not configured here, skipped: %s", ", ".join(missing)
                )

    @property
    def routes(self) -> bool:
        """Whether routing rules are configured (else every payment is pinned)."""
        return self.rules is not None

    # -- decisions ------------------------------------------------------------------------------
    def provisional(self, payment_id: str, amount: int, currency: str, **fields: Any) -> Plan:
        """At creation: the plan without taking a probe (the payment may never be confirmed)."""
        return self._route(payment_id, amount, currency, claim=False, strict=True, **fields)

    def plan(
        self, payment_id: str, amount: int, currency: str, payment_method: str, metadata: Mapping[str, str]
    ) -> Plan:
        """At confirm: the router's decision (a half-open probe may be taken), narrowed."""
        country = metadata.get("country")
        return self._route(
            payment_id,
            amount,
            currency,
            claim=True,
            strict=True,
            payment_method=payment_method,
            country=country,
            metadata=metadata,
        )

    def preview(self, payment_id: str, amount: int, currency: str, **fields: Any) -> Plan:
        """A hypothetical payment's plan: no probe taken, no error (an empty plan says why in `skipped`)."""
        return self._route(payment_id, amount, currency, claim=False, strict=False, **fields)

    def _route(
        self,
        payment_id: str,
        amount: int,
        currency: str,
        *,
        claim: bool,
        strict: bool,
        payment_method: str | None = None,
        payment_method_type: str | None = None,
        country: str | None = None,
        metadata: Mapping[str, str] | None = None,
        router: payedge.Router | None = None,
    ) -> Plan:
        router = router or self.router
        decide = router.decide if claim else router.simulate
        kind = payment_method_type if payment_method_type is not None else method_type(payment_method)
        d = decide(payment_id, amount, currency, country=country, payment_method_type=kind, metadata=metadata)
        skipped = dict(d.skipped)
        keep: list[str] = []
        for name in d.gateways:
            why = self.refusal(name, amount, currency, payment_method)
            if why is None:
                keep.append(name)
            else:
                skipped[name] = why
        probe = d.probe if d.probe in keep else None
        if claim and d.probe is not None and probe is None:
            router.release_probe(d.probe)  # taken by decide for a gateway this payment cannot use
        if strict and not keep:
            raise none_can(d.rule, [(g, skipped[g]) for g in d.gateways], self, amount, currency)
        return Plan(tuple(keep), d.rule, d.approach, skipped, probe, d.hedged)

    def refusal(self, name: str, amount: int, currency: str, payment_method: str | None) -> str | None:
        """Why gateway `name` cannot take this payment here, or None."""
        gateway = self.gateways.get(name)
        if gateway is None:
            return NOT_CONFIGURED
        try:
            gateway.check_amount(amount, currency)
        except GatewayRejectedError as exc:
            return exc.code
        if payment_method is not None and gateway.check_payment_method(payment_method) is not None:
            return METHOD_NOT_ACCEPTED
        return None

    # -- health ---------------------------------------------------------------------------------
    def record(self, tried: Tried) -> None:
        """Feed one attempt's outcome to the router (gateways it tracks; never raises)."""
        if tried.gateway not in self.named:
            return
        outcome = tried.outcome
        try:
            self.router.record(
                tried.gateway,
                outcome.ok,
                failure_class=None if outcome.ok else outcome.failure_class,
                currency=tried.currency,
                payment_method_type=tried.payment_method_type,
                latency_ms=tried.latency_ms,
            )
        except payedge.PayedgeError as exc:  # bounded memory: a 4,097th (currency, method) pair, ...
            if tried.gateway not in self._warned:
                self._warned.add(tried.gateway)
                log.warning("routing health of %s not recorded: %s", tried.gateway, exc)

    async def claim_probe(self, gateway: str) -> bool:
        """Whether this instance may send `gateway`'s probe (else another instance is sending it)."""
        return await self.probes.claim(gateway, self.probe_timeout)

    def finish(self, plan: Plan, tried: list[str], claimed: bool) -> None:
        """After a confirm: a probe this payment carried but did not use is released."""
        probe = plan.probe
        if probe is None:
            return
        used = probe in tried
        if not used:
            self.router.release_probe(probe)
        if claimed:
            self.probes.release(probe, used=used)

    def release_probe(self, gateway: str) -> None:
        self.router.release_probe(gateway)


def none_can(
    rule: str, reasons: list[tuple[str, str]], routing: Routing, amount: int, currency: str
) -> DomainError:
    """No gateway of the decision can take the payment: the reason of the most preferred gateway
    configured here (what the client can act on), else 503."""
    listed = ", ".join(f"{g}: {why}" for g, why in reasons)
    first, why = next(((g, r) for g, r in reasons if r != NOT_CONFIGURED), reasons[0])
    where = f"no gateway of routing rule {rule!r} can take this payment ({listed})"
    if why == METHOD_NOT_ACCEPTED:
        return RequestError("payment_method_invalid", where, "payment_method")
    if why in _AMOUNT_PARAMS:
        gateway = routing.gateways[first]
        try:
            gateway.check_amount(amount, currency)
        except GatewayRejectedError as exc:
            return DomainError(exc.code, f"{where}; {first}: {exc.message}", exc.param)
    return DomainError("gateway_unavailable", where)
