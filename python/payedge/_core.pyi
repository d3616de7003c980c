# Type stubs for the native module payedge._core (core-rs/bindings).
# Kept true by `python -m mypy.stubtest payedge._core` in tests/test_stubs.py.
# One section per area; each area edits only its own section.

from payedge._errors import IdempotencyError as IdempotencyError
from payedge._errors import InvalidArgumentError as InvalidArgumentError
from payedge._errors import MoneyError as MoneyError
from payedge._errors import PayedgeError as PayedgeError
from payedge._errors import QueueError as QueueError
from payedge._errors import SignatureError as SignatureError
from payedge._errors import StaleLeaseError as StaleLeaseError
from payedge._errors import TariffError as TariffError

__version__: str

# --- signatures (SPEC 2.1) ---

# --- dedupe and idempotency (SPEC 2.2) ---

# --- money and tariffs (SPEC 2.3) ---

# --- terminal queue and locks (SPEC 2.4) ---
