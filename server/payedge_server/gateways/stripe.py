"""The `stripe` connector: PaymentIntents out, signed events in, Stripe's currency rules between.

Outbound: `StripeGateway`, the official `stripe` package's async client with its
aiohttp HTTP client (one session, closed at shutdown), `api_base` from
`--stripe-api-base` (localstripe in tests); idempotency keys passed through;
connection errors retried with exponential backoff (the client's own retries are
off: they would also retry 409/429/5xx answers).

Inbound: `StripeWebhooks` verifies and reads an event in one native call
(`payedge.parse_stripe_event`) and turns it into an `InboundEvent`: a
PaymentIntent's state, a Charge's cumulative refunded amount, or a Checkout
Session's outcome (stripe_checkout.py). A signed event
payedge cannot read is still acknowledged (SPEC 3: what the signature proves,
payedge records).

Amounts: Stripe counts most currencies with ISO's decimals, but not all
(https://docs.stripe.com/currencies): its zero-decimal list is not ISO's (MGA has
2 decimals in ISO, 0 at Stripe), ISK is sent with 2 decimals (and whole kronur
only: multiples of 100), and its three-decimal currencies must end in 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import aiohttp
import orjson
import payedge
import stripe

from payedge_server.gateways.amounts import Scale
from payedge_server.gateways.base import (
    GatewayRejectedError,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    InboundEvent,
    WebhookRejectedError,
)
from payedge_server.payments.model import LastError, Payment, PaymentStatus

log = logging.getLogger("payedge.stripe")

T = TypeVar("T")

NAME = "stripe"
HINT_KEY = "payedge_payment_id"  # metadata key carrying payedge's payment id at Stripe

_ZERO_DECIMAL = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "JPY",
    "KMF",
    "KRW",
    "MGA",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
_THREE_DECIMAL = ("BHD", "JOD", "KWD", "OMR", "TND")
SCALE = Scale(
    NAME,
    exponents={**dict.fromkeys(_ZERO_DECIMAL, 0), "ISK": 2, **dict.fromkeys(_THREE_DECIMAL, 3)},
    multiples={"ISK": 100, **dict.fromkeys(_THREE_DECIMAL, 10)},
)

# Stripe's PaymentIntent statuses -> what they imply for the payedge payment.
_STATUS = {
    "requires_payment_method": PaymentStatus.REQUIRES_PAYMENT_METHOD,
    "requires_confirmation": PaymentStatus.REQUIRES_CONFIRMATION,
    "requires_action": PaymentStatus.PROCESSING,
    "processing": PaymentStatus.PROCESSING,
    "requires_capture": PaymentStatus.PROCESSING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
# Event types -> the status they report when the object carries none.
# Only payment_intent.* types, by construction (to_inbound reads this table first).
_EVENT_STATUS = {
    f"payment_intent.{name}": status
    for name, status in (
        ("succeeded", PaymentStatus.SUCCEEDED),
        ("payment_failed", PaymentStatus.REQUIRES_PAYMENT_METHOD),
        ("canceled", PaymentStatus.CANCELED),
        ("processing", PaymentStatus.PROCESSING),
        ("requires_action", PaymentStatus.PROCESSING),
        ("amount_capturable_updated", PaymentStatus.PROCESSING),
    )
}
CHARGE_REFUNDED = "charge.refunded"


def _minor(units: Any, currency: str | None) -> int | None:
    """A Stripe amount as ISO minor units (None when absent, unknown currency or not exact)."""
    if not isinstance(units, int) or isinstance(units, bool) or units < 0 or not currency:
        return None
    try:
        return SCALE.from_provider(units, currency.upper())
    except payedge.PayedgeError:
        return None


def _declined(error: Any) -> LastError:
    """A failed attempt's `last_payment_error` (or CardError) as payedge's LastError."""
    code = getattr(error, "code", None) if not isinstance(error, dict) else error.get("code")
    decline = (
        getattr(error, "decline_code", None) if not isinstance(error, dict) else error.get("decline_code")
    )
    message = getattr(error, "user_message", None) if not isinstance(error, dict) else error.get("message")
    payedge_code = "card_declined" if code in (None, "card_declined") else "payment_failed"
    gateway_code = decline or code
    return LastError(payedge_code, str(message) if message else "the payment failed at stripe", gateway_code)


def intent_result(intent: Any) -> GatewayResult:
    """A PaymentIntent object (API answer) as a GatewayResult."""
    status = _STATUS.get(str(intent.status), PaymentStatus.PROCESSING)
    currency = str(getattr(intent, "currency", "") or "")
    error = None
    last_error = getattr(intent, "last_payment_error", None)
    if status is PaymentStatus.REQUIRES_PAYMENT_METHOD and last_error:
        error = _declined(last_error)
    return GatewayResult(
        status=status,
        gateway_ref=str(intent.id),
        amount_captured=_minor(getattr(intent, "amount_received", None), currency)
        if status is PaymentStatus.SUCCEEDED
        else None,
        error=error,
    )


class StripeGateway:
    name = NAME

    def __init__(
        self, api_key: str, api_base: str | None = None, *, retries: int = 3, backoff: float = 0.2
    ) -> None:
        base = {"api": api_base} if api_base else None
        self._http = stripe.AIOHTTPClient()
        self.client = stripe.StripeClient(
            api_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=0,
        )
        self.retries = retries
        self.backoff = backoff

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method.startswith("pm_"):
            return None
        return "a stripe payment method id starts with pm_"

    def check_amount(self, amount: int, currency: str) -> None:
        SCALE.to_provider(amount, currency)

    async def _call(self, fn: Callable[[], Awaitable[T]], *, write: bool = True) -> T:
        """Connection errors retried with the same idempotency key; then what the last one proves.

        A connection that could not be made sent nothing (GatewayUnavailableError); a
        write whose answer was lost may have acted (GatewayTimeoutError).
        """
        for attempt in range(self.retries + 1):
            try:
                return await fn()
            except stripe.APIConnectionError as exc:
                if attempt == self.retries:
                    message = f"stripe: {exc.user_message or exc}"
                    if write and not isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                        raise GatewayTimeoutError(message) from None
                    raise GatewayUnavailableError(message) from None
                await asyncio.sleep(self.backoff * 2**attempt)
            except stripe.CardError:
                raise
            except stripe.StripeError as exc:
                raise _stripe_error(exc) from None
        raise GatewayUnavailableError("stripe unreachable")  # pragma: no cover (loop always returns/raises)

    async def create(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        params: dict[str, Any] = {
            "amount": SCALE.to_provider(payment.amount, payment.currency),
            "currency": payment.currency.lower(),
            "metadata": {**payment.metadata, HINT_KEY: payment.id},
        }
        if payment.payment_method:
            # localstripe (and a simple integration) attach the method at creation.
            params["payment_method"] = payment.payment_method
        intent = await self._call(
            lambda: self.client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return intent_result(intent)

    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        ref = payment.gateway_ref
        assert ref is not None
        try:
            intent = await self._call(
                lambda: self.client.v1.payment_intents.confirm_async(
                    ref, None, {"idempotency_key": idempotency_key}
                )
            )
        except stripe.CardError as exc:
            # Stripe keeps the PaymentIntent open for another attempt (SPEC 3.1).
            return GatewayResult(PaymentStatus.REQUIRES_PAYMENT_METHOD, ref, error=_declined(exc))
        return intent_result(intent)

    async def cancel(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        ref = payment.gateway_ref
        assert ref is not None
        intent = await self._call(
            lambda: self.client.v1.payment_intents.cancel_async(
                ref, None, {"idempotency_key": idempotency_key}
            )
        )
        return intent_result(intent)

    async def refund(
        self, payment: Payment, amount: int, *, refund_id: str, idempotency_key: str
    ) -> str | None:
        params = {
            "payment_intent": payment.gateway_ref,
            "amount": SCALE.to_provider(amount, payment.currency),
        }
        refund = await self._call(
            lambda: self.client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return str(refund.id)

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        """`PaymentIntent.retrieve`: the intent as Stripe has it now (None when Stripe has none)."""
        ref = payment.gateway_ref
        if ref is None:
            return None
        try:
            intent = await self._call(lambda: self.client.v1.payment_intents.retrieve_async(ref), write=False)
        except GatewayRejectedError as exc:
            if exc.gateway_code == "resource_missing":
                return None
            raise GatewayUnavailableError(f"stripe refused the status read: {exc.message}") from None
        return intent_result(intent)

    async def ready(self) -> bool:
        try:
            await self.client.v1.balance.retrieve_async()
        except stripe.StripeError:
            return False
        return True

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _stripe_error(exc: stripe.StripeError) -> Exception:
    status = exc.http_status or 0
    if status >= 500 or status in (0, 429):
        return GatewayUnavailableError(f"stripe answered {status or 'an error'}")
    return GatewayRejectedError(
        "gateway_rejected",
        f"stripe refused the request: {exc.user_message or exc}",
        getattr(exc, "param", None),
        gateway_code=exc.code or ("resource_missing" if status == 404 else "invalid_request"),
    )


# -- inbound ------------------------------------------------------------------------------


class _Fields(NamedTuple):
    """The fields of an event payedge reads, from the native parser or a lenient reading.

    A NamedTuple (immutable, like the frozen dataclass it was): built once per delivery,
    where a frozen dataclass's field-by-field __init__ cost about 1 us more.
    """

    id: str
    type: str
    created: int | None
    object_id: str | None
    currency: str | None
    status: str | None
    amount_received: int | None
    hint: str | None
    malformed: tuple[str, ...]


class StripeWebhooks:
    """`POST /v1/webhooks/stripe`: verified with every configured secret (rotation)."""

    provider = NAME

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = list(secrets)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        if not self.secrets:
            raise WebhookRejectedError(
                "webhook_not_configured", "no --stripe-webhook-secret is configured on this server"
            )
        header = headers.get("Stripe-Signature")
        if not header:
            raise WebhookRejectedError(
                "invalid_signature", "missing Stripe-Signature header", "Stripe-Signature"
            )
        try:
            event = payedge.parse_stripe_event(body, header, self.secrets)
        except payedge.PayloadError:
            # Signed by Stripe (PayloadError is raised only after the signature
            # holds), but not an event the native reader can read: read what can be.
            return _lenient(body)
        except payedge.PayedgeError as exc:
            raise WebhookRejectedError("invalid_signature", str(exc), "Stripe-Signature") from None
        metadata = event.metadata  # a new dict at each read: read once
        fields = _Fields(
            event.id,
            event.type,
            event.created,
            event.object_id,
            event.currency,
            event.status,
            event.amount_received,
            metadata.get(HINT_KEY) if metadata else None,
            tuple(event.malformed),
        )
        return to_inbound(fields, event.raw)


def _lenient(body: bytes) -> InboundEvent:
    """A signed event the native parser refused: read what can be read, never refuse it."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return _unreadable(body, "the payload is not a JSON object")
    event_id, event_type = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        return _unreadable(body, "the event has no string id or type")
    obj = _dig(data, "data", "object")
    metadata: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    malformed: list[str] = []
    fields = _Fields(
        event_id,
        event_type,
        _typed(data.get("created"), int, "created", malformed),
        _typed(obj.get("id"), str, "data.object.id", malformed),
        _typed(obj.get("currency"), str, "data.object.currency", malformed),
        _typed(obj.get("status"), str, "data.object.status", malformed),
        _typed(obj.get("amount_received"), int, "data.object.amount_received", malformed),
        _typed(metadata.get(HINT_KEY), str, f"data.object.metadata.{HINT_KEY}", malformed),
        tuple(malformed),
    )
    return to_inbound(fields, body)


