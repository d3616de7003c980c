"""Version 8: text keys that are scanned by range or paged by cursor compare bytes on PostgreSQL.

A wallet's accounts are read by a range on `ledger_accounts.code` (`>= 'wallet:x:'` and
`< 'wallet:x;'`), and listings page with a cursor over text ids (`id > ?`, `(.., id) < (..)`)
merged, in wallet transactions, with Python's own ordering: all of them are right only in
byte order. SQLite's default BINARY collation is byte order (nothing to do there);
PostgreSQL's column collation is the database's default, which an operator's
`en_US.UTF-8` or ICU database makes natural-language (case and punctuation weighed
otherwise, ';' before ':'), so wallets came out empty and pages out of order.

The columns get the "C" collation (byte order; UTF-8 byte order is code point order, as
Python compares). Chosen over `COLLATE "C"` in each query: the queries stay portable
(SQLite has no "C" collation), and the primary-key indexes follow the column's collation, so
the range scans still use them. Only the collation changes, so PostgreSQL does not rewrite
the tables; it rebuilds the indexes on these columns.
"""

from __future__ import annotations

# (table, column): every text column compared by range or ordered for a cursor or a report.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("ledger_accounts", "code"),  # engine.accounts_with_prefix: the wallet range scan
    ("ledger_transfers", "id"),  # wallets.transactions: (ts, id) cursor, merged in Python
    ("ledger_payment_postings", "commission_type"),  # commission statistics, ORDER BY
    ("products", "id"),  # catalog.list_in_tx: id > cursor ORDER BY id
    ("orders", "id"),  # orders.repository.page: id < cursor ORDER BY id DESC
    ("webhook_events", "provider"),  # webhooks.listing: (received_at, provider, event_id) cursor
    ("webhook_events", "event_id"),
    ("provider_attempts", "provider_ref"),  # gateways.attempts: ORDER BY created_at DESC, provider_ref
)

SQLITE: tuple[str, ...] = ()
POSTGRES: tuple[str, ...] = tuple(
    f'ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT COLLATE "C"' for table, column in COLUMNS
)
