"""Server configuration: CLI flags, each also a PAYEDGE_* environment variable (SPEC 3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///payedge-data/payedge.sqlite3"
    redis_url: str | None = None
    mqtt_url: str | None = None
    workers: int = 1
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    api_keys: tuple[str, ...] = ()
    tariff: Path | None = None
    # Card-terminal ids of the site's terminal queue (`--terminals T1,T2`); none: no queue.
    terminals: tuple[str, ...] = ()
    # The public base URL the server reaches itself on (sandbox async webhooks).
    self_url: str | None = None
    # Standard-Webhooks secret (whsec_...) the sandbox signs its async webhooks with;
    # `payedge serve` keeps one in the data directory. None: a fresh one per process.
    sandbox_webhook_secret: str | None = None
    # Seconds between a pm_sandbox_async confirmation and its webhook (`--sandbox-async-delay`).
    sandbox_async_delay: float = 0.2
    # Where generated state lives (API key, sandbox secret; SQLite by default).
    data_dir: Path = Path("payedge-data")
    # Ledger (SPEC 6): commission rates and invoice details (`--ledger-settings FILE`, TOML or
    # JSON; temporary until the config file carries [commissions] and [invoices]), and whether
    # payments post to the ledger (`--ledger-postings off`: for comparisons in benchmarks).
    ledger_settings: Path | None = None
    ledger_postings: bool = True
    extra: dict[str, str] = field(default_factory=dict)
