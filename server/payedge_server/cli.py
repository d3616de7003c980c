"""`payedge serve`: parse flags and PAYEDGE_* variables, then run the server."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    print("payedge serve: the edge server is not built yet (issue 5).", file=sys.stderr)
    return 2
