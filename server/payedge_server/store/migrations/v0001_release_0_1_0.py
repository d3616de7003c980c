"""Version 1: the schema of release 0.1.0, as its parts created it (store, parking, live feed).

A database without `schema_migrations` was written by 0.1.0 (or is new): these
statements are idempotent, so they complete it, and the later versions upgrade it.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

SQLITE: tuple[str, ...] = (
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
    """CREATE TABLE IF NOT EXISTS parking_sessions (
        id TEXT PRIMARY KEY,
        plate TEXT,
        badge TEXT,
        identity TEXT NOT NULL,
        state TEXT NOT NULL,
        entry_ts INTEGER NOT NULL,
        exit_detected_ts INTEGER,
        exit_ts INTEGER,
        payment_id TEXT,
        payment_status TEXT,
        amount INTEGER,
        currency TEXT,
        quote TEXT,
        request TEXT,
        authorisation TEXT,
        authorised_by TEXT,
        flag_reason TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX IF NOT EXISTS parking_sessions_plate ON parking_sessions (plate, state)",
    "CREATE INDEX IF NOT EXISTS parking_sessions_badge ON parking_sessions (badge, state)",
    "CREATE INDEX IF NOT EXISTS parking_sessions_payment ON parking_sessions (payment_id)",
    """CREATE TABLE IF NOT EXISTS processed_messages (
        msg_id TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        session_id TEXT,
        outcome TEXT NOT NULL,
        processed_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS processed_messages_at ON processed_messages (processed_at)",
    """CREATE TABLE IF NOT EXISTS parking_trusted (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('badge', 'pin')),
        badge TEXT UNIQUE,
        pin_hash TEXT,
        label TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS parking_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS live_feed (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        origin TEXT NOT NULL,
        channel TEXT NOT NULL,
        event BLOB NOT NULL,
        at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS live_feed_at ON live_feed (at)",
)
