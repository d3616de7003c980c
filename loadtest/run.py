"""`make loadtest`: start `payedge serve` on a temp data dir, run locust headless, bounded.

    python -m loadtest.run [--users 30] [--spawn-rate 30] [--time 20s]

Exits non-zero when any request failed (locust's own exit code) or the server
did not start.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.http.run import payedge_serve_cmd, server
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk_loadtest_key_0123456789"
SECRET = "whsec_loadtest_secret_0123456789"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--spawn-rate", type=float, default=30.0)
    parser.add_argument("--time", default="20s")
    args = parser.parse_args(argv)
    port = free_port()
    cmd = payedge_serve_cmd(port, API_KEY, SECRET)
    env = {**os.environ, "PAYEDGE_API_KEY": API_KEY, "PAYEDGE_STRIPE_WEBHOOK_SECRET": SECRET}
    with (
        tempfile.TemporaryDirectory(prefix="payedge-loadtest-") as tmp,
        server(cmd, port, Path(tmp)),
    ):
        locust = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtest" / "locustfile.py"),
            "--host",
            f"http://127.0.0.1:{port}",
            "--headless",
            "--only-summary",
            "-u",
            str(args.users),
            "-r",
            str(args.spawn_rate),
            "-t",
            args.time,
            "--stop-timeout",
            "5",
        ]
        done = subprocess.run(locust, cwd=ROOT, env=env, timeout=300, check=False)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
