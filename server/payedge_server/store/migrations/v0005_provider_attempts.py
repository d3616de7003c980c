"""Version 5: hosted-payment connectors (PayPal, CinetPay, MTN MoMo, Orange Money).

- payments.next_action: what the payer must do at the provider (a redirect URL, approve on the
  phone), JSON, shown while the payment is `processing`;
- provider_attempts: one row per attempt at a provider that uses payedge's own ids (CinetPay
  `transaction_id`, MoMo `X-Reference-Id`, Orange `order_id`), written BEFORE the request is
  sent, so an unknown outcome (timeout, crash) can be settled by a status read of that id.
  `token` is what a status read needs besides the id (Orange's `pay_token`); `callback_digest`
  the SHA-256 of the token a callback must echo (Orange's `notif_token`: never stored itself).

Portable DDL (TEXT, BIGINT: SQLite reads BIGINT as INTEGER), the same for both stores.
"""

from __future__ import annotations

SQLITE: tuple[str, ...] = (
    "ALTER TABLE payments ADD COLUMN next_action TEXT",
    """CREATE TABLE provider_attempts (
        gateway TEXT NOT NULL,
        provider_ref TEXT NOT NULL,
        payment_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        token TEXT,
        callback_digest TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (gateway, provider_ref)
    )""",
    "CREATE INDEX provider_attempts_payment ON provider_attempts (payment_id, created_at)",
    "CREATE UNIQUE INDEX provider_attempts_callback ON provider_attempts (gateway, callback_digest) "
    "WHERE callback_digest IS NOT NULL",
)
POSTGRES: tuple[str, ...] = SQLITE
