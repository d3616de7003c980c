"""payedge's configuration: one table of settings, one validation path (SPEC 3, 3.1, 9).

Sources, highest first: a flag (`--stripe-api-key`), its PAYEDGE_* variable, the TOML
file of `--config` / PAYEDGE_CONFIG (`[gateways.stripe] api_key = "env:STRIPE_KEY"`),
then the default (or a value derived from another setting, or a secret kept in the data
dir). Every value, whatever its source, goes through the same kind and the same text
rule; the first start writes nothing until everything is valid.

    loaded = load(argv, os.environ)      # never writes; collects every problem
    loaded.config                        # a frozen Config, or None with loaded.problems

The table is the section dataclasses themselves (`sections/`): each field is a
`setting(kind, default, help=..., flag=..., env=..., secret=...)`; its key path is its
place in the tree under `Config` (`model.py`). Flags, variables, file keys, validation,
`payedge config check` and the reference table of docs/configuration.md all come from it.

Adding a section (e.g. `[gateways.paypal]`):

1. Write `sections/paypal.py`: a frozen dataclass, one `setting(...)` per key:

       @dataclass(frozen=True)
       class PaypalConfig:
           client_id: str | None = setting(Text(), None, help="...",
                                           flag="--paypal-client-id", env="PAYEDGE_PAYPAL_CLIENT_ID")
           client_secret: str | None = setting(Text(), None, help="...", secret=True,
                                               flag="--paypal-client-secret",
                                               env="PAYEDGE_PAYPAL_CLIENT_SECRET")

   Rules across settings go in `checks: ClassVar[tuple[Check, ...]]`; settings that
   exclude each other in `one_of: ClassVar[tuple[tuple[str, ...], ...]]`. A free-form
   table (`[routing]`) is one setting of kind `Table(check=...)` (its check compiles it,
   e.g. with `payedge.Router`); an array of tables (`[[catalog.products]]`) is a setting of
   kind `Items(Table(check=...))`.
2. Hang it in the tree: `paypal: PaypalConfig = PaypalConfig()` in `GatewaysConfig`
   (`sections/gateways.py`); a top-level section goes in `Config` (`model.py`).
3. Regenerate the docs' table: `python -m payedge_server.config.reference --write`.

Nothing else changes: the loader, the parser, `config check` and the docs read the tree.
Until a section is added, its keys are unknown keys (errors).
"""

from __future__ import annotations

from payedge_server.config.kinds import Invalid, mask
from payedge_server.config.loader import Entry, Loaded, load
from payedge_server.config.model import Config
from payedge_server.config.schema import Problem, Source, Spec, specs

__all__ = ["Config", "Entry", "Invalid", "Loaded", "Problem", "Source", "Spec", "load", "mask", "specs"]
