"""The ledger's domain errors: one exception type, one stable code each, its HTTP status.

The engine and the ledger's services raise `LedgerError`; the routes module turns it
into the server's API error once (`routes.api_error`). The codes are TigerBeetle's
`create_transfer` result names where one exists (https://docs.tigerbeetle.com/reference/
requests/create_transfers), so an operator who knows TigerBeetle reads them as such.
"""

from __future__ import annotations

from enum import StrEnum


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


STATUS: dict[Code, int] = {
    Code.ACCOUNT_NOT_FOUND: 404,
    Code.PENDING_TRANSFER_NOT_FOUND: 404,
    Code.WITHDRAWAL_NOT_FOUND: 404,
    Code.INVOICE_NOT_FOUND: 404,
    Code.EXISTS_WITH_DIFFERENT_FIELDS: 409,
    Code.TRANSFER_EXISTS_WITH_DIFFERENT_FIELDS: 409,
    Code.PENDING_TRANSFER_NOT_PENDING: 409,
    Code.PENDING_TRANSFER_ALREADY_POSTED: 409,
    Code.PENDING_TRANSFER_ALREADY_VOIDED: 409,
    Code.PENDING_TRANSFER_EXPIRED: 409,
    Code.WITHDRAWAL_ALREADY_RESOLVED: 409,
    Code.EXCEEDS_CREDITS: 402,
    Code.EXCEEDS_DEBITS: 402,
    Code.INSUFFICIENT_FUNDS: 402,
}
"""HTTP status of a code; any code not listed is a 400 (bad input)."""


class LedgerError(Exception):
    """A refusal with a stable `code`, the `param` it is about, and its HTTP `status`.

    Nothing was written when one is raised inside a store write: the store rolls the
    write back.
    """

    def __init__(self, code: Code, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)

    def __repr__(self) -> str:
        return f"LedgerError({self.code.value!r}, {self.message!r}, param={self.param!r})"
