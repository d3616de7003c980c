"""The ``payedge`` command line: ``serve``, ``config check``, ``fakes``, ``quote`` (see ``payedge.tariffs``),
``version``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _server_missing(command: str) -> int:
    print(
        f"payedge {command}: the edge server (package payedge-server) is not installed; "
        "run `pip install 'payedge[server]'`, or `make serve` from a checkout.",
        file=sys.stderr,
    )
    return 2


def _from_server(command: str, module: str) -> Callable[[Sequence[str]], int]:
    """A command whose code ships with the edge server (its `main(argv)`)."""

    def run(argv: Sequence[str]) -> int:
        import importlib

        try:
            main: Callable[[list[str]], int] = importlib.import_module(module).main
        except ImportError:
            return _server_missing(command)
        return main(list(argv))

    return run


def _quote(argv: Sequence[str]) -> int:
    from payedge.tariffs import quote_main

    return quote_main(list(argv))


def _version(argv: Sequence[str]) -> int:
    from payedge import __version__

    print(__version__)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "serve": _from_server("serve", "payedge_server.cli"),
    "config": _from_server("config", "payedge_server.config.check"),
    "fakes": _from_server("fakes", "payedge_server.fakes.cli"),
    "quote": _quote,
    "version": _version,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="payedge", description="payedge: the payment edge")
    parser.add_argument("command", choices=list(COMMANDS), help="what to run")
    if not args or args[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    if command is None:
        parser.parse_args(args)  # prints the usage error and exits 2
        return 2
    return command(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
