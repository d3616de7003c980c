"""Soak: minutes at a steady high webhook rate with a short retention; memory and disk stay flat.

    python -m bench.soak                      # 10 minutes, retention 120 s (`make soak`)
    python -m bench.soak --minutes 3 --retention 60

One `payedge serve` (SQLite, the default store) receives distinct Stripe-signed events
from wrk for `--minutes` one-minute rounds (each round a fresh stream, signed just
before it), while the housekeeping purges `webhook_events` older than `--retention`
seconds. After each minute it prints the rate, p50/p99, errors, the server's RSS and
the database's size on disk (file + WAL) and row count. Flat RSS and size after the
first retention window means nothing grows per request; the last line compares the
last minute with the first minute after warm-up. Not part of CI (it takes minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.http.events import write_events
from bench.http.run import payedge_serve_cmd, run_wrk, server
from tests.support.services import free_port

SECRET = "whsec_soak_secret_0123456789"
API_KEY = "pek_soak_key_0123456789"
RATE_BOUND = 20_000  # events signed per second of a round: more than one process answers here


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def store_size(data: Path) -> tuple[float, int]:
    """MB on disk (database + WAL) and rows in webhook_events."""
    db = data / "payedge.sqlite3"
    size = sum(p.stat().st_size for p in data.glob("payedge.sqlite3*") if p.is_file())
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM webhook_events").fetchone()[0]
    return size / 1e6, int(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.soak")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--retention", type=float, default=120.0, help="webhook_events retention, seconds")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="payedge-soak-") as tmp:
        return soak(Path(tmp), args)


def soak(work: Path, args: argparse.Namespace) -> int:
    port = free_port()
    retention = ["--retention-webhook-events", str(args.retention), "--retention-every", "5"]
    cmd = [*payedge_serve_cmd(port, API_KEY, SECRET), *retention]
    rows: list[tuple[float, float, float, float, float]] = []
    print(
        f"{'min':>4}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'RSS MB':>9}{'DB MB':>9}{'rows':>10}"
    )
    with server(cmd, port, work / "server") as proc:
        for minute in range(1, args.minutes + 1):
            events = work / "events"
            write_events(events, 60 * RATE_BOUND, SECRET, prefix=f"soak{minute}_")
            out = run_wrk(
                port,
                "webhook.lua",
                [str(events), "/v1/webhooks/stripe", "2"],
                duration=60,
                threads=2,
                connections=args.connections,
            )
            rate = out["requests"] / (out["duration_us"] / 1e6)
            errors = out["status_errors"] + out["connect_errors"] + out["read_errors"] + out["timeouts"]
            mb, count = store_size(work / "server" / "payedge-data")
            rss = rss_mb(proc.pid)
            p99 = out["p99_us"] / 1000
            rows.append((rate, p99, rss, mb, float(errors)))
            print(
                f"{minute:>4}{rate:>10,.0f}{out['p50_us'] / 1000:>9.2f}{p99:>9.2f}{errors:>8}"
                f"{rss:>9.1f}{mb:>9.1f}{count:>10,}",
                flush=True,
            )
            time.sleep(0.5)
    return verdict(rows, args)


def verdict(rows: list[tuple[float, float, float, float, float]], args: argparse.Namespace) -> int:
    """Flat after warm-up: RSS and size of the last minute within 25% of the first steady one, no error."""
    warm = min(len(rows) - 1, max(1, int(args.retention // 60) + 1))
    first, last = rows[warm], rows[-1]
    errors = sum(r[4] for r in rows)
    flat_rss = last[2] <= first[2] * 1.25
    flat_disk = last[3] <= first[3] * 1.25
    print(
        f"after warm-up (minute {warm + 1} -> {len(rows)}): RSS {first[2]:.1f} -> {last[2]:.1f} MB, "
        f"database {first[3]:.1f} -> {last[3]:.1f} MB, p99 {first[1]:.1f} -> {last[1]:.1f} ms, "
        f"errors {errors:.0f}: {'flat' if flat_rss and flat_disk and not errors else 'NOT FLAT'}"
    )
    return 0 if flat_rss and flat_disk and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
