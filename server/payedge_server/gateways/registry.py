"""Every connector's amount rules by gateway name (tests and docs iterate over all of them)."""

from __future__ import annotations

from payedge_server.gateways import sandbox, stripe
from payedge_server.gateways.amounts import Scale

SCALES: dict[str, Scale] = {
    sandbox.NAME: sandbox.SCALE,
    stripe.NAME: stripe.SCALE,
}
