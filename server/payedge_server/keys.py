"""Typed application state keys (aiohttp `web.AppKey`), one per shared resource."""

from __future__ import annotations

from aiohttp import web

from payedge_server.config import Config
from payedge_server.contracts import LivePublisher, Store

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
LIVE = web.AppKey("live", LivePublisher)
