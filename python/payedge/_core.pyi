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
import collections.abc as _tariff_abc
import decimal as _tariff_decimal
import typing as _tariff_typing

_Json = _tariff_typing.Any

def minor_units(currency: str) -> int: ...
def to_minor(amount: str | _tariff_decimal.Decimal, currency: str) -> int: ...
def format_money(amount: int, currency: str) -> str: ...

@_tariff_typing.final
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
        entries: _tariff_abc.Sequence[int],
        exits: _tariff_abc.Sequence[int],
        *,
        lost_ticket: bool | _tariff_abc.Sequence[bool] | None = None,
        subscription: str | _tariff_abc.Sequence[str | None] | None = None,
    ) -> list[int]: ...

@_tariff_typing.final
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
