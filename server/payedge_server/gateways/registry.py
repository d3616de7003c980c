"""Every connector's amount rules by gateway name (tests and docs iterate over all of them)."""

from __future__ import annotations

from payedge_server.gateways import cinetpay, mtn_momo, orange_money, paypal, sandbox, stripe
from payedge_server.gateways.amounts import Scale

SCALES: dict[str, Scale] = {
    sandbox.NAME: sandbox.SCALE,
    stripe.NAME: stripe.SCALE,
    paypal.NAME: paypal.SCALE,
    cinetpay.NAME: cinetpay.SCALE,
    mtn_momo.NAME: mtn_momo.SCALE,
    orange_money.NAME: orange_money.SCALE,
}
