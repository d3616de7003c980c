"""CEILING peer: aiohttp + uvloop, reads the body and answers 200, no work at all.

The fastest any aiohttp handler can answer on this machine: what payedge's
webhook rate is compared against as a fraction.

    python bench/http/bare_aiohttp.py --port 8082
"""

from __future__ import annotations

import argparse
import os

import uvloop
from aiohttp import web

OK = b'{"received":true}'


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=OK, content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    args = parser.parse_args()
    for _ in range(args.processes - 1):
        if os.fork() == 0:
            break
    app = web.Application()
    app.router.add_post("/v1/webhooks/stripe", handle)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
        reuse_port=args.processes > 1,
    )


if __name__ == "__main__":
    main()
