"""SQL text shared by both stores: `?` placeholders become PostgreSQL's `$n` once per statement text."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def to_dollar(sql: str) -> str:
    """`?` -> `$1`, `$2`, ... outside quoted strings and identifiers (cached per statement text)."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def rowcount(status: str) -> int:
    """Rows changed, from a PostgreSQL command tag ("INSERT 0 1", "UPDATE 3", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
