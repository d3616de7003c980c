"""The ledger's tables: portable DDL (SQLite now, PostgreSQL next), applied at start-up.

Portable on purpose: TEXT / BIGINT / INTEGER columns, no AUTOINCREMENT, no WITHOUT
ROWID, `?` placeholders in the code. Accounts are keyed by their code (the API names
them so); a transfer's id is its idempotency key. Balances are four BIGINT sums per
account (TigerBeetle's), changed only by conditional UPDATEs in the write that
creates the transfer. CHECK constraints are the database's own last line: the
engine refuses first (its conditional UPDATE changes no row), so a CHECK failing
would be a bug, never a normal refusal.
"""

from __future__ import annotations

from payedge_server.contracts import Tx

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS ledger_accounts (
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
    """CREATE TABLE IF NOT EXISTS ledger_transfers (
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
    "CREATE INDEX IF NOT EXISTS ledger_transfers_debit ON ledger_transfers (debit_account, ts)",
    "CREATE INDEX IF NOT EXISTS ledger_transfers_credit ON ledger_transfers (credit_account, ts)",
    # One row per pending transfer: its state changes once (pending -> posted | voided | expired),
    # by a conditional UPDATE whose row count says who resolved it.
    """CREATE TABLE IF NOT EXISTS ledger_pending (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        expires_at BIGINT,
        resolved_by TEXT,
        resolved_at BIGINT
    )""",
    "CREATE INDEX IF NOT EXISTS ledger_pending_due ON ledger_pending (expires_at) "
    "WHERE state = 'pending' AND expires_at IS NOT NULL",
    # A succeeded payment's postings: its commission K fixed at success, and the refunds
    # reversed so far (cumulative R; merchant and commission shares).
    """CREATE TABLE IF NOT EXISTS ledger_payment_postings (
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
    "CREATE INDEX IF NOT EXISTS ledger_payment_postings_at ON ledger_payment_postings (succeeded_at)",
    # An API refund's hold on the merchant's wallet, taken before the gateway is called.
    """CREATE TABLE IF NOT EXISTS ledger_refund_holds (
        refund_id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        hold_id TEXT,
        state TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ledger_refund_holds_payment ON ledger_refund_holds (payment_id)",
    # Gap-free numbering: one counter row per series and UTC year, bumped in the paying write.
    """CREATE TABLE IF NOT EXISTS ledger_invoice_counters (
        series TEXT NOT NULL,
        year INTEGER NOT NULL,
        last_number BIGINT NOT NULL,
        PRIMARY KEY (series, year)
    )""",
    # The id is `<series>-<year>-<number>`: its uniqueness is (series, year, number)'s.
    """CREATE TABLE IF NOT EXISTS ledger_invoices (
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
    "CREATE INDEX IF NOT EXISTS ledger_invoices_payment ON ledger_invoices (payment_id, issued_at)",
)

SQLITE_GUARDS: tuple[str, ...] = (
    # Transfers are immutable (TigerBeetle: corrections are new transfers). SQLite trigger
    # syntax; the PostgreSQL store gets the same rule as a plpgsql trigger or a REVOKE.
    """CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
        BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
        BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END""",
)


def add_payment_columns_sqlite(tx: Tx) -> None:
    """Give a `payments` table made before this release its `payee` and `commission_type`.

    SQLite has no `ADD COLUMN IF NOT EXISTS` (PostgreSQL has); the versioned migrations
    of SPEC 7 will replace this.
    """
    have = {row[0] for row in tx.fetchall("SELECT name FROM pragma_table_info('payments')")}
    if "payee" not in have:
        tx.execute("ALTER TABLE payments ADD COLUMN payee TEXT NOT NULL DEFAULT 'default'")
    if "commission_type" not in have:
        tx.execute("ALTER TABLE payments ADD COLUMN commission_type TEXT")
