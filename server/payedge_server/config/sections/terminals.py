"""[terminals]: the card terminals of the site's terminal queue (SPEC 2.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from payedge_server.config.kinds import Items, Text
from payedge_server.config.schema import Check, setting

if TYPE_CHECKING:
    from payedge_server.config.model import Config


def _queue_shared(config: Config) -> str | None:
    # In-process queues would be one per worker: a payment enqueued through one worker
    # would be invisible to an allocation through another.
    if config.terminals.ids and config.server.workers > 1 and not config.redis.url:
        return (
            "--terminals with --workers > 1 needs --redis-url (terminals.ids, server.workers, redis.url): "
            "the in-process terminal queue is per process"
        )
    return None


@dataclass(frozen=True)
class TerminalsConfig:
    ids: tuple[str, ...] = setting(
        Items(Text(), repeat_flag=False, unique=True),
        (),
        help="card-terminal ids of the terminal queue (comma-separated in a flag or variable)",
        flag="--terminals",
        env="PAYEDGE_TERMINALS",
    )

    checks: ClassVar[tuple[Check, ...]] = (Check("terminals.ids (--terminals)", _queue_shared),)
