"""BASELINE peer: the Stripe webhook handler a user writes from Stripe's documentation.

aiohttp + uvloop; `stripe.Webhook.construct_event` verifies and parses; the event
is inserted into SQLite (WAL, synchronous=FULL) with one commit per event, then
200. Duplicates are ignored by the primary key (`INSERT OR IGNORE`).

    python bench/http/baseline_stripe_sqlite.py --port 8081 --secret whsec_... --db /tmp/events.db
"""

from __future__ import annotations

import argparse
import sqlite3

import stripe
import uvloop
from aiohttp import web

DB = web.AppKey("db", sqlite3.Connection)
SECRET = web.AppKey("secret", str)


async def stripe_webhook(request: web.Request) -> web.Response:
    payload = await request.read()
    sig_header = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(payload, sig_header, request.app[SECRET])
    except ValueError:
        return web.json_response({"error": "invalid payload"}, status=400)
    except stripe.SignatureVerificationError:
        return web.json_response({"error": "invalid signature"}, status=400)
    db = request.app[DB]
    db.execute(
        "INSERT OR IGNORE INTO stripe_events (id, type, payload) VALUES (?, ?, ?)",
        (event["id"], event["type"], payload),
    )
    db.commit()
    return web.json_response({"received": True})


def open_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS stripe_events (id TEXT PRIMARY KEY, type TEXT, payload BLOB)")
    db.commit()
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    app = web.Application()
    app[DB] = open_db(args.db)
    app[SECRET] = args.secret
    app.router.add_post("/v1/webhooks/stripe", stripe_webhook)
    web.run_app(
        app, host=args.host, port=args.port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


if __name__ == "__main__":
    main()
