"""Tables of the parking part (idempotent DDL, applied by `Store.ensure_schema`).

`audit_log` and `outbox` belong to the server's store; parking only writes rows
into them (see `payedge_server.parking.records`).
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS parking_sessions (
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
    )
    """,
    "CREATE INDEX IF NOT EXISTS parking_sessions_plate ON parking_sessions (plate, state)",
    "CREATE INDEX IF NOT EXISTS parking_sessions_badge ON parking_sessions (badge, state)",
    "CREATE INDEX IF NOT EXISTS parking_sessions_payment ON parking_sessions (payment_id)",
    """
    CREATE TABLE IF NOT EXISTS processed_messages (
        msg_id TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        session_id TEXT,
        outcome TEXT NOT NULL,
        processed_at REAL NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS processed_messages_at ON processed_messages (processed_at)",
    """
    CREATE TABLE IF NOT EXISTS parking_trusted (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('badge', 'pin')),
        badge TEXT UNIQUE,
        pin_hash TEXT,
        label TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS parking_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
)
