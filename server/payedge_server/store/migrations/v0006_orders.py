"""Version 6: client secrets and locales of payments, the catalog, orders, dashboard sessions (SPEC 8).

A payment's client secret is kept only as its SHA-256 (hex): the secret itself is shown
once, in the create response. Products and orders are business records (kept); a
dashboard session row lives until it expires or its user signs out (purged by
housekeeping). Portable DDL: the same statements on SQLite and PostgreSQL.
"""

from __future__ import annotations

_STATEMENTS = (
    "ALTER TABLE payments ADD COLUMN client_secret_hash TEXT",
    "ALTER TABLE payments ADD COLUMN locale TEXT",
    """CREATE TABLE products (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prices TEXT NOT NULL,
        active INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )""",
    """CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        amount BIGINT NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        items TEXT NOT NULL,
        customer_email TEXT NOT NULL,
        customer_name TEXT,
        payee TEXT NOT NULL,
        locale TEXT,
        payment_id TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        paid_at BIGINT,
        fulfilled_at BIGINT
    )""",
    "CREATE INDEX orders_status ON orders (status, id)",
    """CREATE TABLE dashboard_sessions (
        id_hash TEXT PRIMARY KEY,
        csrf_token TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    )""",
    "CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at)",
)
SQLITE: tuple[str, ...] = _STATEMENTS
POSTGRES: tuple[str, ...] = _STATEMENTS
