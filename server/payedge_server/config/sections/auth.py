"""[auth]: the API keys accepted as `Authorization: Bearer <key>` on /v1 (SPEC 3)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from payedge_server.config.fallbacks import Persisted
from payedge_server.config.kinds import Items, Text
from payedge_server.config.schema import setting


def new_api_key() -> str:
    return "pek_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AuthConfig:
    api_keys: tuple[str, ...] = setting(
        Items(Text(), min_items=1),
        (),
        help="API keys; without one, a key is generated at first start and kept in the data dir",
        flag="--api-key",
        env="PAYEDGE_API_KEY",
        secret=True,
        fallback=Persisted("api_key", new_api_key, doc="generated once, kept in `<data_dir>/api_key`"),
    )
