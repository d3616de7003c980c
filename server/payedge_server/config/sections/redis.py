"""[redis]: shared terminal queue and locks across processes (SPEC 7)."""

from __future__ import annotations

from dataclasses import dataclass

from payedge_server.config.kinds import Url
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
