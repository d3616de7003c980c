# Type stubs for the native module payedge._core (core-rs/bindings).
# Kept true by `python -m mypy.stubtest payedge._core` in tests/test_stubs.py.
# One section per area; each area edits only its own section.

import decimal
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, TypedDict, final

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

def sign_stripe(payload: bytes | bytearray, secret: str, timestamp: int) -> str: ...
def verify_stripe(
    payload: bytes | bytearray,
    header: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: int | None = 300,
    now: int | None = None,
) -> int: ...
def verify_stripe_many(
    items: Iterable[tuple[bytes | bytearray, str | None]],
    secrets: str | Sequence[str],
    *,
    tolerance: int | None = 300,
    now: int | None = None,
) -> list[int | SignatureError]: ...
def parse_stripe_event(
    payload: bytes | bytearray,
    header: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: int | None = 300,
    now: int | None = None,
) -> StripeEvent: ...

@final
class StripeEvent:
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def created(self) -> int: ...
    @property
    def livemode(self) -> bool: ...
    @property
    def object_id(self) -> str | None: ...
    @property
    def object_type(self) -> str | None: ...
    @property
    def amount(self) -> int | None: ...
    @property
    def amount_received(self) -> int | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def raw(self) -> bytes: ...

def sign_standard(msg_id: str, timestamp: int, payload: bytes | bytearray, secret: str) -> str: ...
def verify_standard(
    payload: bytes | bytearray,
    headers: Mapping[str, str],
    secrets: str | Sequence[str],
    *,
    tolerance: int = 300,
    now: int | None = None,
) -> str: ...
def verify_hmac(
    payload: bytes | bytearray,
    signature: str,
    secret: str | bytes,
    *,
    encoding: Literal["hex", "base64"] = "hex",
) -> None: ...

# --- dedupe and idempotency (SPEC 2.2) ---
# `now` is seconds on time.monotonic()'s clock; None means time.monotonic().

@final
class Deduper:
    """Thread-safe "seen before?" set: TTL from the first sighting, at most
    `max_entries` held (oldest evicted first, counted in `evicted`)."""

    def __new__(cls, ttl: float = 259200.0, max_entries: int = 10000000) -> Deduper: ...
    def check_and_insert(self, key: str, now: float | None = None) -> bool:
        """True the first time a live key is seen, False for a duplicate."""
    def check_and_insert_many(self, keys: Iterable[str], now: float | None = None) -> list[bool]:
        """check_and_insert for each key in order, all at one `now`, GIL released."""
    def contains(self, key: str, now: float | None = None) -> bool:
        """Whether `key` is held and live at `now` (does not insert)."""
    def __contains__(self, key: object, /) -> bool:
        """Live at time.monotonic(); a non-str is never in."""
    def __len__(self) -> int:
        """Entries held, including expired ones not purged yet."""
    def purge_expired(self, now: float | None = None) -> int:
        """Remove every entry expired at `now`; returns how many."""
    @property
    def evicted(self) -> int:
        """Live entries dropped before their TTL because of `max_entries`."""
    @property
    def ttl(self) -> float: ...
    @property
    def max_entries(self) -> int: ...

@final
class Begin:
    """Outcome of IdempotencyCache.begin; `status` and `body` are set for "replay" only."""

    @property
    def kind(self) -> Literal["new", "in_flight", "replay", "mismatch"]: ...
    @property
    def status(self) -> int | None: ...
    @property
    def body(self) -> bytes | None: ...

@final
class IdempotencyCache:
    """Idempotency keys (1 to 255 characters) living `ttl` seconds from their first begin."""

    def __new__(cls, ttl: float = 86400.0) -> IdempotencyCache: ...
    def begin(self, key: str, fingerprint: str, now: float | None = None) -> Begin:
        """new / in_flight / replay / mismatch (a different fingerprint is a mismatch even in flight)."""
    def complete(self, key: str, status: int, body: bytes) -> bool:
        """Save the response of the in-flight request; False (no change) if `key` is not in flight."""
    def abandon(self, key: str) -> bool:
        """Forget the in-flight request so it may be retried; False (no change) if not in flight."""
    def __len__(self) -> int: ...
    def purge_expired(self, now: float | None = None) -> int: ...
    @property
    def ttl(self) -> float: ...

