"""payedge: a fast, trustworthy payment edge with a Rust core.

Everything public is re-exported here; the contract is SPEC section 2 (docs/spec/core.md).
Importing ``payedge._core`` initialises the native module, which imports the
exception classes of ``payedge._errors`` and re-exports them.
"""

from __future__ import annotations

from payedge._core import (
    Begin,
    Decision,
    Deduper,
    IdempotencyCache,
    Lease,
    LeaseLocks,
    Quote,
    Router,
    StripeEvent,
    Tariff,
    TerminalQueue,
    __version__,
    fingerprint,
    format_money,
    minor_units,
    parse_stripe_event,
    sign_standard,
    sign_stripe,
    to_minor,
    verify_hmac,
    verify_standard,
    verify_stripe,
    verify_stripe_many,
)
from payedge._errors import (
    IdempotencyError,
    InvalidArgumentError,
    MoneyError,
    PayedgeError,
    PayloadError,
    QueueError,
    RoutingError,
    SignatureError,
    StaleLeaseError,
    TariffError,
)
from payedge.tariffs import load_tariff

__all__ = [
    "Begin",
    "Decision",
    "Deduper",
    "IdempotencyCache",
    "IdempotencyError",
    "InvalidArgumentError",
    "Lease",
    "LeaseLocks",
    "MoneyError",
    "PayedgeError",
    "PayloadError",
    "QueueError",
    "Quote",
    "Router",
    "RoutingError",
    "SignatureError",
    "StaleLeaseError",
    "StripeEvent",
    "Tariff",
    "TariffError",
    "TerminalQueue",
    "__version__",
    "fingerprint",
    "format_money",
    "load_tariff",
    "minor_units",
    "parse_stripe_event",
    "sign_standard",
    "sign_stripe",
    "to_minor",
    "verify_hmac",
    "verify_standard",
    "verify_stripe",
    "verify_stripe_many",
]
