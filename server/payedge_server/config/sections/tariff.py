"""[tariff]: the site tariff (SPEC 2.3), a rules file or the rules inline; compiled at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from payedge_server.config.kinds import FilePath, Invalid, Table
from payedge_server.config.schema import setting

if TYPE_CHECKING:
    import payedge


def _refusal(exc: Exception) -> Invalid:
    param = getattr(exc, "param", None)
    return Invalid(f"{exc}" + (f" (at {param})" if param and param != "$" else ""))


def _compile_file(path: Path) -> None:
    import payedge

    try:
        payedge.load_tariff(path)
    except payedge.PayedgeError as exc:
        raise _refusal(exc) from None


def _toml_nulls(rules: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: in inline rules a band without `up_to_minute` is the open-ended one."""
    bands = rules.get("bands")
    if not isinstance(bands, list):
        return rules
    filled = [{"up_to_minute": None, **b} if isinstance(b, dict) else b for b in bands]
    return {**rules, "bands": filled}


def _compile_rules(rules: str) -> None:
    import payedge

    try:
        payedge.Tariff(rules)
    except payedge.PayedgeError as exc:
        raise _refusal(exc) from None


@dataclass(frozen=True)
class TariffConfig:
    file: Path | None = setting(  # noqa: RUF009 - a Path is immutable
        FilePath(check=_compile_file),
        None,
        help="tariff rules JSON file (POST /v1/quotes, parking)",
        flag="--tariff",
        env="PAYEDGE_TARIFF",
    )
    rules: str | None = setting(
        Table(check=_compile_rules, adapt=_toml_nulls),
        None,
        help="the tariff rules inline, as a TOML table (a band without up_to_minute is the open-ended one)",
    )

    one_of: ClassVar[tuple[tuple[str, ...], ...]] = (("file", "rules"),)

    @property
    def given(self) -> bool:
        return self.file is not None or self.rules is not None

    def compile(self) -> payedge.Tariff | None:
        """The compiled tariff, or None when none is configured (validated at start already)."""
        import payedge

        if self.file is not None:
            return payedge.load_tariff(self.file)
        return payedge.Tariff(self.rules) if self.rules is not None else None
