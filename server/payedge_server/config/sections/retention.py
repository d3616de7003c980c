"""[retention]: how long rows that grow with traffic are kept (issue 16: months at full load).

The audit log is never purged (append-only, the record of why money moved). Payments,
their history, attempts and refunds are business records and are kept too.
"""

from __future__ import annotations

from dataclasses import dataclass

from payedge_server.config.kinds import Seconds
from payedge_server.config.schema import setting

DAY = 86400.0


@dataclass(frozen=True)
class RetentionConfig:
    webhook_events: float = setting(
        Seconds(60, 3650 * DAY),
        30 * DAY,
        help=(
            "seconds a received webhook event is kept (its id is the durable dedupe: keep it longer than "
            "any provider retries a delivery; Stripe retries for 3 days)"
        ),
        flag="--retention-webhook-events",
        env="PAYEDGE_RETENTION_WEBHOOK_EVENTS",
    )
    outbox: float = setting(
        Seconds(60, 3650 * DAY),
        7 * DAY,
        help="seconds an MQTT message is kept once the broker took it",
        flag="--retention-outbox",
        env="PAYEDGE_RETENTION_OUTBOX",
    )
    every: float = setting(
        Seconds(1, DAY),
        60.0,
        help="seconds between two purges (each purges in batches that share the group commit)",
        flag="--retention-every",
        env="PAYEDGE_RETENTION_EVERY",
    )
