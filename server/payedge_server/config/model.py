"""`Config`: the root of the configuration tree, one field per section of the file.

The field order is the order settings resolve in (server first: others derive from
`server.data_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from payedge_server.config.sections.auth import AuthConfig
from payedge_server.config.sections.catalog import CatalogConfig
from payedge_server.config.sections.gateways import GatewaysConfig
from payedge_server.config.sections.ledger import CommissionsConfig, LedgerConfig, invoices_setting
from payedge_server.config.sections.mqtt import MqttConfig
from payedge_server.config.sections.rate_limits import RateLimitsConfig
from payedge_server.config.sections.redis import RedisConfig
from payedge_server.config.sections.retention import RetentionConfig
from payedge_server.config.sections.routing import routing_setting
from payedge_server.config.sections.server import ServerConfig
from payedge_server.config.sections.store import StoreConfig
from payedge_server.config.sections.tariff import TariffConfig
from payedge_server.config.sections.terminals import TerminalsConfig


@dataclass(frozen=True)
class Config:
    """The whole configuration, as validated (frozen, nested: `config.gateways.stripe.api_key`)."""

    server: ServerConfig = field(default_factory=ServerConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    gateways: GatewaysConfig = field(default_factory=GatewaysConfig)
    tariff: TariffConfig = field(default_factory=TariffConfig)
    terminals: TerminalsConfig = field(default_factory=TerminalsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    commissions: CommissionsConfig = field(default_factory=CommissionsConfig)
    invoices: str | None = invoices_setting()
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    rate_limits: RateLimitsConfig = field(default_factory=RateLimitsConfig)
    routing: str | None = routing_setting()
