"""[redis]: shared terminal queue and locks across processes (SPEC 7)."""

from __future__ import annotations

from dataclasses import dataclass

from payedge_server.config.kinds import Seconds, Url
from payedge_server.config.schema import setting


@dataclass(frozen=True)
class RedisConfig:
    url: str | None = setting(
        Url(("redis", "rediss", "unix")),
        None,
        help="redis://host:port/db: the terminal queue and its locks, shared by workers",
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
