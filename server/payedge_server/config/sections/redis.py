"""[redis]: Redis as an accelerator shared by instances and workers, never the truth (SPEC 7)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from payedge_server.config.kinds import Invalid, Seconds, Url
from payedge_server.config.schema import setting


def _database(url: str) -> None:
    """redis://host:port/<db>: the path is a database number, or nothing (db 0). redis-py would
    take `/abc` as db 0 without a word."""
    parts = urlsplit(url)
    if parts.scheme == "unix":  # unix:///path/to/socket?db=N: the path is the socket
        return
    db = parts.path.lstrip("/")
    if db and not (db.isascii() and db.isdigit()):
        raise Invalid(f"expected redis://host:port/<database number>, got the path {parts.path!r}")


@dataclass(frozen=True)
class RedisConfig:
    url: str | None = setting(
        Url(("redis", "rediss", "unix"), check=_database),
        None,
        help="redis://host:port/db, an accelerator shared by instances, never the truth: webhook dedupe, "
        "live fan-out, rate limits, routing health, the terminal queue and locks, the MQTT relay election",
        flag="--redis-url",
        env="PAYEDGE_REDIS_URL",
    )
    routing_sync_interval: float = setting(
        Seconds(0.05, 60),
        1.0,
        help="seconds between two exchanges of gateway health with the other instances (routing, "
        "docs/routing.md); keep it well under the rules' health.peer_ttl_seconds (30)",
        flag="--routing-sync-interval",
        env="PAYEDGE_ROUTING_SYNC_INTERVAL",
    )