def _unreadable(body: bytes, why: str) -> InboundEvent:
    """No usable id: the delivery is known by its body's digest (so its redeliveries dedupe)."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    return InboundEvent(f"unparsed:{digest}", "unparsed", problem=why)


def _dig(data: Any, *path: str) -> dict[str, Any]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _typed(value: Any, kind: type, path: str, malformed: list[str]) -> Any:
    if value is None:
        return None
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    malformed.append(path)
    return None


_NEEDED = frozenset(
    ("data.object.id", "data.object.status", "data.object.currency", "data.object.amount_received")
)


def to_inbound(f: _Fields, raw: bytes) -> InboundEvent:
    """An event's fields as an InboundEvent: the state it reports, or nothing to act on."""
    kind, object_id = f.type, f.object_id
    # A payment_intent.* type payedge acts on (the usual event) is looked up first.
    reported = _EVENT_STATUS.get(kind)
    if reported is None:
        if kind == CHARGE_REFUNDED:
            return _charge_refunded(f, raw)
        if kind.startswith("checkout.session."):
            from payedge_server.gateways import stripe_checkout  # SPEC 8: Checkout Sessions

            if kind in stripe_checkout.SESSION_EVENTS:
                return stripe_checkout.session_inbound(f.id, kind, f.created, f.hint, raw, minor=_minor)
        return InboundEvent(f.id, kind, object_id, f.hint)
    bad = [m for m in f.malformed if m in _NEEDED] if f.malformed else []
    if bad or not object_id:
        problem = f"cannot read {', '.join(bad) or 'data.object.id'} of a {kind} event"
        return InboundEvent(f.id, kind, object_id, f.hint, problem=problem)
    status = _STATUS.get(f.status or "", reported)
    # No amount_received (localstripe sends none): the whole amount, as the merge assumes.
    received = f.amount_received if status is PaymentStatus.SUCCEEDED else None
    captured = _minor(received, f.currency) if received is not None else None
    if received is not None and captured is None:
        problem = f"the amount received of a {kind} event is not an exact {f.currency} amount"
        return InboundEvent(f.id, kind, object_id, f.hint, problem=problem)
    error = _failure(raw) if status is PaymentStatus.REQUIRES_PAYMENT_METHOD else None
    effect = GatewayResult(status, object_id, amount_captured=captured, error=error, occurred_at=f.created)
    return InboundEvent(f.id, kind, object_id, f.hint, effect)


