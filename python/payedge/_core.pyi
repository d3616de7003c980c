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
from payedge._errors import RoutingError as RoutingError
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

# --- routing (SPEC 5; Hyperswitch's static rules, volume split, success-rate and elimination) ---
# Full reference: docs/routing.md. `now` is seconds on time.monotonic()'s clock; None means
# time.monotonic(). Amounts are integer minor units.

class _BucketHealth(TypedDict):
    level: int
    size: int
    state: Literal["closed", "open", "half_open"]
    leak_interval_seconds: float

class _RateHealth(TypedDict):
    currency: str
    payment_method_type: str | None
    successes: int
    total: int
    score: float | None

class _LatencyHealth(TypedDict):
    p50: float | None
    p99: float | None
    samples: int

class _GatewayHealth(TypedDict):
    circuit: Literal["closed", "open", "half_open"]
    probe_in_flight: bool
    buckets: dict[str, _BucketHealth]
    success_rate: list[_RateHealth]
    latency_ms: _LatencyHealth

@final
class Decision:
    """Which gateways to try for one payment, and why (SPEC 5)."""

    @property
    def gateways(self) -> list[str]:
        """Gateways to try, in order; never empty. If every gateway of the rule is
        skipped this is the rule's whole list (a payment is never refused only because
        every circuit is open) and `skipped` still says why each one was."""
    @property
    def rule(self) -> str:
        """The matched rule's name, or "default"."""
    @property
    def approach(self) -> Literal["priority", "split", "success_rate", "default"]: ...
    @property
    def skipped(self) -> dict[str, str]:
        """Gateway -> why it was left out: "circuit_open", "probe_in_flight" (another
        payment holds its one half-open probe) or "half_open" (this decision already
        carries another gateway's probe)."""
    @property
    def probe(self) -> str | None:
        """The half-open gateway this payment probes; the server claims it across
        instances (Redis SET NX) and records its outcome or calls release_probe."""
    @property
    def hedged(self) -> bool:
        """A success-rate decision sending a non-best gateway first (hedging share)."""

@final
class Router:
    """Compiled routing rules plus live gateway health; thread-safe (SPEC 5, after
    Hyperswitch's static rules, volume split, success-rate and elimination routing).

    `rules` is the rules document as JSON text/bytes or a dict (the config file's
    `routing` table): `{"rules": [{name, when: [{field, op, value}], then}], "default":
    {"gateways": [...]}, "health": {...}}`, `then` being `{"gateways": [...]}` (priority),
    `{"split": {gw: weight}}` (weights 1..100 summing to 100) or `{"success_rate": [...]}`.
    Raises RoutingError (code "invalid_routing_rules", `param` the 0-based JSON path such
    as "$.rules[1].when[0].op") for any bad, unknown, duplicate or missing field.
    """

    def __new__(cls, rules: str | bytes | Mapping[str, _Json]) -> Router: ...
    @property
    def gateways(self) -> tuple[str, ...]:
        """Every gateway the rules name, in order of first appearance."""
    @property
    def rule_names(self) -> tuple[str, ...]: ...
    @property
    def metadata_keys(self) -> tuple[str, ...]:
        """The metadata keys the conditions read (only these are looked up)."""
    def decide(
        self,
        payment_id: str,
        amount: int,
        currency: str,
        *,
        country: str | None = None,
        payment_method_type: str | None = None,
        metadata: Mapping[str, str | None] | None = None,
        now: float | None = None,
    ) -> Decision:
        """The first rule whose conditions all hold (else the default), its gateways
        ordered and filtered by health. Splits and hedging are deterministic in
        `payment_id` (SHA-256, identical on every instance). InvalidArgumentError
        (`param` names the argument, or "metadata.<key>") for a bad argument."""
    def record(
        self,
        gateway: str,
        ok: bool,
        *,
        failure_class: str | None = None,
        currency: str | None = None,
        payment_method_type: str | None = None,
        latency_ms: float | None = None,
        now: float | None = None,
    ) -> None:
        """Feed back one attempt's outcome. A failure with a `failure_class` ("timeout",
        "server_error", ...) fills that class's elimination bucket; without one (a
        decline) it only lowers the success rate, which needs `currency`. Any outcome
        settles a half-open circuit. InvalidArgumentError for an unknown gateway, a
        failure_class on a success, or more than 32 classes per gateway."""
    def release_probe(self, gateway: str) -> bool:
        """The payment carrying `gateway`'s probe ended without trying it; False if none was out."""
    def health(self, now: float | None = None) -> dict[str, _GatewayHealth]:
        """Every gateway's circuit, buckets, success rates (this instance plus merged
        peers) and this instance's latency p50/p99 in ms, for GET /v1/gateways."""
    def export_health(self, now: float | None = None) -> dict[str, _Json]:
        """This instance's own counts (JSON-ready), for the other instances' merge_health."""
    def merge_health(
        self, peer: str, snapshot: str | bytes | Mapping[str, _Json], *, now: float | None = None
    ) -> None:
        """Take in (replace) peer instance `peer`'s export_health(); idempotent. Peer
        counts leak like ours and expire after `peer_ttl_seconds`."""
    def reset_health(self, gateway: str | None = None, *, now: float | None = None) -> None:
        """Operator reset of one gateway's health (or all); peers adopt it via merge."""

# private: the wide-integer check of payedge.stripe_compat (SPEC 10)
def _json_has_wide_integer(payload: bytes) -> bool: ...
