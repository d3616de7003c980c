"""[mqtt]: the parking relay's broker (SPEC 4). The client id rides in the URL (`?client_id=`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from payedge_server.config.kinds import Url
from payedge_server.config.schema import Check, setting

if TYPE_CHECKING:
    from payedge_server.config.model import Config


def _relay_url(url: str) -> None:
    from payedge_server.mqtt_relay import MqttTarget

    MqttTarget.parse(url)


def _needs_tariff(config: Config) -> str | None:
    if config.mqtt.url and not config.tariff.given:
        return (
            "--tariff FILE (PAYEDGE_TARIFF, tariff.file or tariff.rules) is required with --mqtt-url: "
            "parking prices exits with the site tariff"
        )
    return None


@dataclass(frozen=True)
class MqttConfig:
    url: str | None = setting(
        Url(("mqtt", "mqtts"), check=_relay_url),
        None,
        help="mqtt[s]://[user[:password]@]host[:port][?client_id=ID]: enables the parking relay",
        flag="--mqtt-url",
        env="PAYEDGE_MQTT_URL",
    )

    checks: ClassVar[tuple[Check, ...]] = (Check("mqtt.url (--mqtt-url)", _needs_tariff),)
