"""Money movement (SPEC 6): a double-entry ledger with TigerBeetle's semantics, wallets,
commissions, withdrawals, invoices and credit notes.

`setup_ledger(app)` wires it into the edge server: its tables and its expiry sweeper
(started with the store), its routes, and, unless `--ledger-postings off`, the payment
hooks that post every payment's money (payment_hooks.py). See docs/ledger.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from payedge_server import keys, openapi
from payedge_server.ledger import schema
from payedge_server.ledger.openapi_paths import PATHS
from payedge_server.ledger.routes import LEDGER, add_routes
from payedge_server.ledger.service import LedgerService
from payedge_server.ledger.settings import LedgerSettings, SettingsError, load_settings

__all__ = ["LEDGER", "LedgerService", "LedgerSettings", "SettingsError", "load_settings", "setup_ledger"]


def setup_ledger(app: web.Application) -> LedgerService:
    config = app[keys.CONFIG]
    settings = load_settings(config.ledger_settings)
    service = LedgerService(app[keys.STORE], settings)
    app[LEDGER] = service
    if config.ledger_postings:
        from payedge_server.ledger.payment_hooks import PaymentHooks

        PaymentHooks(settings).register(app[keys.PAYMENTS])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        store = service.store
        await store.ensure_schema(schema.STATEMENTS + schema.SQLITE_GUARDS)
        await store.write(schema.add_payment_columns_sqlite)
        sweeper = asyncio.get_running_loop().create_task(service.expire_forever(), name="ledger-expiry")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    openapi.register(app, PATHS)
    return service
