"""Trusted badges and exit PINs (degraded mode), and the fallback-mode switch.

PINs are stored only as salted scrypt hashes (`scrypt$n$r$p$salt$hash`); a PIN is
checked against every stored hash (the list is meant for tens of trusted users),
off the event loop and outside any write transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
import uuid
from typing import Any

from payedge_server.contracts import Store, Tx
from payedge_server.parking.records import audit, dumps, loads

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
FALLBACK_SETTING = "fallback_mode"


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def _pin_hashes(tx: Tx) -> list[tuple[str, str]]:
    return [
        (row[0], row[1]) for row in tx.fetchall("SELECT id, pin_hash FROM parking_trusted WHERE kind = 'pin'")
    ]


async def match_pin(store: Store, pin: str) -> str | None:
    """The id of the trusted PIN entry that `pin` matches, or None."""
    hashes = await store.read(_pin_hashes)

    def check() -> str | None:
        for entry_id, stored in hashes:
            if pin_matches(pin, stored):
                return entry_id
        return None

    return await asyncio.to_thread(check)


def add_trusted(
    tx: Tx, *, kind: str, badge: str | None, pin_hash: str | None, label: str, who: str, now: float
) -> dict[str, Any]:
    entry_id = "tr_" + uuid.uuid4().hex[:20]
    tx.execute(
        "INSERT INTO parking_trusted (id, kind, badge, pin_hash, label, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (entry_id, kind, badge, pin_hash, label, who, int(now * 1000)),
    )
    entry = {
        "id": entry_id,
        "kind": kind,
        "badge": badge,
        "label": label,
        "created_by": who,
        "created_at": int(now),
    }
    audit(tx, f"trusted.{kind}_added", session_id=None, actor=f"admin:{who}", data=entry)
    return entry


def remove_trusted(tx: Tx, entry_id: str, who: str, now: float) -> bool:
    row = tx.fetchone("SELECT kind, badge, label FROM parking_trusted WHERE id = ?", (entry_id,))
    if row is None:
        return False
    tx.execute("DELETE FROM parking_trusted WHERE id = ?", (entry_id,))
    audit(
        tx,
        f"trusted.{row[0]}_removed",
        session_id=None,
        actor=f"admin:{who}",
        data={"id": entry_id, "badge": row[1], "label": row[2]},
    )
    return True


def list_trusted(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.fetchall(
        "SELECT id, kind, badge, label, created_by, created_at FROM parking_trusted ORDER BY created_at"
    )
    keys = ("id", "kind", "badge", "label", "created_by", "created_at")
    return [{**dict(zip(keys, row, strict=True)), "created_at": row[5] // 1000} for row in rows]


def read_fallback(tx: Tx) -> dict[str, Any]:
    row = tx.fetchone("SELECT value FROM parking_settings WHERE name = ?", (FALLBACK_SETTING,))
    if row is None:
        return {"enabled": False, "who": None, "why": None, "since": None}
    value: dict[str, Any] = loads(row[0])
    return value


def write_fallback(tx: Tx, enabled: bool, who: str, why: str, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    value = {"enabled": enabled, "who": who, "why": why, "since": now}
    tx.execute(
        "INSERT INTO parking_settings (name, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (FALLBACK_SETTING, dumps(value), int(now * 1000)),
    )
    audit(
        tx,
        "fallback_mode.on" if enabled else "fallback_mode.off",
        session_id=None,
        actor=f"operator:{who}",
        reason=why,
        data=value,
    )
    return value
