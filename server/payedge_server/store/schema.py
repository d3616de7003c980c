"""The server's own tables (payments, webhooks, idempotency, audit, outbox, sandbox deliveries).

Idempotent DDL applied at start-up through `Store.ensure_schema`; other parts
(parking) add theirs the same way. No card data is stored anywhere: a payment
keeps only the gateway's payment-method id.
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS payments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        currency TEXT NOT NULL,
        gateway TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        user_id TEXT,
        order_ref TEXT,
        payment_method TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        -- SPEC 6: whose wallet the payment credits, and which commission applies (ledger/)
        payee TEXT NOT NULL DEFAULT 'default',
        commission_type TEXT,
        gateway_ref TEXT,
        amount_captured INTEGER NOT NULL DEFAULT 0,
        amount_refunded INTEGER NOT NULL DEFAULT 0,
        last_error_code TEXT,
        last_error_message TEXT,
        locked_until REAL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS payments_gateway_ref ON payments (gateway, gateway_ref)",
    "CREATE INDEX IF NOT EXISTS payments_status ON payments (status, seq)",
    "CREATE INDEX IF NOT EXISTS payments_user ON payments (user_id, seq)",
    "CREATE INDEX IF NOT EXISTS payments_order_ref ON payments (order_ref, seq)",
    """CREATE TABLE IF NOT EXISTS payment_status_history (
        payment_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (payment_id, version)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS refunds (
        id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        status TEXT NOT NULL,
        gateway_ref TEXT,
        request_key TEXT,
        created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS refunds_payment ON refunds (payment_id, request_key)",
    """CREATE TABLE IF NOT EXISTS webhook_events (
        provider TEXT NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        object_id TEXT,
        outcome TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (provider, event_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        body BLOB NOT NULL,
        created_at REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX IF NOT EXISTS audit_subject ON audit_log (subject, id)",
    # Append-only: the audit log refuses updates and deletes.
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL",
    # The sandbox's async webhooks still owed (gateways/sandbox.py): written in the write that
    # moves the payment to `processing`, marked delivered once the server answered 2xx.
    """CREATE TABLE IF NOT EXISTS sandbox_deliveries (
        event_id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL,
        body BLOB NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        owner TEXT NOT NULL,
        claimed_until REAL,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS sandbox_deliveries_pending ON sandbox_deliveries (due_at) "
    "WHERE delivered_at IS NULL",
)
