"""A provider that answers garbage: `python -m tests.server.gateways.garbage PORT MODE`.

MODE `everything`: every request gets a 200 HTML page. MODE `api`: the token
endpoints answer a valid token (so payedge gets as far as its payment calls), every
other request a 200 whose body is not the provider's JSON.
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

TOKEN_PATHS = ("/v1/oauth2/token", "/collection/token/", "/oauth/v3/token")


def app(mode: str) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if mode == "api" and request.path in TOKEN_PATHS:
            body = {"access_token": "garbage-token", "token_type": "Bearer", "expires_in": 3600}
            return web.Response(text=json.dumps(body), content_type="application/json")
        return web.Response(
            text="<html><body>502 Bad Gateway (not JSON)</body></html>", content_type="text/html"
        )

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", answer)
    return application


if __name__ == "__main__":
    web.run_app(app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), print=None)
