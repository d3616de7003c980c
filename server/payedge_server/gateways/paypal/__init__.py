"""The `paypal` connector: Orders v2 out (OAuth2, create, approve, capture, refund), signed webhooks in.

One connector in four modules: `api.py` (OAuth2 token, `PayPal-Request-Id`,
PayPal's error bodies), `orders.py` (an order or capture read into a
`GatewayResult`, PayPal's amounts), `gateway.py` (the outbound `Gateway`),
`webhooks.py` with `certs.py` (the inbound `WebhookParser`: offline signature
verification with the certificate named by `PAYPAL-CERT-URL`).
"""

from __future__ import annotations

from payedge_server.gateways.paypal.gateway import PayPalGateway
from payedge_server.gateways.paypal.orders import NAME, SCALE
from payedge_server.gateways.paypal.webhooks import PayPalWebhooks

__all__ = ["NAME", "SCALE", "PayPalGateway", "PayPalWebhooks"]
