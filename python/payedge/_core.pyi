"""payedge._core: the native core (core-rs/bindings over core-rs/core).

Everything here is re-exported by ``payedge`` (the contract: SPEC section 2, docs/spec/core.md).

Errors: every exception is a ``payedge.PayedgeError`` with a stable ``.code``
and, where one input was at fault, ``.param`` naming it (an argument such as
``secrets[1]``, or a JSON path). A Python argument of the wrong type raises the
payedge exception of the function's area (``SignatureError`` with
``code="invalid_type"`` for the signature functions, ``TariffError`` for
tariffs, ``InvalidArgumentError`` with ``code="invalid_argument"`` elsewhere),
never a bare ``TypeError``. ``bool`` is never accepted as an ``int``.

Money: integers in the currency's minor unit (EUR cents, JPY yen, KWD fils).

Clocks (one policy, ``core-rs/bindings/src/clock.rs``): every clocked call takes
an optional ``now``; omitted or ``None``, the binding reads the clock itself:

- signatures and events (``verify_stripe``, ``verify_stripe_many``,
  ``parse_stripe_event``, ``verify_standard``): ``now`` is an ``int`` of UNIX
  seconds; the default is the wall clock (``time.time()``), because a
  signature's timestamp and an event's ``created`` are UNIX times set by the
  sender's clock;
- TTLs and leases (``Deduper``, ``IdempotencyCache``, ``TerminalQueue``,
  ``LeaseLocks``): ``now`` is seconds (``int`` or ``float``) on
  ``time.monotonic()``'s clock, the default; elapsed time must not jump when
  the wall clock is stepped. Expiry times handed back (``Lease.expires_at``)
  are on the same clock.
"""

import decimal
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, TypedDict, final

from payedge._errors import IdempotencyError as IdempotencyError
from payedge._errors import InvalidArgumentError as InvalidArgumentError
from payedge._errors import MoneyError as MoneyError
from payedge._errors import PayedgeError as PayedgeError
from payedge._errors import PayloadError as PayloadError
from payedge._errors import QueueError as QueueError
from payedge._errors import RoutingError as RoutingError
from payedge._errors import SignatureError as SignatureError
from payedge._errors import StaleLeaseError as StaleLeaseError
from payedge._errors import TariffError as TariffError

__version__: str
"""The version of the native core (the workspace's Cargo version)."""

# --- signatures (SPEC 2.1) ---

