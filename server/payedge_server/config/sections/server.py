"""[server]: where the edge server listens, how many processes, where it keeps its state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from payedge_server.config.fallbacks import Derived
from payedge_server.config.kinds import Choice, FilePath, Int, Invalid, Text, Url, host
from payedge_server.config.schema import Lookup, setting

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _beside_database(lookup: Lookup) -> Path | None:
    """An explicit sqlite:/// database_url puts the data dir beside the database (as before)."""
    url = lookup("store.database_url")
    if isinstance(url, str) and url.startswith("sqlite:///"):
        from payedge_server.store import open_store
        from payedge_server.store.sqlite import SqliteStore

        store = open_store(url)
        return store.path.parent if isinstance(store, SqliteStore) else None
    return None


def _instance(text: str) -> None:
    """A metric label value: 1-64 printable characters (Prometheus takes any UTF-8; a name stays short)."""
    if not 1 <= len(text) <= 64 or not text.isprintable():
        raise Invalid(f"expected 1 to 64 printable characters, got {len(text)}")


@dataclass(frozen=True)
class ServerConfig:
    host: str = setting(
        Text(check=host),
        "127.0.0.1",
        help="bind address (IP or host name)",
        flag="--host",
        env="PAYEDGE_HOST",
    )
    port: int = setting(Int(1, 65535), 8080, help="TCP port", flag="--port", env="PAYEDGE_PORT")
    workers: int = setting(
        Int(1, 256),
        1,
        help="processes sharing the port (SO_REUSEPORT) and the store",
        flag="--workers",
        env="PAYEDGE_WORKERS",
    )
    self_url: str | None = setting(
        Url(("http", "https")),
        None,
        help="base URL the server reaches itself on (sandbox webhooks); default http://host:port",
        flag="--self-url",
        env="PAYEDGE_SELF_URL",
    )
    data_dir: Path = setting(  # noqa: RUF009 - a Path is immutable
        FilePath(),
        Path("payedge-data"),
        help="state directory: SQLite by default, the generated API key, the sandbox's webhook secret",
        flag="--data-dir",
        env="PAYEDGE_DATA_DIR",
        fallback=Derived(
            _beside_database,
            doc="`payedge-data` (with a `sqlite:///` database_url: its directory)",
            note="from store.database_url",
        ),
    )
    log_level: str = setting(
        Choice(LOG_LEVELS), "INFO", help="log level", flag="--log-level", env="PAYEDGE_LOG_LEVEL"
    )
    instance: str | None = setting(
        Text(check=_instance),
        None,
        help="this instance's name, the payedge_instance label on every metric (default host:port)",
        flag="--instance",
        env="PAYEDGE_INSTANCE",
    )
