"""A page asked for with a trailing slash (`GET /docs/`, `/dashboard/`) is redirected to its route.

Only when the path as given matches no route and the path without its trailing slashes does,
and only for GET and HEAD (a POST is never redirected: a client may not repeat it). 308 keeps
the method; the query string is kept. Routes are defined without a trailing slash everywhere,
so this covers every page at once instead of one alias per route. It is looked up only once a
request has already missed every route (the edge middleware's 404), so matched requests pay
nothing for it.
"""

from __future__ import annotations

import re

from aiohttp import web

LEADING = re.compile(r"^/+")


async def redirect_for(request: web.Request) -> web.HTTPPermanentRedirect | None:
    """The redirect to the same path without its trailing slashes, when that path has a route."""
    path = request.path
    if request.method not in ("GET", "HEAD") or not path.endswith("/") or path == "/":
        return None
    if request.match_info.http_exception is None:  # a route matched: its own 404 stands
        return None
    raw_path, sep, query = request.raw_path.partition("?")
    # One leading slash: "//host/" must not become a redirect to another host.
    target = LEADING.sub("/", raw_path.rstrip("/"))
    if not target or target == "/":
        return None
    found = await request.app.router.resolve(request.clone(rel_url=target))
    if found.http_exception is not None:
        return None
    return web.HTTPPermanentRedirect(target + sep + query)