def _failure(raw: bytes) -> LastError:
    """`payment_intent.payment_failed`: the attempt's error, read from the raw event (rare type)."""
    try:
        obj = _dig(orjson.loads(raw), "data", "object")
    except orjson.JSONDecodeError:
        obj = {}
    error = obj.get("last_payment_error")
    return _declined(error if isinstance(error, dict) else {})


def _charge_refunded(f: _Fields, raw: bytes) -> InboundEvent:
    """`charge.refunded`: the object is a Charge; its PaymentIntent and cumulative amounts say the truth.

    A refund proves the charge was captured, so the event carries the capture too
    (it may arrive before `payment_intent.succeeded`).
    """
    try:
        charge = _dig(orjson.loads(raw), "data", "object")
    except orjson.JSONDecodeError:
        charge = {}
    intent, currency = charge.get("payment_intent"), charge.get("currency")
    captured = _minor(charge.get("amount_captured"), currency if isinstance(currency, str) else None)
    refunded = _minor(charge.get("amount_refunded"), currency if isinstance(currency, str) else None)
    if not isinstance(intent, str) or captured is None or refunded is None:
        problem = "a charge.refunded event without payment_intent, or exact amounts captured and refunded"
        return InboundEvent(f.id, f.type, intent if isinstance(intent, str) else None, None, problem=problem)
    effect = GatewayResult(
        PaymentStatus.SUCCEEDED,
        intent,
        amount_captured=captured,
        amount_refunded=refunded,
        occurred_at=f.created,
    )
    return InboundEvent(f.id, f.type, intent, f.hint, effect)
