"""`payedge serve`: parse flags and PAYEDGE_* variables, then run the server.

Every flag has an environment variable (`--stripe-api-key` -> PAYEDGE_STRIPE_API_KEY);
repeatable flags (`--api-key`, `--stripe-webhook-secret`) take a comma-separated
variable. A flag given on the command line wins over its variable.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from payedge_server.config import Config

ENV_PREFIX = "PAYEDGE_"


def _env(name: str) -> str | None:
    value = os.environ.get(ENV_PREFIX + name.upper().replace("-", "_"))
    return value if value else None


def _env_list(name: str) -> list[str]:
    raw = _env(name)
    return [part.strip() for part in raw.split(",") if part.strip()] if raw else []


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="payedge serve",
        description="Run the payedge edge server. Each flag is also a PAYEDGE_* environment variable.",
    )
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8080)")
    p.add_argument("--data-dir", default=None, help="state directory (default ./payedge-data)")
    p.add_argument("--database-url", default=None, help="sqlite:///path (default: SQLite in the data dir)")
    p.add_argument("--redis-url", default=None, help="redis://... (the terminal queue and its locks)")
    p.add_argument("--mqtt-url", default=None, help="mqtt://host:port for the parking relay")
    p.add_argument("--workers", type=int, default=None, help="processes sharing the port (SO_REUSEPORT)")
    p.add_argument("--stripe-api-key", default=None, help="enables the stripe gateway")
    p.add_argument("--stripe-api-base", default=None, help="a Stripe-compatible API base (localstripe)")
    p.add_argument(
        "--stripe-webhook-secret", action="append", default=None, help="repeatable (secret rotation)"
    )
    p.add_argument("--api-key", action="append", default=None, help="repeatable; generated when absent")
    p.add_argument("--tariff", default=None, help="tariff rules JSON file (POST /v1/quotes, parking)")
    p.add_argument("--terminals", default=None, help="comma-separated card-terminal ids (terminal queue)")
    p.add_argument("--self-url", default=None, help="base URL the server reaches itself on")
    p.add_argument(
        "--sandbox-async-delay",
        default=None,
        help="seconds before the sandbox's webhook completes a pm_sandbox_async payment (default 0.2)",
    )
    p.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")
    # Ledger (SPEC 6). Temporary flags until the config file (SPEC 9) has these sections.
    p.add_argument(
        "--ledger-settings",
        default=None,
        help="TOML/JSON file with [[commissions.rates]] and [invoices] (temporary: the config file will)",
    )
    p.add_argument(
        "--ledger-postings", default=None, help="on (default) or off: whether payments post to the ledger"
    )
    return p


def _read_or_create(path: Path, make: str) -> tuple[str, bool]:
    """A persisted secret: read it, or create it (0600) on first start."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(make + "\n")
    return make, True