def fingerprint(method: str, path: str, body: bytes) -> str:
    """sha256 hex of the upper-cased method, the path and the body (canonical JSON when it is JSON)."""

# --- money and tariffs (SPEC 2.3) ---

_Json = typing.Any

def minor_units(currency: str) -> int: ...
def to_minor(amount: str | decimal.Decimal, currency: str) -> int: ...
def format_money(amount: int, currency: str) -> str: ...

@final
class Tariff:
    def __new__(cls, rules: str | bytes | dict[str, _Json]) -> Tariff: ...
    @property
    def currency(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def increment_minutes(self) -> int: ...
    @property
    def subscriptions(self) -> list[str]: ...
    def quote(
        self, entry: int, exit: int, *, lost_ticket: bool = False, subscription: str | None = None
    ) -> Quote: ...
    def quote_many(
        self,
        entries: Sequence[int],
        exits: Sequence[int],
        *,
        lost_ticket: bool | Sequence[bool] | None = None,
        subscription: str | Sequence[str | None] | None = None,
    ) -> list[int]: ...

@final
class Quote:
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def units(self) -> int: ...
    @property
    def entry(self) -> int: ...
    @property
    def exit(self) -> int: ...
    @property
    def lines(self) -> list[dict[str, _Json]]: ...

# --- terminal queue and locks (SPEC 2.4) ---

class _QueueSnapshot(TypedDict):
    queue: list[str]
    terminals: dict[str, Lease | None]

@final
class Lease:
    """A terminal lease: ``complete`` or ``extend`` it with ``token`` before ``expires_at``."""

    __match_args__: Final = ("payment_id", "user_id", "terminal_id", "token", "expires_at")
    def __new__(
        cls, payment_id: str, user_id: str, terminal_id: str, token: int, expires_at: float
    ) -> Lease: ...
    @property
    def payment_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def terminal_id(self) -> str: ...
    @property
    def token(self) -> int: ...
    @property
    def expires_at(self) -> float: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class TerminalQueue:
    """Card payments waiting for one of N terminals, first come first served (SPEC 2.4)."""

    def __new__(cls, terminals: Sequence[str], lock_ttl: float = 180.0) -> TerminalQueue: ...
    @property
    def lock_ttl(self) -> float: ...
    @property
    def terminals(self) -> tuple[str, ...]: ...
    def __len__(self) -> int: ...
    def enqueue(self, payment_id: str, user_id: str, now: float | None = None) -> int: ...
    def position(self, payment_id: str) -> int | None: ...
    def allocate(self, terminal_id: str, now: float | None = None) -> Lease | None: ...
    def complete(self, token: int, now: float | None = None) -> None: ...
    def extend(self, token: int, now: float | None = None) -> float: ...
    def cancel(self, payment_id: str) -> bool: ...
    def expire(self, now: float | None = None) -> list[Lease]: ...
    def snapshot(self) -> _QueueSnapshot: ...

@final
class LeaseLocks:
    """Expiring locks on keys with strictly increasing fencing tokens (SPEC 2.4)."""

    def __new__(cls, ttl: float = 180.0) -> LeaseLocks: ...
    @property
    def ttl(self) -> float: ...
    def __len__(self) -> int: ...
    def acquire(self, key: str, now: float | None = None) -> int | None: ...
    def release(self, key: str, token: int, now: float | None = None) -> bool: ...
    def extend(self, key: str, token: int, now: float | None = None) -> bool: ...

# private: the wide-integer check of payedge.stripe_compat (SPEC 10)
def _json_has_wide_integer(payload: bytes) -> bool: ...