def sign_stripe(payload: bytes | bytearray, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header for ``payload``: ``t=<timestamp>,v1=<hex>``.

    ``<hex>`` is the lowercase HMAC-SHA256 of ``"<timestamp>." + payload`` keyed
    with the secret's UTF-8 (the ``whsec_`` prefix included), as Stripe signs
    (stripe-python ``WebhookSignature``). ``timestamp``: UNIX seconds, 0 to 2**64-1.

    Raises ``SignatureError``: ``invalid_type`` (``payload``, ``secret``,
    ``timestamp``), ``invalid_secret`` (empty or blank secret), ``invalid_argument``
    (negative or too large ``timestamp``).
    """

def verify_stripe(
    payload: bytes | bytearray,
    header: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: int | None = 300,
    now: int | None = None,
) -> int:
    """Verify a ``Stripe-Signature`` header; returns its timestamp (UNIX seconds).

    Accepts and rejects exactly as stripe-python's
    ``WebhookSignature.verify_header`` (SPEC 2.1): items split on ``,``, the first
    ``t`` wins (ASCII digits only), every ``v1`` is a candidate, constant-time
    comparison. ``secrets``: one secret or several (rotation: any may match).
    ``tolerance``: seconds of age allowed; ``None`` or ``0`` disables the age
    check, which only rejects the past (``t < now - tolerance``). ``now``: UNIX
    seconds, default the wall clock. ``header=None`` is a missing header.

    Raises ``SignatureError`` with ``.code`` one of ``signature_mismatch``,
    ``timestamp_outside_tolerance``, ``malformed_header``, ``no_timestamp``,
    ``no_signatures``, ``missing_header``, ``header_too_large`` (over 8 KiB),
    ``invalid_payload`` (not UTF-8: Stripe signs text), ``invalid_secret``,
    ``invalid_type``, ``invalid_argument``; ``.param`` is ``payload``,
    ``header``, ``secrets`` / ``secrets[i]``, ``tolerance`` or ``now``.
    """

def verify_stripe_many(
    items: Iterable[tuple[bytes | bytearray, str | None]],
    secrets: str | Sequence[str],
    *,
    tolerance: int | None = 300,
    now: int | None = None,
) -> list[int | SignatureError]:
    """``verify_stripe`` for each ``(payload, header)``, with the GIL released.

    One result per item, in order: the timestamp, or the ``SignatureError``
    ``verify_stripe`` would raise (returned, not raised; ``.param`` is
    ``payload`` or ``header``). Large batches (thousands of items) use several
    cores. A bad argument still raises ``SignatureError``: ``invalid_type`` with
    ``.param`` ``items``, ``items[i]``, ``items[i][0]`` or ``items[i][1]``;
    ``invalid_secret`` (``secrets``); ``invalid_argument`` (``tolerance``, ``now``).
    """

def parse_stripe_event(
    payload: bytes | bytearray,
    header: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: int | None = 300,
    now: int | None = None,
) -> StripeEvent:
    """Verify the ``Stripe-Signature`` header (exactly as ``verify_stripe``), then
    read the event, in one native call (the GIL is released for large payloads).

    What the signature proves, payedge acknowledges (issue 16):

    - a signature failure raises ``SignatureError`` as ``verify_stripe`` does
      (a payload that is not UTF-8 included: Stripe signs text); after a valid
      signature, never;
    - a verified payload that cannot be an event at all raises ``PayloadError``
      (``code="invalid_payload"``) whose ``.param`` names the field: ``payload``
      (not JSON, or not an object), ``id`` or ``type`` (missing or not a
      string), ``created`` (missing or not an integer);
    - otherwise the event is returned. A field it reads that holds another type
      (an ``amount`` that is an object, a ``status`` that is a list, a metadata
      value that is not a string...) reads as absent and its JSON path is
      listed in ``StripeEvent.malformed``.

    Readings follow Python's ``json.loads`` (what stripe-python uses): ``null``
    is absent, an integer is a number without fraction or exponent, of a key
    given twice the last counts; unread fields are skipped at any depth and
    never converted (``1e400`` elsewhere is harmless). payedge's own limits:
    integers must fit 64 bits, and a string holding an escaped lone surrogate
    is unreadable (malformed, or ``PayloadError`` for ``id``/``type``).
    """

@final
class StripeEvent:
    """A verified Stripe event: the fields payedge reads (SPEC 2.1), immutable.

    Field meanings are Stripe's (https://docs.stripe.com/api/events/object):
    ``data.object`` is the object the event is about (a PaymentIntent, a
    Charge, ...). Strings are made into ``str`` objects when read. A field of
    an unexpected type reads as None (``livemode``: False; ``metadata``: the
    entry is left out) and is named in ``malformed``: act on an event only when
    the fields you need are not in it.
    """

    @property
    def id(self) -> str:
        """The event id (``evt_...``): the key to dedupe deliveries on."""
    @property
    def type(self) -> str:
        """The event type, e.g. ``payment_intent.succeeded``."""
    @property
    def created(self) -> int:
        """When Stripe created the event, UNIX seconds (the sender's wall clock)."""
    @property
    def livemode(self) -> bool:
        """True for live-mode events; False for test mode or when absent."""
    @property
    def object_id(self) -> str | None:
        """``data.object.id`` (``pi_...``, ``ch_...``), or None."""
    @property
    def object_type(self) -> str | None:
        """``data.object.object``: the object's type (``payment_intent``, ``charge``), or None."""
    @property
    def amount(self) -> int | None:
        """``data.object.amount`` in minor units of ``currency``, or None."""
    @property
    def amount_received(self) -> int | None:
        """``data.object.amount_received`` in minor units (PaymentIntents), or None."""
    @property
    def currency(self) -> str | None:
        """``data.object.currency``: ISO 4217 code as Stripe writes it (lowercase), or None."""
    @property
    def status(self) -> str | None:
        """``data.object.status`` (``succeeded``, ``requires_payment_method``...), or None."""
    @property
    def metadata(self) -> dict[str, str]:
        """``data.object.metadata``: a new dict on each read (the event stays immutable)."""
    @property
    def malformed(self) -> list[str]:
        """JSON paths of the fields read as absent because their value had another type.

        In reading order: ``livemode``, ``data``, ``data.object``,
        ``data.object.<field>`` (``id``, ``object``, ``amount``,
        ``amount_received``, ``currency``, ``status``, ``metadata``), then
        ``data.object.metadata.<key>`` for each metadata value that is not a
        string. Empty for a well-formed event; a new list on each read.
        """
    @property
    def raw(self) -> bytes:
        """The verified payload as received (the caller's own ``bytes`` object when given one)."""

def sign_standard(msg_id: str, timestamp: int, payload: bytes | bytearray, secret: str) -> str:
    """The ``webhook-signature`` value of a Standard Webhooks message: ``v1,<base64>``.

    ``<base64>`` is the HMAC-SHA256 of ``"<msg_id>.<timestamp>." + payload``
    keyed with the base64-decoded secret (``whsec_<base64>``), as the Standard
    Webhooks specification (standardwebhooks.com) signs. ``timestamp``: UNIX seconds.

    Raises ``SignatureError``: ``invalid_type`` (any argument), ``invalid_secret``
    (not ``whsec_`` + base64, or empty), ``invalid_argument`` (``timestamp`` out of range).
    """

def verify_standard(
    payload: bytes | bytearray,
    headers: Mapping[str, str],
    secrets: str | Sequence[str],
    *,
    tolerance: int = 300,
    now: int | None = None,
) -> str:
    """Verify a Standard Webhooks message; returns its ``webhook-id``.

    ``headers``: any mapping; names are case-insensitive and the last spelling
    wins. The ``webhook-timestamp`` must be ASCII digits within ``tolerance``
    seconds of ``now`` (UNIX seconds, default the wall clock), before *or* after.
    Verdicts follow the ``standardwebhooks`` package (SPEC 2.1); where that
    package crashes on malformed input, payedge raises ``SignatureError``.

    Raises ``SignatureError`` with ``.code`` one of ``signature_mismatch``,
    ``timestamp_outside_tolerance``, ``malformed_header``, ``no_signatures``,
    ``missing_header``, ``header_too_large``, ``invalid_payload`` (not UTF-8),
    ``invalid_secret``, ``invalid_type``, ``invalid_argument``; ``.param`` is
    ``payload``, ``headers`` / ``headers['webhook-id']``, ``secrets`` /
    ``secrets[i]``, ``tolerance`` or ``now``.
    """

def verify_hmac(
    payload: bytes | bytearray,
    signature: str,
    secret: str | bytes,
    *,
    encoding: Literal["hex", "base64"] = "hex",
) -> None:
    """Check a bare HMAC-SHA256 of ``payload`` (any bytes) in constant time.

    For providers whose callbacks carry a plain MAC of the body (CinetPay and
    others). ``encoding``: ``"hex"`` (either case) or ``"base64"`` (standard
    alphabet, padding optional). ``secret``: its UTF-8 when a ``str``. Returns None.

    Raises ``SignatureError``: ``signature_mismatch``, ``malformed_signature``,
    ``missing_header`` (empty signature), ``header_too_large``,
    ``invalid_secret``, ``invalid_type``, ``invalid_argument`` (``encoding``);
    ``.param`` is ``signature``, ``secret``, ``encoding`` or ``payload``.
    """

# --- dedupe and idempotency (SPEC 2.2) ---
# `now` is seconds on time.monotonic()'s clock; None means time.monotonic().

@final
class Deduper:
    """Thread-safe "seen before?" set for event ids (SPEC 2.2).

    The TTL runs from a key's first sighting (a duplicate does not extend it);
    at most ``max_entries`` keys are held: past the bound the oldest are
    evicted first (expired ones silently, live ones counted in ``evicted``); a
    live key is never forgotten before its TTL for any other reason.
    ``now``: seconds on ``time.monotonic()``'s clock, default ``time.monotonic()``.
    Bad arguments raise ``InvalidArgumentError`` (``code="invalid_argument"``,
    ``.param`` naming the argument).

    Memory does not depend on key length: a key is stored as its 128-bit
    SipHash-1-3 under a random per-instance key (a PRF: ids cannot be crafted
    to collide), about 33 bytes per key at 10 M keys (docs/dedupe.md). Two
    keys with the same digest would make the second a false duplicate: a new
    key matches one of ``n`` live keys with probability at most ``n / 2**128``
    (2.9e-32 at 10 M, 7.6e-31 at 260 M live keys); any two of ``n`` collide
    with probability at most ``n * (n - 1) / 2**129`` (1.5e-25 at 10 M,
    9.9e-23 at 260 M).
    """

    def __new__(cls, ttl: float = 259200.0, max_entries: int = 10000000) -> Deduper:
        """``ttl``: seconds a key lives (default 72 h: Stripe retries for up to 3 days);
        ``max_entries``: the memory bound, 1 to 2**30 (default 10 M, about 330 MB)."""
    def check_and_insert(self, key: str, now: float | None = None) -> bool:
        """True the first time a live ``key`` is seen (and remember it), False for a duplicate.

        Raises ``InvalidArgumentError``: ``key`` empty or not a ``str``, ``now`` not a finite number.
        """
    def check_and_insert_many(self, keys: Iterable[str], now: float | None = None) -> list[bool]:
        """``check_and_insert`` for each key in order, all at one ``now``, with the GIL released.

        A key repeated in the batch is a duplicate after its first place. Every
        key is checked before any is inserted: a bad one (``.param == "keys"``,
        the message names the element) inserts nothing.
        """
    def contains(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` is held and live at ``now`` (does not insert)."""
    def __contains__(self, key: object, /) -> bool:
        """``key in d``: live at ``time.monotonic()``; a non-``str`` is never in."""
    def __len__(self) -> int:
        """Keys held, including expired ones not purged yet (exact after ``purge_expired``)."""
    def purge_expired(self, now: float | None = None) -> int:
        """Remove every key expired at ``now`` (GIL released); returns how many."""
    @property
    def evicted(self) -> int:
        """Live keys dropped before their TTL because of ``max_entries``."""
    @property
    def ttl(self) -> float:
        """Seconds a key lives from its first sighting."""
    @property
    def max_entries(self) -> int:
        """The bound on keys held."""

@final
class _LegacyDeduper:
    """The deduper before issue 16 (whole keys stored): the benchmarks' baseline
    (bench/dedupe_memory.py), not part of the API. Same semantics as ``Deduper``."""

    def __new__(cls, ttl: float = 259200.0, max_entries: int = 10000000) -> _LegacyDeduper:
        """As ``Deduper``."""
    def check_and_insert(self, key: str, now: float | None = None) -> bool:
        """As ``Deduper.check_and_insert``."""
    def check_and_insert_many(self, keys: Iterable[str], now: float | None = None) -> list[bool]:
        """As ``Deduper.check_and_insert_many``."""
    def __len__(self) -> int:
        """Keys held."""

@final
class Begin:
    """Outcome of ``IdempotencyCache.begin`` (immutable)."""

    @property
    def kind(self) -> Literal["new", "in_flight", "replay", "mismatch"]:
        """``new``: go ahead, then ``complete`` or ``abandon``; ``in_flight``: the same
        request is running (HTTP 409); ``replay``: send the saved response again;
        ``mismatch``: the key was used for a different request (HTTP 422).
        Stripe's idempotency semantics (https://docs.stripe.com/api/idempotent_requests)."""
    @property
    def status(self) -> int | None:
        """The saved HTTP status, for ``replay`` only."""
    @property
    def body(self) -> bytes | None:
        """The saved response body, for ``replay`` only."""

@final
class IdempotencyCache:
    """Idempotency keys (1 to 255 characters) living ``ttl`` seconds from their first ``begin``.

    In-process and thread-safe; ``now``: seconds on ``time.monotonic()``'s clock,
    default ``time.monotonic()``. Keys too long or empty raise ``IdempotencyError``
    (``key_too_long``, ``key_empty``); other bad arguments ``InvalidArgumentError``.
    """

    def __new__(cls, ttl: float = 86400.0) -> IdempotencyCache:
        """``ttl``: seconds a key lives (default 24 h, as Stripe keeps idempotency keys)."""
    def begin(self, key: str, fingerprint: str, now: float | None = None) -> Begin:
        """Start the request ``fingerprint`` under ``key``, or say what is already there.

        A different fingerprint is a ``mismatch`` even while the first is in flight.
        """
    def complete(self, key: str, status: int, body: bytes) -> bool:
        """Save the response (HTTP ``status`` 100-599, ``body``) of the in-flight request.

        False (no change) if ``key`` is not in flight; a saved response is never overwritten.
        """
    def abandon(self, key: str) -> bool:
        """Forget the in-flight request so it may be retried; False (no change) if not in flight."""
    def __len__(self) -> int:
        """Keys held, including expired ones not purged yet."""
    def purge_expired(self, now: float | None = None) -> int:
        """Remove every key expired at ``now`` (GIL released); returns how many."""
    @property
    def ttl(self) -> float:
        """Seconds a key lives from its first ``begin``."""

def fingerprint(method: str, path: str, body: bytes) -> str:
    """Canonical request hash: 64 lowercase hex digits of SHA-256 (SPEC 2.2).

    Over the upper-cased method, the path and the body; a JSON body is hashed
    in canonical form (keys sorted, no whitespace, numbers as written), so two
    bodies differing only in key order or whitespace agree. Raises
    ``InvalidArgumentError`` for an argument of the wrong type.
    """

# --- money and tariffs (SPEC 2.3) ---

_Json = typing.Any

def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of ``currency`` (any case): 2 for EUR, 0 for JPY, 3 for KWD.

    Raises ``MoneyError(code="unknown_currency", param="currency")``; a non-``str``
    raises ``InvalidArgumentError(param="currency")``.
    """

def to_minor(amount: str | decimal.Decimal, currency: str) -> int:
    """Exact decimal amount to minor units: ``to_minor("12.34", "EUR") == 1234``.

    Raises ``MoneyError``: ``excess_precision`` (more decimals than the currency
    has), ``invalid_amount`` (not a decimal; a float or int is refused: floats
    cannot hold most decimal amounts, an int is ambiguous), ``overflow``
    (beyond a signed 64-bit count), ``unknown_currency``; ``.param`` is
    ``amount`` or ``currency``.
    """

def format_money(amount: int, currency: str) -> str:
    """``format_money(1234, "EUR") == "12.34 EUR"``; ``amount`` in minor units, sign kept.

    Raises ``MoneyError``: ``invalid_amount`` (not an int), ``overflow``, ``unknown_currency``.
    """

@final
class Tariff:
    """Compiled parking tariff rules v1 (SPEC 2.3, docs/tariffs.md), immutable.

    Invalid rules raise ``TariffError`` whose ``.param`` is the JSON path of the
    bad field (``$.bands[2].unit_price``); unknown fields are errors.
    """

    def __new__(cls, rules: str | bytes | dict[str, _Json]) -> Tariff:
        """Validate and compile ``rules`` (a JSON document or a dict)."""
    @property
    def currency(self) -> str:
        """ISO 4217 code (upper case) of every amount this tariff quotes."""
    @property
    def timezone(self) -> str:
        """The IANA time zone of the night window (e.g. ``Europe/Paris``)."""
    @property
    def increment_minutes(self) -> int:
        """The billing increment, in minutes."""
    @property
    def subscriptions(self) -> list[str]:
        """Subscription names this tariff knows."""
    def quote(
        self, entry: int, exit: int, *, lost_ticket: bool = False, subscription: str | None = None
    ) -> Quote:
        """Price the stay from ``entry`` to ``exit`` (UNIX seconds).

        Raises ``TariffError`` with ``.param`` ``entry``, ``exit`` (before entry,
        out of range, not an int), ``lost_ticket`` or ``subscription`` (unknown name).
        """
    def quote_many(
        self,
        entries: Sequence[int],
        exits: Sequence[int],
        *,
        lost_ticket: bool | Sequence[bool] | None = None,
        subscription: str | Sequence[str | None] | None = None,
    ) -> list[int]:
        """The amounts (minor units) of many stays, with the GIL released.

        ``lost_ticket`` and ``subscription`` apply to all stays or give one value
        per stay. Raises ``TariffError`` naming the bad element (``exits[3]``).
        """

@final
class Quote:
    """A priced stay (immutable): ``amount`` and the lines that explain it."""

    @property
    def amount(self) -> int:
        """Total to charge, in minor units of ``currency``."""
    @property
    def currency(self) -> str:
        """ISO 4217 code (upper case)."""
    @property
    def units(self) -> int:
        """Billing units (0 within the grace period)."""
    @property
    def entry(self) -> int:
        """Entry time, UNIX seconds."""
    @property
    def exit(self) -> int:
        """Exit time, UNIX seconds."""
    @property
    def lines(self) -> list[dict[str, _Json]]:
        """One dict per 24-hour period (``kind="period"``: ``period``, ``start``,
        ``units``, ``gross``, ``charged``), then ``discount``, ``lost_ticket_fee``
        and ``max_amount`` lines where they apply (docs/tariffs.md)."""

# --- terminal queue and locks (SPEC 2.4) ---

class _QueueSnapshot(TypedDict):
    queue: list[str]
    terminals: dict[str, Lease | None]

@final
class Lease:
    """A terminal lease (immutable): ``complete`` or ``extend`` it with ``token`` before ``expires_at``."""

    __match_args__: Final = ("payment_id", "user_id", "terminal_id", "token", "expires_at")
    def __new__(cls, payment_id: str, user_id: str, terminal_id: str, token: int, expires_at: float) -> Lease:
        """A lease value (normally handed out by ``TerminalQueue.allocate``)."""
    @property
    def payment_id(self) -> str:
        """The payment the terminal is allocated to."""
    @property
    def user_id(self) -> str:
        """The payment's user (who holds no other live lease meanwhile)."""
    @property
    def terminal_id(self) -> str:
        """The allocated terminal."""
    @property
    def token(self) -> int:
        """Fencing token: strictly increasing across the queue's leases."""
    @property
    def expires_at(self) -> float:
        """When the lease ends unless extended: seconds on the ``now`` clock that made it."""
    def __eq__(self, value: object, /) -> bool:
        """Leases are equal when every field is."""
    def __hash__(self) -> int:
        """Consistent with ``__eq__``."""

@final
class TerminalQueue:
    """Card payments waiting for one of N terminals, first come first served (SPEC 2.4).

    One user never holds two live leases; a lease not completed by
    ``expires_at`` frees its terminal and user, and its payment goes back to the
    front. ``now``: seconds on ``time.monotonic()``'s clock (default). Raises
    ``QueueError`` (``unknown_terminal``, ``terminal_busy``, ``already_allocated``),
    ``StaleLeaseError`` (a token that expired, completed or was never issued;
    ``.token``), ``InvalidArgumentError`` naming a bad argument.
    """

    def __new__(cls, terminals: Sequence[str], lock_ttl: float = 180.0) -> TerminalQueue:
        """``terminals``: distinct non-empty ids; ``lock_ttl``: lease seconds (default 3 min)."""
    @property
    def lock_ttl(self) -> float:
        """Seconds a lease lasts from ``allocate`` or ``extend``."""
    @property
    def terminals(self) -> tuple[str, ...]:
        """The terminal ids, in the order given."""
    def __len__(self) -> int:
        """Payments waiting (not holding a lease)."""
    def enqueue(self, payment_id: str, user_id: str, now: float | None = None) -> int:
        """Queue a payment; returns its 0-based position (its current one if already queued)."""
    def position(self, payment_id: str) -> int | None:
        """0-based position of a waiting payment, or None (lock-free read)."""
    def allocate(self, terminal_id: str, now: float | None = None) -> Lease | None:
        """Give the terminal to the oldest waiting payment whose user holds no live lease, or None."""
    def complete(self, token: int, now: float | None = None) -> None:
        """End the lease ``token`` (the payment is done); ``StaleLeaseError`` if it is not live."""
    def extend(self, token: int, now: float | None = None) -> float:
        """Push a live lease to ``now + lock_ttl`` (never shorter); returns the new ``expires_at``."""
    def cancel(self, payment_id: str) -> bool:
        """Remove a waiting payment or end its lease; False when unknown."""
    def expire(self, now: float | None = None) -> list[Lease]:
        """End every lease with ``now >= expires_at``; returns them (their payments go back first)."""
    def snapshot(self) -> _QueueSnapshot:
        """``{"queue": [payment ids in order], "terminals": {id: Lease | None}}`` (one consistent view)."""

@final
class LeaseLocks:
    """Expiring locks on keys with strictly increasing fencing tokens (SPEC 2.4).

    ``now``: seconds on ``time.monotonic()``'s clock (default). Bad arguments
    (an empty key, a non-finite ``now``) raise ``InvalidArgumentError``.
    """

    def __new__(cls, ttl: float = 180.0) -> LeaseLocks:
        """``ttl``: seconds a lock is held unless released or extended (default 3 min)."""
    @property
    def ttl(self) -> float:
        """Seconds a lock lasts from ``acquire`` or ``extend``."""
    def __len__(self) -> int:
        """Locks recorded (live, or expired but not yet swept)."""
    def acquire(self, key: str, now: float | None = None) -> int | None:
        """A fencing token if ``key`` was free (or its lock expired), else None."""
    def release(self, key: str, token: int, now: float | None = None) -> bool:
        """Release ``key`` if ``token`` still holds it live; False otherwise."""
    def extend(self, key: str, token: int, now: float | None = None) -> bool:
        """Push a live lock held by ``token`` to ``now + ttl`` (never shorter); False otherwise."""

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
    def approach(self) -> Literal["priority", "split", "success_rate", "default"]:
        """How the rule ordered its gateways: a fixed priority list, a volume split
        (deterministic on the payment id), by success rate, or the default list."""
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

    def __new__(cls, rules: str | bytes | Mapping[str, _Json]) -> Router:
        """Validate and compile ``rules`` (a JSON document or a mapping; docs/routing.md).
        A bad rule raises ``RoutingError`` whose ``param`` is the JSON path of the field."""
    @property
    def gateways(self) -> tuple[str, ...]:
        """Every gateway the rules name, in order of first appearance."""
    @property
    def rule_names(self) -> tuple[str, ...]:
        """The rules' names, in the order they are tried."""
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
    def simulate(
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
        """The Decision `decide` would return now, with no effect on the router: a
        half-open gateway is named in `probe` but its probe is not taken (the next
        `decide` still carries it). For `POST /v1/routing/simulate` and provisional
        choices; same arguments and errors as `decide`."""
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
def _json_has_wide_integer(payload: bytes) -> bool:
    """Whether ``payload`` (JSON bytes) holds an integer literal outside
    ``[-2**63, 2**64 - 1]`` (orjson would read it as a float). Private."""