def resolve(argv: Sequence[str]) -> tuple[Config, list[str]]:
    """Config from flags and environment; also the lines to print at start-up."""
    args = parser().parse_args(list(argv))
    notes: list[str] = []

    def pick(name: str) -> str | None:
        value = getattr(args, name.replace("-", "_"))
        return value if value is not None else _env(name)

    host = pick("host") or "127.0.0.1"
    port_raw = pick("port")
    port = int(port_raw) if port_raw is not None else 8080
    workers_raw = pick("workers")
    workers = int(workers_raw) if workers_raw is not None else 1
    if workers < 1:
        raise SystemExit("payedge serve: --workers must be at least 1")
    database_url = pick("database-url")
    data_dir_raw = pick("data-dir")
    if data_dir_raw:
        data_dir = Path(data_dir_raw)
    elif database_url and database_url.startswith("sqlite:///"):
        from payedge_server.store import open_store

        data_dir = open_store(database_url).path.parent
    else:
        data_dir = Path("payedge-data")
    if not database_url:
        database_url = f"sqlite:///{data_dir / 'payedge.sqlite3'}"  # /abs -> sqlite:////abs

    api_keys = args.api_key or _env_list("api-key")
    if api_keys:
        notes.append(f"API keys: {len(api_keys)} given (e.g. {api_keys[0][:4]}...)")
    else:
        key, created = _read_or_create(data_dir / "api_key", "pek_" + secrets.token_urlsafe(32))
        api_keys = [key]
        where = data_dir / "api_key"
        notes.append(f"API key ({'generated' if created else 'kept'} in {where}): {key}")
    from payedge_server.gateways.sandbox import new_webhook_secret

    sandbox_secret, _ = _read_or_create(data_dir / "sandbox_webhook_secret", new_webhook_secret())
    stripe_secrets = args.stripe_webhook_secret or _env_list("stripe-webhook-secret")

    redis_url = pick("redis-url")
    if redis_url:
        notes.append(
            "--redis-url: the terminal queue and its locks live in Redis (shared by workers); "
            "webhook dedupe, idempotency keys and live events are shared through the store"
        )
    tariff = pick("tariff")
    delay_raw = pick("sandbox-async-delay")
    try:
        sandbox_async_delay = float(delay_raw) if delay_raw is not None else 0.2
    except ValueError:
        raise SystemExit("payedge serve: --sandbox-async-delay must be a number of seconds") from None
    if not 0 <= sandbox_async_delay <= 86400:
        raise SystemExit("payedge serve: --sandbox-async-delay must be between 0 and 86400 seconds")
    postings = (pick("ledger-postings") or "on").lower()
    if postings not in ("on", "off"):
        raise SystemExit("payedge serve: --ledger-postings must be on or off")
    ledger_settings = pick("ledger-settings")
    config = Config(
        host=host,
        port=port,
        database_url=database_url,
        redis_url=redis_url,
        mqtt_url=pick("mqtt-url"),
        workers=workers,
        stripe_api_key=pick("stripe-api-key"),
        stripe_api_base=pick("stripe-api-base"),
        stripe_webhook_secrets=tuple(stripe_secrets),
        api_keys=tuple(api_keys),
        tariff=Path(tariff) if tariff else None,
        terminals=tuple(t.strip() for t in (pick("terminals") or "").split(",") if t.strip()),
        self_url=pick("self-url"),
        sandbox_webhook_secret=sandbox_secret,
        sandbox_async_delay=sandbox_async_delay,
        data_dir=data_dir,
        ledger_settings=Path(ledger_settings) if ledger_settings else None,
        ledger_postings=postings == "on",
        extra={"log_level": (pick("log-level") or "INFO").upper()},
    )
    if config.terminals and config.workers > 1 and not config.redis_url:
        # In-process queues would be one per worker: a payment enqueued through one worker
        # would be invisible to an allocation through another.
        raise SystemExit(
            "payedge serve: --terminals with --workers > 1 needs --redis-url "
            "(the in-process terminal queue is per process)"
        )
    return config, notes


def _secrets_of(config: Config) -> list[str]:
    found = [*config.api_keys, *config.stripe_webhook_secrets]
    for value in (config.stripe_api_key, config.sandbox_webhook_secret):
        if value:
            found.append(value)
    return found


async def _calm_gc(app: object) -> None:
    """Once started: move the start-up objects out of the collector's way and collect less often.

    Request handling allocates many short-lived objects and few cycles; the
    default thresholds make the collector walk the whole heap often, which
    shows as latency spikes under load.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def run_worker(config: Config, *, reuse_port: bool) -> None:
    import uvloop
    from aiohttp import web

    from payedge_server import logs
    from payedge_server.app import create_app

    logs.setup(config.extra.get("log_level", "INFO"), _secrets_of(config))
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app = create_app(config)
    app.on_startup.append(_calm_gc)
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        reuse_port=reuse_port,
        access_log=None,
        print=None,
        shutdown_timeout=15.0,
        loop=loop,
        backlog=1024,
    )


def _supervise(argv: Sequence[str], workers: int) -> int:
    """Start `workers` processes on the same port (SO_REUSEPORT); forward SIGTERM/SIGINT."""
    env = {**os.environ, "PAYEDGE_WORKER": "1"}
    cmd = [sys.executable, "-m", "payedge_server.cli", *argv]
    children = [subprocess.Popen(cmd, env=env) for _ in range(workers)]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, default=0)


def main(argv: list[str]) -> int:
    config, notes = resolve(argv)
    from payedge_server.ledger.settings import SettingsError, load_settings
    from payedge_server.quotes import TariffFileError, load_tariff
    from payedge_server.store import UnsupportedDatabaseError, open_store

    try:
        open_store(config.database_url)
        load_tariff(config.tariff)
        load_settings(config.ledger_settings)
    except SettingsError as exc:
        print(f"payedge serve: --ledger-settings {exc}", file=sys.stderr)
        return 2
    except (UnsupportedDatabaseError, TariffFileError) as exc:
        print(f"payedge serve: {exc}", file=sys.stderr)
        return 2
    from payedge_server.parking import config_problem

    problem = config_problem(config)
    if problem is not None:
        print(f"payedge serve: {problem}", file=sys.stderr)
        return 2
    is_worker = os.environ.get("PAYEDGE_WORKER") == "1"
    if not is_worker:
        url = f"http://{config.host}:{config.port}"
        print(
            f"payedge serving on {url} ({config.workers} worker(s), store {config.database_url})", flush=True
        )
        for note in notes:
            print(f"payedge: {note}", flush=True)
        if config.workers > 1:
            return _supervise(argv, config.workers)
    run_worker(config, reuse_port=config.workers > 1 or is_worker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
