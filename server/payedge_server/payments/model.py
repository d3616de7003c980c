"""The payment as the domain sees it: a frozen `Payment`, its `PaymentStatus`, its attempts.

Amounts are integers in the currency's ISO 4217 minor unit. Times are UNIX
milliseconds (`created_at`, `updated_at`, `provider_at`, `locked_until`); the API
shows seconds (`created`, `updated`), as everywhere on HTTP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from payedge_server.payments.declines import customer_message


class PaymentStatus(StrEnum):
    """SPEC 3: requires_payment_method -> requires_confirmation -> processing -> succeeded | failed |
    canceled; succeeded -> partially_refunded -> refunded."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"

    @property
    def captured(self) -> bool:
        """The money was taken (succeeded, or refunded since)."""
        return self in _CAPTURED

    @property
    def final(self) -> bool:
        """No provider event moves the payment out of this status (refunds aside)."""
        return self in _FINAL


_CAPTURED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
_FINAL = _CAPTURED | {PaymentStatus.FAILED, PaymentStatus.CANCELED}
STATUSES: tuple[str, ...] = tuple(s.value for s in PaymentStatus)
CONFIRMABLE = frozenset({PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.REQUIRES_CONFIRMATION})
CANCELABLE = CONFIRMABLE
REFUNDABLE = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})


