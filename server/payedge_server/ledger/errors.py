"""The ledger's domain errors: one exception type, one stable code each.

The engine and the ledger's services raise `LedgerError`, a `DomainError`: the server's
one error catalogue (errors.py) gives each code its HTTP status. The codes are TigerBeetle's
`create_transfer` result names where one exists (https://docs.tigerbeetle.com/reference/
requests/create_transfers), so an operator who knows TigerBeetle reads them as such.
"""

from __future__ import annotations

from enum import StrEnum

from payedge_server.errors import DomainError


class Code(StrEnum):
    """Every refusal the ledger can give. A batch result is one of these (or ok/exists)."""

    # input
    ID_INVALID = "id_invalid"
    AMOUNT_INVALID = "amount_invalid"
    CURRENCY_INVALID = "currency_invalid"
    ACCOUNT_CODE_INVALID = "account_code_invalid"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    TIMEOUT_INVALID = "timeout_invalid"
    PARAMETER_INVALID = "parameter_invalid"
    PARAMETER_MISSING = "parameter_missing"
    PARAMETER_UNKNOWN = "parameter_unknown"
    # state
    ACCOUNT_NOT_FOUND = "account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS = "pending_transfer_has_different_accounts"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    # services built on the engine
    INSUFFICIENT_FUNDS = "insufficient_funds"
    TRANSFER_EXISTS_WITH_DIFFERENT_FIELDS = "transfer_exists_with_different_fields"
    WITHDRAWAL_NOT_FOUND = "withdrawal_not_found"
    WITHDRAWAL_ALREADY_RESOLVED = "withdrawal_already_resolved"
    INVOICE_NOT_FOUND = "invoice_not_found"
    COMMISSION_TYPE_UNKNOWN = "commission_type_unknown"


class LedgerError(DomainError):
    """A refusal with a stable `code` (its HTTP status is the error catalogue's) and the `param`
    it is about.

    Nothing was written when one is raised inside a store write: the store rolls the
    write back.
    """

    code: Code

    def __init__(self, code: Code, message: str, param: str | None = None) -> None:
        super().__init__(code, message, param)  # a StrEnum: the catalogue's key, and a str in JSON

    def __repr__(self) -> str:
        return f"LedgerError({self.code!r}, {self.message!r}, param={self.param!r})"
