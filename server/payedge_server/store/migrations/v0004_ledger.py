"""Version 4: the ledger (SPEC 6) and the two payment fields it reads.

Portable DDL (TEXT / BIGINT / INTEGER, no AUTOINCREMENT): accounts keyed by their code,
immutable transfers keyed by their id (the idempotency key), one row per pending
transfer (resolved once), a payment's postings, refund holds, gap-free invoice
counters and the invoices. CHECK constraints are the database's last line: the engine
refuses first. Transfers are append-only (a trigger).
"""

from __future__ import annotations

_PAYMENTS = (
    # SPEC 6: the wallet owner credited on success, and the commission that applies.
    "ALTER TABLE payments ADD COLUMN payee TEXT NOT NULL DEFAULT 'default'",
    "ALTER TABLE payments ADD COLUMN commission_type TEXT",
)
_TABLES = (
    """CREATE TABLE ledger_accounts (
        code TEXT PRIMARY KEY,
        currency TEXT NOT NULL,
        flags INTEGER NOT NULL,
        debits_pending BIGINT NOT NULL DEFAULT 0,
        debits_posted BIGINT NOT NULL DEFAULT 0,
        credits_pending BIGINT NOT NULL DEFAULT 0,
        credits_posted BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        CHECK (debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0
        AND credits_posted >= 0),
        CHECK ((flags & 2) = 0 OR debits_pending + debits_posted <= credits_posted),
        CHECK ((flags & 4) = 0 OR credits_pending + credits_posted <= debits_posted)
    )""",
    """CREATE TABLE ledger_transfers (
        id TEXT PRIMARY KEY,
        ts BIGINT NOT NULL,
        kind TEXT NOT NULL,
        debit_account TEXT NOT NULL,
        credit_account TEXT NOT NULL,
        amount BIGINT NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        pending_id TEXT,
        timeout_seconds BIGINT NOT NULL DEFAULT 0,
        code TEXT NOT NULL,
        ref TEXT,
        CHECK (debit_account <> credit_account)
    )""",
    "CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account, ts)",
    "CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account, ts)",
    """CREATE TABLE ledger_pending (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        expires_at BIGINT,
        resolved_by TEXT,
        resolved_at BIGINT
    )""",
    "CREATE INDEX ledger_pending_due ON ledger_pending (expires_at) "
    "WHERE state = 'pending' AND expires_at IS NOT NULL",
    """CREATE TABLE ledger_payment_postings (
        payment_id TEXT PRIMARY KEY,
        payee TEXT NOT NULL,
        gateway TEXT NOT NULL,
        currency TEXT NOT NULL,
        commission_type TEXT,
        captured BIGINT NOT NULL,
        commission BIGINT NOT NULL,
        refunded BIGINT NOT NULL DEFAULT 0,
        merchant_reversed BIGINT NOT NULL DEFAULT 0,
        commission_reversed BIGINT NOT NULL DEFAULT 0,
        succeeded_at BIGINT NOT NULL,
        CHECK (commission >= 0 AND commission <= captured),
        CHECK (refunded <= captured AND merchant_reversed + commission_reversed = refunded)
    )""",
    "CREATE INDEX ledger_payment_postings_at ON ledger_payment_postings (succeeded_at)",
    """CREATE TABLE ledger_refund_holds (
        refund_id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        hold_id TEXT,
        state TEXT NOT NULL
    )""",
    "CREATE INDEX ledger_refund_holds_payment ON ledger_refund_holds (payment_id)",
    """CREATE TABLE ledger_invoice_counters (
        series TEXT NOT NULL,
        year INTEGER NOT NULL,
        last_number BIGINT NOT NULL,
        PRIMARY KEY (series, year)
    )""",
    """CREATE TABLE ledger_invoices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        series TEXT NOT NULL,
        year INTEGER NOT NULL,
        number BIGINT NOT NULL,
        payment_id TEXT NOT NULL,
        invoice_id TEXT,
        issued_at BIGINT NOT NULL,
        document TEXT NOT NULL
    )""",
    "CREATE INDEX ledger_invoices_payment ON ledger_invoices (payment_id, issued_at)",
)
# SQLite: the two hot tables are clustered on their key (WITHOUT ROWID): a balance update is
# one B-tree descent instead of two (key index, then the row), a transfer insert one less
# B-tree to write (bench/ledger.py, one transfer per write: 78-85 us of CPU per transfer
# against 90-104 us as rowid tables, same loaded machine, interleaved runs). Version 4 was
# never released, so it is changed in place.
_CLUSTERED = ("CREATE TABLE ledger_accounts (", "CREATE TABLE ledger_transfers (")


def _clustered(sql: str) -> str:
    return sql + " WITHOUT ROWID" if sql.startswith(_CLUSTERED) else sql


SQLITE: tuple[str, ...] = (
    *_PAYMENTS,
    *(_clustered(sql) for sql in _TABLES),
    """CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
        BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END""",
    """CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
        BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END""",
)
POSTGRES: tuple[str, ...] = (
    *_PAYMENTS,
    *_TABLES,
    """CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'ledger_transfers is append-only'; END $$""",
    """CREATE TRIGGER ledger_transfers_no_change BEFORE UPDATE OR DELETE ON ledger_transfers
        FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only()""",
)
