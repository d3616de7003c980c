"""The ``payedge`` command line: ``payedge serve``, ``payedge quote`` (see ``payedge.tariffs``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _serve(argv: Sequence[str]) -> int:
    try:
        from payedge_server.cli import main as serve_main
    except ImportError:
        print(
            "payedge serve: the edge server (package payedge-server) is not installed; "
            "run `pip install 'payedge[server]'`, or `make serve` from a checkout.",
            file=sys.stderr,
        )
        return 2
    return serve_main(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="payedge", description="payedge: the payment edge")
    parser.add_argument("command", choices=["serve", "quote", "version"], help="what to run")
    if not args or args[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        return _serve(rest)
    if command == "quote":
        from payedge.tariffs import quote_main

        return quote_main(rest)
    if command == "version":
        from payedge import __version__

        print(__version__)
        return 0
    parser.parse_args(args)  # prints the usage error and exits 2
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
