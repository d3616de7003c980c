"""Tariff files and the ``payedge quote`` command.

A tariff file is the rules JSON of SPEC 2.3, as it is (see docs/tariffs.md).
``payedge serve --tariff FILE`` and ``payedge quote FILE`` both load it with
:func:`load_tariff`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from payedge._core import Quote, Tariff, format_money
from payedge._errors import TariffError


def load_tariff(path: str | os.PathLike[str]) -> Tariff:
    """Load and compile a tariff rules file.

    Any problem (missing file, bad JSON, invalid rules) raises ``TariffError``
    whose message starts with the file name; ``param`` keeps the JSON path of
    the bad field (``$`` for the document as a whole).
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise TariffError(f"{name}: cannot read tariff file: {exc.strerror or exc}", param="$") from exc
    try:
        return Tariff(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TariffError(f"{name}: a tariff file must be UTF-8 JSON ({exc.reason})", param="$") from exc
    except TariffError as exc:
        raise TariffError(f"{name}: {exc.message}", code=exc.code, param=exc.param) from exc


def parse_instant(text: str, tz: str, name: str) -> int:
    """UNIX seconds from ``text``: an integer, or ISO 8601.

    An ISO time without an offset is local time in the tariff's time zone
    (for a time that occurs twice at a DST change, the first one).
    """
    value = text.strip()
    if value.lstrip("+-").isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise TariffError(
            f"{name}: expected UNIX seconds or an ISO 8601 time "
            f"such as 2024-06-03T10:00:00+02:00, got {text!r}",
            param=name,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    # Seconds precision: a fractional second is rounded down.
    return int(moment.timestamp() // 1)


def _local(ts: int, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts.append(f"{hours}h{minutes:02d}m" + (f"{secs:02d}s" if secs else ""))
    return " ".join(parts)


def render_quote(quote: Quote, tariff: Tariff) -> str:
    """A receipt-style text rendering of a quote and its lines."""
    cur = quote.currency
    tz = tariff.timezone

    def money(amount: int) -> str:
        return format_money(amount, cur)

    out = [
        f"entry  {_local(quote.entry, tz)}",
        f"exit   {_local(quote.exit, tz)}",
        f"stay   {_duration(quote.exit - quote.entry)}, "
        f"{quote.units} unit(s) of {tariff.increment_minutes} min",
    ]
    for line in quote.lines:
        kind = line["kind"]
        if kind == "period":
            cap = "" if line["charged"] == line["gross"] else f" (gross {money(line['gross'])}, daily cap)"
            out.append(
                f"period {line['period']:>3}  from {_local(line['start'], tz)}  "
                f"{line['units']:>5} units  {money(line['charged'])}{cap}"
            )
        elif kind == "discount":
            out.append(
                f"discount  {line['subscription']} {line['discount_percent']}%  -{money(line['discount'])}"
            )
        elif kind == "lost_ticket_fee":
            out.append(f"lost ticket fee  {money(line['lost_ticket_fee'])}")
        elif kind == "max_amount":
            out.append(f"max amount {money(line['max_amount'])}  -{money(line['reduction'])}")
    out.append(f"total  {money(quote.amount)}")
    return "\n".join(out)


def quote_main(argv: Sequence[str]) -> int:
    """``payedge quote RULES.json --entry T --exit T [--lost-ticket] [--subscription NAME] [--json]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="payedge quote",
        description="Quote a stay with a tariff rules file and print the amount and its lines.",
    )
    parser.add_argument("rules", help="tariff rules JSON file (SPEC 2.3, docs/tariffs.md)")
    parser.add_argument(
        "--entry",
        required=True,
        help="UNIX seconds or ISO 8601 (no offset = local time of the tariff's time zone)",
    )
    parser.add_argument("--exit", required=True, help="same forms as --entry")
    parser.add_argument("--lost-ticket", action="store_true", help="add the lost-ticket fee")
    parser.add_argument("--subscription", help="subscription name for its discount")
    parser.add_argument("--json", action="store_true", help="print the quote as JSON")
    args = parser.parse_args(list(argv))
    try:
        tariff = load_tariff(args.rules)
        entry = parse_instant(args.entry, tariff.timezone, "entry")
        exit_ = parse_instant(args.exit, tariff.timezone, "exit")
        quote = tariff.quote(entry, exit_, lost_ticket=args.lost_ticket, subscription=args.subscription)
    except TariffError as exc:
        print(f"payedge quote: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        doc = {
            "amount": quote.amount,
            "currency": quote.currency,
            "formatted": format_money(quote.amount, quote.currency),
            "units": quote.units,
            "entry": quote.entry,
            "exit": quote.exit,
            "lines": quote.lines,
        }
        print(json.dumps(doc, indent=2))
    else:
        print(render_quote(quote, tariff))
    return 0


__all__ = ["load_tariff", "parse_instant", "quote_main", "render_quote"]
