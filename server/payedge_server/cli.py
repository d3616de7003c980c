"""`payedge serve`: validate the configuration (flags, PAYEDGE_* variables, the TOML file), then run.

Every flag has an environment variable (`--stripe-api-key` -> PAYEDGE_STRIPE_API_KEY)
and a key of the config file (`--config FILE` / PAYEDGE_CONFIG); repeatable flags
(`--api-key`, `--stripe-webhook-secret`) take a comma-separated variable. A flag wins
over its variable, which wins over the file (payedge_server.config, docs/configuration.md).
Nothing is written or bound until the whole configuration is valid; otherwise every
problem is printed and the exit code is 2.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

from payedge_server.config import Config, Loaded, load, mask
from payedge_server.config.fallbacks import Persisted, write_pending
from payedge_server.config.kinds import mask_url_password
from payedge_server.config.render import problems_text, secret_values

PROG = "payedge serve"


def load_for_start(argv: Sequence[str], environ: Mapping[str, str]) -> Loaded:
    """`load`, then write the data-dir secrets a first start generates (only when all is valid).

    If another process (a worker, a second instance) wrote one first, load again and use its.
    """
    loaded = load(argv, environ, prog=PROG)
    for _ in range(3):
        if loaded.config is None or not loaded.pending:
            return loaded
        written = write_pending(loaded.pending)
        if written is True:
            return loaded
        if written is not False:
            return Loaded(None, loaded.entries, (written,), loaded.warnings, (), loaded.file)
        loaded = load(argv, environ, prog=PROG)
    return loaded


def start_notes(loaded: Loaded, config: Config) -> list[str]:
    """What `payedge serve` says at start beyond its address (a generated key is printed: it is new)."""
    notes: list[str] = []
    keys = next(e for e in loaded.entries if e.spec.path == "auth.api_keys")
    if keys.source.kind in ("generated", "data_dir"):
        how = "generated" if keys.source.kind == "generated" else "kept"
        notes.append(f"API key ({how} in {keys.source.detail}): {config.auth.api_keys[0]}")
    else:
        notes.append(_given_keys_note(keys.spec.setting.fallback, config))
    if config.redis.url:
        notes.append(
            "--redis-url: shared through Redis (an accelerator, the store stays the truth): the webhook "
            "dedupe fast path, live fan-out, rate limits, routing health, the terminal queue and its "
            "locks, the MQTT relay election (docs/scaling.md)"
        )
    return notes


def _given_keys_note(fallback: object, config: Config) -> str:
    """Keys given by flag, variable or file replace the data dir's generated key: say so when one
    is there (a key an earlier start printed would otherwise get 401 with no hint why)."""
    given = config.auth.api_keys
    note = f"API keys: {len(given)} given (e.g. {mask(given[0])})"
    if isinstance(fallback, Persisted):
        stored = config.server.data_dir / fallback.filename
        if stored.is_file():
            note += f"; the generated key in {stored} is not used while keys are given"
    return note


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

    logs.setup(config.server.log_level, secret_values(config))
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app = create_app(config)
    app.on_startup.append(_calm_gc)
    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
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


def store_problem(loaded: Loaded) -> str | None:
    """Why the configured networked store cannot be opened now, naming the setting; None if it can.

    Checked before anything is written or announced (configuration.md: the database URL is
    compiled as the store opens it): a wrong password, database or port is a clear start
    error, not a traceback after "serving on". SQLite is opened by the server itself (opening
    it creates the file).
    """
    config = loaded.config
    if config is None or not config.store.database_url.startswith(("postgresql://", "postgres://")):
        return None
    from payedge_server.store import open_store
    from payedge_server.store.errors import StoreUnavailableError

    async def check() -> None:
        store = open_store(config.store.database_url)
        try:
            await asyncio.wait_for(store.open(), 15.0)
        finally:
            await store.close()

    try:
        asyncio.run(check())
    except (StoreUnavailableError, TimeoutError) as exc:
        entry = next(e for e in loaded.entries if e.spec.path == "store.database_url")
        why = str(exc) or "no answer in 15 s"
        return f"store.database_url ({entry.source}): cannot open the store: {why}"
    return None


def main(argv: list[str]) -> int:
    is_worker = os.environ.get("PAYEDGE_WORKER") == "1"
    if not is_worker:  # a worker's supervisor checked it
        problem = store_problem(load(argv, os.environ, prog=PROG))
        if problem is not None:
            print(f"{PROG}: {problem}\nNothing was started.", file=sys.stderr)
            return 2
    loaded = load_for_start(argv, os.environ)
    for warning in () if is_worker else loaded.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    config = loaded.config
    if config is None:
        print(problems_text(PROG, loaded.problems, "Nothing was started."), file=sys.stderr)
        return 2
    workers = config.server.workers
    if not is_worker:
        url = f"http://{config.server.host}:{config.server.port}"
        store = mask_url_password(config.store.database_url)
        print(f"payedge serving on {url} ({workers} worker(s), store {store})", flush=True)
        for note in start_notes(loaded, config):
            print(f"payedge: {note}", flush=True)
        if workers > 1:
            return _supervise(argv, workers)
    run_worker(config, reuse_port=workers > 1 or is_worker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