@dataclass(frozen=True, slots=True)
class LastError:
    """Why the last attempt failed: payedge's `code` (catalogue), the provider's own code."""

    code: str
    message: str | None = None
    gateway_code: str | None = None

    def view(self, locale: str | None = None, payment_method: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.gateway_code is not None:
            out["gateway_code"] = self.gateway_code
        # SPEC 8: what the customer is told, in the payment's locale, in terms of how they
        # paid (payments/declines.py).
        out["customer_message"] = customer_message(self.code, self.gateway_code, locale, payment_method)
        return out


class NextActionType(StrEnum):
    """What the payer must do at a hosted-payment provider before the payment can go on."""

    REDIRECT = "redirect"  # open `url` (PayPal approval, CinetPay or Orange Money payment page)
    APPROVE_ON_PHONE = "approve_on_phone"  # MTN MoMo: the payer confirms with their PIN


@dataclass(frozen=True, slots=True)
class NextAction:
    """The payer's next step for a `processing` payment (shown as `next_action` on the payment)."""

    type: NextActionType
    url: str | None = None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type.value}
        if self.url is not None:
            out["url"] = self.url
        return out

    def dumps(self) -> str:
        return json.dumps(self.view(), separators=(",", ":"))

    @staticmethod
    def loads(text: str | None) -> NextAction | None:
        if not text:
            return None
        data = json.loads(text)
        return NextAction(NextActionType(data["type"]), data.get("url"))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to a gateway for a payment (confirm), with its outcome and how long it took."""

    gateway: str
    outcome: str  # a PaymentStatus value, or "error"
    error_code: str | None
    latency_ms: int
    at: int  # UNIX ms

    def view(self) -> dict[str, Any]:
        return {
            "gateway": self.gateway,
            "outcome": self.outcome,
            "error_code": self.error_code,
            "latency_ms": self.latency_ms,
            "at": self.at // 1000,
        }


DEFAULT_PAYEE = "default"  # SPEC 6: the wallet credited when a payment names no payee


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _sortable_hex() -> str:
    """24 hex digits: milliseconds since the epoch (11), then 52 random bits (13).

    Ids made later sort later, so the indexes keyed by a payment id (the payments'
    unique id, the status history, the audit trail's subject) grow at their right
    edge: a random id dirtied a random page of each for every new payment, which
    made checkouts slow down as the database outgrew SQLite's page cache.
    """
    return f"{time.time_ns() // 1_000_000:011x}{secrets.randbits(52):013x}"


def new_payment_id() -> str:
    return "pay_" + _sortable_hex()


def new_refund_id() -> str:
    return "re_" + _sortable_hex()


CLIENT_SECRET_SEPARATOR = "_secret_"


def new_client_secret(payment_id: str) -> str:
    """`<payment id>_secret_<32 random URL-safe characters>` (192 bits), like Stripe's client secrets:
    a browser holding it may read that one payment (SPEC 8); the store keeps only its hash."""
    return payment_id + CLIENT_SECRET_SEPARATOR + secrets.token_urlsafe(24)


def client_secret_hash(secret: str) -> str:
    """SHA-256 (hex) of a client secret: 192 random bits need no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    amount: int
    currency: str
    gateway: str
    status: PaymentStatus
    version: int
    created_at: int
    updated_at: int
    user_id: str | None = None
    order_ref: str | None = None
    payment_method: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    gateway_ref: str | None = None
    amount_captured: int = 0
    amount_refunded: int = 0
    last_error: LastError | None = None
    # The provider's time of the newest not-final state applied (SPEC 3.1: an older one is not
    # applied over it), UNIX ms; None when none was.
    provider_at: int | None = None
    # A gateway call in progress holds the payment until then (UNIX ms); None when free.
    locked_until: int | None = None
    # SPEC 6: the wallet owner credited on success, and the commission that applies.
    payee: str = DEFAULT_PAYEE
    commission_type: str | None = None
    # What the payer must do at the provider (hosted payments); shown while `processing`.
    next_action: NextAction | None = None
    # SPEC 8: the hash of the payment's client secret (None for payments made before 0.5),
    # the customer's language (customer messages), and the secret itself, which only the
    # object returned by the creating write carries (never stored, never published).
    client_secret_hash: str | None = None
    locale: str | None = None
    client_secret: str | None = field(default=None, repr=False, compare=False)

    def replace(self, **changes: Any) -> Payment:
        """`dataclasses.replace`, at half its cost: the slots are copied into a new object
        instead of re-running the frozen `__init__` through `fields()` and a keyword dict
        (8.7 -> 4.6 us here; a payment write makes two). Unknown names raise TypeError."""
        if not changes.keys() <= _PAYMENT_FIELD_SET:
            unknown = ", ".join(sorted(changes.keys() - _PAYMENT_FIELD_SET))
            raise TypeError(f"Payment has no field(s) {unknown}")
        new = _new_object(Payment)
        for name in _PAYMENT_FIELDS:
            _set_slot(new, name, changes[name] if name in changes else getattr(self, name))
        return new

    def view(self) -> dict[str, Any]:
        """The payment as the API shows it."""
        return {
            "id": self.id,
            "object": "payment",
            "amount": self.amount,
            "currency": self.currency,
            "gateway": self.gateway,
            "status": self.status.value,
            "version": self.version,
            "user_id": self.user_id,
            "order_ref": self.order_ref,
            "payment_method": self.payment_method,
            "metadata": dict(self.metadata),
            "gateway_ref": self.gateway_ref,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "last_error": self.last_error.view(self.locale, self.payment_method) if self.last_error else None,
            "next_action": self.next_action.view()
            if self.next_action and self.status is PaymentStatus.PROCESSING
            else None,
            "created": self.created_at // 1000,
            "updated": self.updated_at // 1000,
            "payee": self.payee,
            "commission_type": self.commission_type,
            "locale": self.locale,
        }


_PAYMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Payment))
_PAYMENT_FIELD_SET = frozenset(_PAYMENT_FIELDS)
_new_object = object.__new__
_set_slot = object.__setattr__  # what the frozen dataclass's own __init__ calls


@dataclass(frozen=True, slots=True)
class PaymentChange:
    """What a status-changing write did to a payment: hooks and live fan-out receive it."""

    before: Payment | None  # None: the payment was just created
    after: Payment
    source: str


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    gateway_ref: str | None
    payment: Payment

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "payment_id": self.payment_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "gateway_ref": self.gateway_ref,
            "payment": self.payment.view(),
        }
