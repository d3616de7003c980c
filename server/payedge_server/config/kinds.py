"""Value kinds: how one setting's text or TOML value becomes a typed value, or is refused.

Every value goes through here whatever its source: a flag's text, a PAYEDGE_* variable's
text, an `env:NAME` reference's text, a persisted file's text, or a TOML value from the
config file. The text rule (`text_problem`) is the same for all of them: payedge uses a
configuration value exactly as given, so a value with surrounding whitespace, a control or
invisible format character anywhere, or nothing at all is refused instead of trimmed
(SPEC 3.1). Messages say what is wrong without echoing a secret.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")

# Unicode categories refused anywhere in a value: controls (\t \r \n \x00 ...), invisible
# format characters (zero-width space, BOM, bidi overrides) and lone surrogates (what
# os.environ makes of bytes that are not UTF-8).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_NAMES = {
    " ": "a space",
    "\t": "a tab (\\t)",
    "\r": "a carriage return (\\r)",
    "\n": "a line feed (\\n)",
    "\x00": "a NUL byte (\\x00)",
    "\ufeff": "a byte-order mark (U+FEFF)",
}
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HOSTLESS = frozenset({"sqlite", "unix"})  # URL schemes naming a file, not a host
_HOST = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_TOML_TYPES = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}


def host(text: str) -> None:
    """A bind address: an IP address or a host name (RFC 1123)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not _HOST.fullmatch(text):
            raise Invalid(f"expected an IP address or a host name, got {text!r}") from None


class Invalid(ValueError):
    """A refused value; the message never contains a secret."""


def describe_char(char: str) -> str:
    return _NAMES.get(char) or f"the character U+{ord(char):04X}"


def _refused(char: str) -> bool:
    return unicodedata.category(char) in _REFUSED_CATEGORIES


def text_problem(text: str, *, secret: bool = False) -> str | None:
    """Why `text` cannot be a configuration value as given, or None (SPEC 3.1)."""
    if text == "":
        return "is empty"
    for edge, char in (("starts", text[0]), ("ends", text[-1])):
        if char.isspace() or _refused(char):
            return f"{edge} with {describe_char(char)}; payedge uses values exactly as given: remove it"
    for index, char in enumerate(text):
        if _refused(char) or (secret and char.isspace()):
            what = "whitespace" if char.isspace() and not _refused(char) else "a control character"
            return f"contains {what} ({describe_char(char)}) at position {index}"
    return None


def checked_text(text: str, *, secret: bool = False) -> str:
    problem = text_problem(text, secret=secret)
    if problem is not None:
        raise Invalid(problem)
    return text


