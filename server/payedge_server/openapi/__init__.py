"""GET /openapi.json: the OpenAPI 3.1 description of the real routes.

Each part registers the paths it serves with `register(app, paths)` next to the
code that adds the routes; a test checks that the document and `app.router`
list exactly the same (method, path) pairs, and schemathesis checks the server
against it.
"""

from __future__ import annotations

from typing import Any

import payedge
from aiohttp import web

from payedge_server.errors import json_response
from payedge_server.openapi.builder import OPENAPI_PATHS, op, path_param, query_param, register
from payedge_server.openapi.schemas import SCHEMAS

__all__ = ["OPENAPI_PATHS", "document", "handle_openapi", "op", "path_param", "query_param", "register"]


def document(app: web.Application) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "payedge edge server", "version": payedge.__version__},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": app.get(OPENAPI_PATHS, {}),
    }


async def handle_openapi(request: web.Request) -> web.Response:
    return json_response(document(request.app))
