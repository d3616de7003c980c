"""Client secrets (SPEC 8): what a browser holds instead of an API key.

Every payment gets `<payment id>_secret_<random>` when it is created (payments/model.py;
shown once, in the create response of the payment or of its order, as Stripe shows a
PaymentIntent's client secret); the store keeps its SHA-256 only, compared in constant
time. A client secret is accepted, as `?client_secret=`, on three reads and nothing
else:

- `GET /v1/stream`: the connection may subscribe to `payment:<its payment>` only;
- `GET /v1/payments/{id}/status`: only for its own payment (403 `forbidden` otherwise);
- `GET /v1/orders/{id}`: only the order of its payment (404 `order_not_found` otherwise).

It cannot list, create, confirm, refund or cancel anything through /v1: the hosted
checkout (checkout/) confirms its order's payment itself, after checking the secret.
"""

from __future__ import annotations

import hmac
import re
from typing import Final

from aiohttp import web

from payedge_server import live
from payedge_server.auth import Authenticator, unauthorized
from payedge_server.contracts import Store
from payedge_server.errors import DomainError
from payedge_server.payments import repository
from payedge_server.payments.model import CLIENT_SECRET_SEPARATOR, client_secret_hash
from payedge_server.payments.validation import PAYMENT_ID

PARAM: Final = "client_secret"
PAYMENT: Final = "payedge.client_secret_payment"
"""Request key: the payment id the request's client secret was verified for."""

MAX_SECRET: Final = 200
_STATUS_PATH: Final = re.compile(r"/v1/payments/([^/]+)/status")
_ORDER_PATH: Final = re.compile(r"/v1/orders/[^/]+")


def payment_id_of(secret: str) -> str | None:
    """The payment id a client secret names (its prefix), or None when it has not the shape of one."""
    if len(secret) > MAX_SECRET:
        return None
    pid, sep, rest = secret.partition(CLIENT_SECRET_SEPARATOR)
    if not sep or not rest or not PAYMENT_ID.fullmatch(pid):
        return None
    return pid


async def verify(store: Store, secret: str | None) -> str | None:
    """The payment id `secret` is the client secret of, or None (unknown payment, wrong secret)."""
    pid = payment_id_of(secret) if secret else None
    if pid is None or secret is None:
        return None
    stored = await store.read(lambda tx: repository.client_secret_hash(tx, pid))
    if stored is None:
        return None
    return pid if hmac.compare_digest(stored.encode(), client_secret_hash(secret).encode()) else None


def authenticator(store: Store) -> Authenticator:
    """The /v1 authenticator of client secrets (the middleware tries it when no API key is sent)."""

    async def by_client_secret(request: web.Request) -> str | None:
        secret = request.query.get(PARAM)
        if secret is None or request.method != "GET":
            return None
        path = request.path
        status = _STATUS_PATH.fullmatch(path)
        if path != "/v1/stream" and status is None and not _ORDER_PATH.fullmatch(path):
            return None  # not a route a client secret reads: 401 as without credentials
        pid = await verify(store, secret)
        if pid is None:
            raise unauthorized()
        if status is not None and status.group(1) != pid:
            raise DomainError("forbidden", "a client secret reads only its own payment", "id")
        request[PAYMENT] = pid
        request[live.SCOPE] = frozenset({"payment:" + pid})
        return ""  # acts for no API key: only the address's rate limit applies

    return by_client_secret
