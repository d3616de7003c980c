"""`payedge fakes`: start the four provider fakes in one process and print how to reach them.

The start-up output is the contract tests and tutorials parse: ``#`` comment lines, then
one ``PAYEDGE_<NAME>=<value>`` line per setting (base URLs and credentials, names in the
style of `payedge serve`'s variables), and ``PAYEDGE_FAKES_READY=1`` last, once every
port listens. The lines are valid shell assignments (``set -a; . ./fakes.env``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from payedge_server.fakes import cinetpay, momo, orange, paypal
from payedge_server.fakes.base import Fake, Settings

#: In port order from --port-base: PayPal, CinetPay, MTN MoMo, Orange Money.
PROVIDERS: tuple[tuple[str, Callable[[Settings, str], tuple[Fake, web.Application]]], ...] = (
    ("paypal", paypal.create),
    ("cinetpay", cinetpay.create),
    ("momo", momo.create),
    ("orange", orange.create),
)
READY = "PAYEDGE_FAKES_READY=1"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="payedge fakes",
        description="Local fakes of PayPal, CinetPay, MTN MoMo and Orange Money, one port each.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="PayPal on N, CinetPay N+1, MoMo N+2, Orange N+3; 0 (default) picks free ports",
    )
    p.add_argument(
        "--callback-url", default=None, help="PayPal's webhook listener (the others take one per call)"
    )
    p.add_argument("--latency-ms", type=int, default=0, help="added before every provider answer (default 0)")
    p.add_argument(
        "--hang-seconds",
        type=float,
        default=60.0,
        help="how long a 'timeout' magic value holds the request before answering (default 60)",
    )
    p.add_argument(
        "--callback-attempts", type=int, default=5, help="tries per callback, backing off (default 5)"
    )
    p.add_argument(
        "--momo-ongoing-seconds",
        type=float,
        default=30.0,
        help="when MoMo's 'ongoing' test number turns SUCCESSFUL (the sandbox says 30 s)",
    )
    return p


def settings_from(argv: Sequence[str]) -> tuple[Settings, int]:
    args = parser().parse_args(list(argv))
    if not 0 <= args.port_base <= 65532:
        parser().error("--port-base must be 0 or a port with three free ports after it")
    if not 0 <= args.latency_ms <= 600_000:
        parser().error("--latency-ms must be in [0, 600000]")
    if not 0 < args.hang_seconds <= 3600 or not 0 <= args.momo_ongoing_seconds <= 86400:
        parser().error("--hang-seconds must be in (0, 3600] and --momo-ongoing-seconds in [0, 86400]")
    if not 1 <= args.callback_attempts <= 100:
        parser().error("--callback-attempts must be in [1, 100]")
    if args.callback_url is not None and not args.callback_url.startswith(("http://", "https://")):
        parser().error("--callback-url must be an http(s) URL")
    settings = Settings(
        host=args.host,
        callback_url=args.callback_url,
        latency_ms=args.latency_ms,
        hang_seconds=args.hang_seconds,
        callback_attempts=args.callback_attempts,
        momo_ongoing_seconds=args.momo_ongoing_seconds,
    )
    return settings, args.port_base


def bind(host: str, port_base: int) -> list[socket.socket]:
    """Four listening sockets: the given consecutive ports, or free ones (bound now, no race)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets = []
    try:
        for offset in range(len(PROVIDERS)):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port_base + offset if port_base else 0))
            sock.listen(128)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def public_host(host: str) -> str:
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


async def serve(settings: Settings, port_base: int) -> int:
    try:
        sockets = bind(settings.host, port_base)
    except OSError as exc:
        print(
            f"payedge fakes: cannot listen on {settings.host}:{port_base or 'free ports'}: {exc}",
            file=sys.stderr,
        )
        return 1
    fakes: list[Fake] = []
    runners: list[web.AppRunner] = []
    try:
        for (_name, create), sock in zip(PROVIDERS, sockets, strict=True):
            base_url = f"http://{public_host(settings.host)}:{sock.getsockname()[1]}"
            fake, app = create(settings, base_url)
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            fakes.append(fake)
            runners.append(runner)
        announce(fakes)
        await _until_signalled()
    finally:
        for fake in fakes:
            fake.stopping.set()
        for runner in reversed(runners):
            await runner.cleanup()
        for sock in sockets:
            sock.close()
    return 0


def announce(fakes: Sequence[Fake]) -> None:
    lines = [
        "# payedge fakes: PayPal, CinetPay, MTN MoMo and Orange Money (admin API under /_fake/ on each port)",
        "# magic amounts: see docs/gateways.md, 'Local fakes', or GET /_fake/faults; Ctrl-C stops",
    ]
    for fake in fakes:
        lines.extend(f"PAYEDGE_{key}={value}" for key, value in fake.credentials.items())
    lines.append(READY)
    print("\n".join(lines), flush=True)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: Sequence[str]) -> int:
    settings, port_base = settings_from(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(settings, port_base))
