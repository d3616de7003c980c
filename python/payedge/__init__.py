"""payedge: a fast, trustworthy payment edge with a Rust core.

Everything public is re-exported here; see SPEC.md section 2 for the contract.
"""

from __future__ import annotations

from payedge._core import __version__

# _errors first: the native module imports it while it initialises.
from payedge._errors import (
    IdempotencyError,
    InvalidArgumentError,
    MoneyError,
    PayedgeError,
    QueueError,
    SignatureError,
    StaleLeaseError,
    TariffError,
)

__all__: list[str] = [
    "IdempotencyError",
    "InvalidArgumentError",
    "MoneyError",
    "PayedgeError",
    "QueueError",
    "SignatureError",
    "StaleLeaseError",
    "TariffError",
    "__version__",
]

# Each area adds its imports and names in its own section below.

# --- signatures (SPEC 2.1) ---
from payedge._core import (
    StripeEvent,
    parse_stripe_event,
    sign_standard,
    sign_stripe,
    verify_hmac,
    verify_standard,
    verify_stripe,
    verify_stripe_many,
)

__all__ += [
    "StripeEvent",
    "parse_stripe_event",
    "sign_standard",
    "sign_stripe",
    "verify_hmac",
    "verify_standard",
    "verify_stripe",
    "verify_stripe_many",
]

# --- dedupe and idempotency (SPEC 2.2) ---
from payedge._core import Begin, Deduper, IdempotencyCache, fingerprint

__all__ += ["Begin", "Deduper", "IdempotencyCache", "fingerprint"]

# --- money and tariffs (SPEC 2.3) ---
from payedge._core import Quote, Tariff, format_money, minor_units, to_minor
from payedge.tariffs import load_tariff

__all__ += ["Quote", "Tariff", "format_money", "load_tariff", "minor_units", "to_minor"]

# --- terminal queue and locks (SPEC 2.4) ---
from payedge._core import Lease, LeaseLocks, TerminalQueue

__all__ += ["Lease", "LeaseLocks", "TerminalQueue"]