def toml_type(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    return next((name for kind, name in _TOML_TYPES.items() if isinstance(value, kind)), "a date/time")


def wrong_type(expected: str, value: object, *, secret: bool) -> Invalid:
    shown = "" if secret or isinstance(value, (dict, list)) else f" ({value!r})"
    return Invalid(f"expected {expected}, got {toml_type(value)}{shown}")


class Kind(Generic[T]):
    """One value type: its text form (flags, environment), its TOML form, its display."""

    text_form = True  # False: only the config file can give it (a table)

    @property
    def name(self) -> str:
        """What the value is, for messages and the docs ("an integer 1..65535")."""
        return "a value"

    def parse_text(self, text: str, *, secret: bool) -> T:
        return self.convert(checked_text(text, secret=secret))

    def parse_toml(self, value: object, *, secret: bool) -> T:
        if not isinstance(value, str):
            raise wrong_type(self.name, value, secret=secret)
        return self.parse_text(value, secret=secret)

    def convert(self, text: str) -> T:
        raise NotImplementedError

    def rebase(self, value: T, base: Path) -> T:
        """A value from the config file, made relative to the file's directory where that applies."""
        return value

    def finish(self, value: T) -> T:
        """Checks that need the final value (a path once rebased): raise Invalid."""
        return value

    def carries_credential(self, value: object) -> bool:
        """True when a literal value in the file holds a credential (a URL's password)."""
        return False

    def show(self, value: T) -> str:
        return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Text(Kind[str]):
    """A string; `check` may refuse more (raising Invalid or ValueError)."""

    check: Callable[[str], object] | None = None

    @property
    def name(self) -> str:
        return "a string"

    def convert(self, text: str) -> str:
        return _run_check(self.check, text)


def _run_check(check: Callable[[Any], object] | None, value: T) -> T:
    if check is not None:
        try:
            check(value)
        except Invalid:
            raise
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    return value


@dataclass(frozen=True)
class Choice(Kind[str]):
    """One of a few words, case-insensitive, kept upper-case (log levels)."""

    choices: tuple[str, ...]

    @property
    def name(self) -> str:
        return "one of " + ", ".join(self.choices)

    def convert(self, text: str) -> str:
        if text.upper() not in self.choices:
            raise Invalid(f"expected {self.name}, got {text!r}")
        return text.upper()


@dataclass(frozen=True)
class Int(Kind[int]):
    lo: int
    hi: int

    @property
    def name(self) -> str:
        return f"an integer {self.lo}..{self.hi}"

    def convert(self, text: str) -> int:
        if not _INT.fullmatch(text):
            raise Invalid(f"expected {self.name}, got {text!r}")
        return self._in_range(int(text))

    def parse_toml(self, value: object, *, secret: bool) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong_type(self.name, value, secret=secret)
        return self._in_range(value)

    def _in_range(self, value: int) -> int:
        if not self.lo <= value <= self.hi:
            raise Invalid(f"{value} is out of range {self.lo}..{self.hi}")
        return value


@dataclass(frozen=True)
class Seconds(Kind[float]):
    """A duration in seconds (an integer or a decimal number)."""

    lo: float
    hi: float

    @property
    def name(self) -> str:
        return f"seconds {self.lo:g}..{self.hi:g}"

    def convert(self, text: str) -> float:
        if not _FLOAT.fullmatch(text):
            raise Invalid(f"expected {self.name} (a number), got {text!r}")
        return self._in_range(float(text))

    def parse_toml(self, value: object, *, secret: bool) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong_type(self.name, value, secret=secret)
        return self._in_range(float(value))

    def _in_range(self, value: float) -> float:
        if not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise Invalid(f"{value:g} is out of range {self.lo:g}..{self.hi:g} seconds")
        return value


@dataclass(frozen=True)
class FilePath(Kind[Path]):
    """A path; in the config file, relative to the file's directory. `check` may read it."""

    check: Callable[[Path], object] | None = None

    @property
    def name(self) -> str:
        return "a path"

    def convert(self, text: str) -> Path:
        return Path(text)

    def rebase(self, value: Path, base: Path) -> Path:
        return value if value.is_absolute() else base / value

    def finish(self, value: Path) -> Path:
        return _run_check(self.check, value)

    def show(self, value: Path) -> str:
        return json.dumps(str(value), ensure_ascii=False)


@dataclass(frozen=True)
class Url(Kind[str]):
    """A URL with one of `schemes`; its password, if any, is masked when shown."""

    schemes: tuple[str, ...]
    check: Callable[[str], object] | None = None

    @property
    def name(self) -> str:
        return "a URL (" + ", ".join(s + "://" for s in self.schemes) + ")"

    def convert(self, text: str) -> str:
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise Invalid(f"is not a valid URL ({exc})") from None
        if parts.scheme not in self.schemes:
            raise Invalid(f"expected {self.name}, got scheme {parts.scheme or '(none)'!r}")
        if parts.scheme not in _HOSTLESS and not parts.hostname:
            raise Invalid(f"expected {self.name} with a host")
        try:
            return _run_check(self.check, text)
        except Invalid as exc:  # a check's message may quote the URL: not its password
            password = parts.password
            message = str(exc).replace(text, mask_url_password(text))
            raise Invalid(message.replace(password, "…(masked)") if password else message) from None

    def carries_credential(self, value: object) -> bool:
        try:
            return isinstance(value, str) and urlsplit(value).password is not None
        except ValueError:
            return False

    def show(self, value: str) -> str:
        return json.dumps(mask_url_password(value), ensure_ascii=False)


@dataclass(frozen=True)
class Table(Kind[str]):
    """A free-form TOML table (only in the file), kept as canonical JSON text; `check` compiles it.

    `adapt` may rewrite the table first (TOML has no null: a format may say what an absent key means).
    `keep_order` keeps the members in the file's order (where order means something: a routing
    split's members) instead of sorting them.
    """

    check: Callable[[str], object] | None = None
    adapt: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    keep_order: bool = False
    text_form = False

    @property
    def name(self) -> str:
        return "a table"

    def parse_toml(self, value: object, *, secret: bool) -> str:
        if not isinstance(value, dict):
            raise wrong_type(self.name, value, secret=secret)
        if self.adapt is not None:
            value = self.adapt(value)
        try:
            text = json.dumps(value, sort_keys=not self.keep_order, separators=(",", ":"))
        except TypeError:
            raise Invalid("holds a TOML date or time: write it as a string") from None
        return _run_check(self.check, text)

    def convert(self, text: str) -> str:
        raise Invalid("can only be given as a table in the config file")

    def show(self, value: str) -> str:
        return value


@dataclass(frozen=True)
class Items(Generic[T]):
    """A list of `item` values: a TOML array; in flags repeated (`repeat`) or comma-separated."""

    item: Kind[T]
    repeat_flag: bool = True
    min_items: int = 0
    unique: bool = False

    @property
    def name(self) -> str:
        return f"a list of {self.item.name.removeprefix('a ').removeprefix('an ')}s"


# Stripe's secret and restricted keys, in test and live mode: `sk_test_`, `rk_test_`, ...
_STRIPE_KEY_PREFIXES = tuple(f"{kind}_{mode}_" for kind in ("sk", "rk") for mode in ("test", "live"))
PREFIXES = ("whsec_", *_STRIPE_KEY_PREFIXES, "pek_")
"""The only part of a secret ever shown: one of these fixed, well-known prefixes."""


def mask(secret: str) -> str:
    """`whsec_…(masked, 38 chars)`: a known prefix at most, then only the length."""
    prefix = next((p for p in PREFIXES if secret.startswith(p) and len(secret) > len(p)), "")
    return f"{prefix}…(masked, {len(secret)} chars)"


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:…(masked)@{host}"))
