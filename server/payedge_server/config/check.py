"""`payedge config check [FILE] [serve flags]`: validate as `payedge serve` would, print the result.

Same code path as `serve` (flags and PAYEDGE_* variables applied too); nothing is
written (a secret the first start would generate is shown as such). Exit 0 and the
resolved configuration (secrets masked) on stdout when valid; exit 2 and every problem
on stderr when not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from payedge_server.config.loader import load
from payedge_server.config.render import problems_text, render

PROG = "payedge config check"
USAGE = "usage: payedge config check [FILE] [payedge serve flags]"


def main(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    args = list(argv)
    if not args or args[0] != "check":
        print(USAGE, file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    loaded = load(args[1:], os.environ if environ is None else environ, prog=PROG, file_argument=True)
    for warning in loaded.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if loaded.config is None:
        print(problems_text(PROG, loaded.problems), file=sys.stderr)
        return 2
    where = str(loaded.file) if loaded.file else "flags and environment (no config file)"
    print(render(loaded, title=f"{PROG}: {where}: valid"))
    return 0
