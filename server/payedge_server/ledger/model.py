"""The ledger's typed values: account codes and flags, transfers, balances.

Mirrors TigerBeetle's data model (https://docs.tigerbeetle.com/reference/account,
.../reference/transfer) with payedge's naming: an account is named by its `code`,
which ends with its currency (`wallet:alice:EUR`); accounts are created on first use
with the flags their kind implies.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import IntFlag, StrEnum

from payedge_server.ledger.errors import Code, LedgerError
from payedge_server.payments.currencies import minor_units

ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""Ids of owners, transfers and withdrawals (SPEC 6)."""

ACCOUNT_CODE = re.compile(r"[A-Za-z0-9_.:-]{5,160}")
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_AMOUNT = 10**15
"""Largest amount of one transfer, in minor units: a million times any real payment, and
thousands of them still fit an account's BIGINT sums."""
MAX_TIMEOUT_SECONDS = 366 * 86400


class AccountFlags(IntFlag):
    """TigerBeetle's balance flags (same bit values)."""

    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 2
    CREDITS_MUST_NOT_EXCEED_DEBITS = 4


class AccountKind(StrEnum):
    """What an account is, from the first segment of its code."""

    WALLET = "wallet"  # a merchant's money, credit-normal: never negative
    CLEARING = "gateway"  # gateway:<name>:clearing: owed to us by a gateway, debit-normal
    PLATFORM = "platform"  # platform:revenue, platform:refund_shortfall: may go negative
    PAYOUTS = "payouts"  # payouts:pending: withdrawals on their way out
    EXTERNAL = "external"  # the world outside the ledger (funding, settlement): may go negative


FLAGS_OF_KIND: dict[AccountKind, AccountFlags] = {
    AccountKind.WALLET: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountKind.CLEARING: AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
    AccountKind.PLATFORM: AccountFlags.NONE,
    AccountKind.PAYOUTS: AccountFlags.NONE,
    AccountKind.EXTERNAL: AccountFlags.NONE,
}


@dataclass(frozen=True, slots=True)
class AccountCode:
    """A parsed account code: `<kind>:<name>:<CUR>` (`gateway:<name>:clearing:<CUR>`)."""

    code: str
    kind: AccountKind
    name: str
    currency: str

    @property
    def flags(self) -> AccountFlags:
        return FLAGS_OF_KIND[self.kind]


def currency_code(code: str) -> bool:
    """An ISO 4217 code payedge knows, in capitals (what accounts, transfers and rates carry)."""
    return CURRENCY.fullmatch(code) is not None and minor_units(code) is not None


@functools.lru_cache(maxsize=65_536)
def parse_account(code: str, param: str = "account") -> AccountCode:
    """Parse an account code, or raise `account_code_invalid` / `account_not_found` (unknown kind).

    Pure, and called for both accounts of every transfer: cached (a refusal is not)."""
    if not isinstance(code, str) or not ACCOUNT_CODE.fullmatch(code):
        raise LedgerError(
            Code.ACCOUNT_CODE_INVALID,
            "an account code is <kind>:<name>:<CURRENCY> of [A-Za-z0-9_.:-] (e.g. wallet:alice:EUR)",
            param,
        )
    head, _, rest = code.partition(":")
    name, _, currency = rest.rpartition(":")
    if not currency_code(currency):
        raise LedgerError(
            Code.ACCOUNT_CODE_INVALID, f"account {code!r} does not end with a known currency code", param
        )
    try:
        kind = AccountKind(head)
    except ValueError:
        kinds = ", ".join(k.value for k in AccountKind)
        raise LedgerError(
            Code.ACCOUNT_NOT_FOUND, f"no account {code!r}: an account's kind is one of {kinds}", param
        ) from None
    if kind is AccountKind.CLEARING:
        gateway, _, clearing = name.rpartition(":")
        if clearing != "clearing" or not ID.fullmatch(gateway):
            raise LedgerError(
                Code.ACCOUNT_CODE_INVALID, "a gateway account is gateway:<name>:clearing:<CURRENCY>", param
            )
        name = gateway
    if not ID.fullmatch(name):
        raise LedgerError(Code.ACCOUNT_CODE_INVALID, f"account {code!r} has no valid name", param)
    return AccountCode(code, kind, name, currency)


def wallet(owner: str, currency: str) -> str:
    return f"wallet:{owner}:{currency}"


def clearing(gateway: str, currency: str) -> str:
    return f"gateway:{gateway}:clearing:{currency}"


def revenue(currency: str) -> str:
    return f"platform:revenue:{currency}"


def refund_shortfall(currency: str) -> str:
    return f"platform:refund_shortfall:{currency}"


def payouts(currency: str) -> str:
    return f"payouts:pending:{currency}"


@dataclass(frozen=True, slots=True)
class Account:
    """An account with its four balances (minor units), as TigerBeetle keeps them."""

    code: str
    currency: str
    flags: AccountFlags
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    def view(self) -> dict[str, object]:
        """`GET /v1/ledger/accounts/{code}` (SPEC 6)."""
        return {
            "code": self.code,
            "currency": self.currency,
            "debits_posted": self.debits_posted,
            "credits_posted": self.credits_posted,
            "debits_pending": self.debits_pending,
            "credits_pending": self.credits_pending,
            "flags": {
                "debits_must_not_exceed_credits": bool(
                    self.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
                ),
                "credits_must_not_exceed_debits": bool(
                    self.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
                ),
            },
        }


class TransferKind(StrEnum):
    SINGLE = "single"  # posted at once
    PENDING = "pending"  # reserves: debits_pending / credits_pending
    POST = "post"  # posts (part of) a pending transfer
    VOID = "void"  # releases a pending transfer


class PendingState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class Outcome(StrEnum):
    """A transfer that did not fail: created now, or found identical (its id is its idempotency key)."""

    OK = "ok"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer request.

    `single`/`pending` name both accounts, the amount and the currency. `post`/`void`
    name the pending transfer (`pending_id`); their accounts and currency, when given,
    must be the pending transfer's, and `amount` is at most the pending amount
    (a post without amount posts all of it; a void releases all of it).
    `code` says why money moves (payment, commission, refund, withdrawal, transfer);
    `ref` names what it belongs to (a payment id, a withdrawal id).
    """

    id: str
    debit_account: str | None
    credit_account: str | None
    amount: int | None
    currency: str | None = None
    kind: TransferKind = TransferKind.SINGLE
    pending_id: str | None = None
    timeout_seconds: int = 0
    linked: bool = False
    code: str = "transfer"
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A transfer as written (immutable)."""

    id: str
    ts: int  # microseconds since the epoch, strictly increasing in a process
    kind: TransferKind
    debit_account: str
    credit_account: str
    amount: int
    currency: str
    pending_id: str | None
    timeout_seconds: int
    code: str
    ref: str | None

    def view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "debit_account": self.debit_account,
            "credit_account": self.credit_account,
            "amount": self.amount,
            "currency": self.currency,
            "pending_id": self.pending_id,
            "timeout_seconds": self.timeout_seconds,
            "code": self.code,
            "ref": self.ref,
            "created": self.ts // 1_000_000,
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over accounts of one currency (the trial balance)."""

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted and self.debits_pending == self.credits_pending
