"""Money movement (SPEC 6): a double-entry ledger with TigerBeetle's semantics, wallets,
commissions, withdrawals, invoices and credit notes.

`setup_ledger(app)` wires it into the edge server: its expiry sweeper (started with the
store; its tables come with the store's migrations), its routes, and, unless
`[ledger] postings = "off"`, the payment hooks that post every payment's money
(payment_hooks.py). Rates and invoice details come from the config file's
`[[commissions.rates]]` and `[invoices]`. See docs/ledger.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.ledger.openapi_paths import PATHS
from payedge_server.ledger.routes import LEDGER, add_routes
from payedge_server.ledger.service import LedgerService
from payedge_server.ledger.settings import LedgerSettings, SettingsError, from_config

__all__ = ["LEDGER", "LedgerService", "LedgerSettings", "SettingsError", "setup_ledger"]


def setup_ledger(app: web.Application) -> LedgerService:
    config = app[keys.CONFIG]
    settings = from_config(config)
    service = LedgerService(app[keys.STORE], settings)
    app[LEDGER] = service
    if config.ledger.postings == "ON":
        from payedge_server.ledger.payment_hooks import PaymentHooks

        PaymentHooks(settings).register(app[keys.PAYMENTS])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        sweeper = asyncio.get_running_loop().create_task(service.expire_forever(), name="ledger-expiry")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    openapi.register(app, PATHS)
    return service
