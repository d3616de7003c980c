"""What stripe-python knows about each object class, read from it once (SPEC 10).

stripe-python turns some JSON values into richer ones while it builds an event:
a `decimal_string` field (`price.unit_amount_decimal`, `plan.amount_decimal`,
`checkout.session`'s `fx_rate`...) becomes a `decimal.Decimal`, an
`int64_string` field an `int`, a few fields are plain dicts of objects
(`promotion_code.restrictions.currency_options`) and a few attribute names are
remapped (`in_` for `in`). Which, depends on the class of the object: the class
named by its `"object"` field, else the inner class its parent declares for
the field. A `Shape` holds that knowledge for one class, taken from the class
attributes stripe-python itself reads (`_field_encodings`,
`_inner_class_types`, `_inner_class_dicts`, `_field_remappings`,
`_inner_class_union_variant_types`), so payedge's events give the same values.

Without stripe-python installed there is nothing to mirror: every shape is
`None` and values stay as the JSON has them. stripe-python is only imported
here, lazily, when it is installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

_EMPTY: Final[Mapping[str, Any]] = {}


class Shape:
    """One stripe-python class's field rules (empty mappings where it has none)."""

    __slots__ = ("children", "dict_fields", "encodings", "inner", "remap", "unions")

    def __init__(self, klass: type) -> None:
        self.encodings: Mapping[str, str] = getattr(klass, "_field_encodings", None) or _EMPTY
        self.inner: Mapping[str, type] = getattr(klass, "_inner_class_types", None) or _EMPTY
        self.dict_fields: frozenset[str] = frozenset(getattr(klass, "_inner_class_dicts", None) or ())
        self.remap: Mapping[str, str] = getattr(klass, "_field_remappings", None) or _EMPTY
        self.unions: Mapping[str, tuple[str, Mapping[str, type]]] = (
            getattr(klass, "_inner_class_union_variant_types", None) or _EMPTY
        )
        # field -> its inner class's shape, remembered for fields that are not unions
        self.children: dict[str, Shape | None] = {}

    def child(self, key: str, value: Any) -> Shape | None:
        """`field_class`, remembered per field when the value cannot change it."""
        try:
            return self.children[key]
        except KeyError:
            pass
        shape = self.field_class(key, value)
        if key not in self.unions:
            self.children[key] = shape
        return shape

    def coerce(self, key: str, value: Any) -> Any:
        """`value` as stripe-python stores field `key` (Decimal, int or unchanged)."""
        encoding = self.encodings.get(key)
        if encoding is None or value is None:
            return value
        if encoding == "decimal_string":
            return _coerce_each(value, _to_decimal)
        if encoding == "int64_string":
            return _coerce_each(value, _to_int)
        return value

    def field_class(self, key: str, value: Any) -> Shape | None:
        """The shape stripe-python gives field `key` holding `value`, before the
        value's own `"object"` is looked at: a union variant or the inner class."""
        union = self.unions.get(key)
        if union is not None and type(value) is dict:
            discriminator, variants = union
            tag = value.get(discriminator)
            if isinstance(tag, str):
                variant = variants.get(tag)
                if variant is not None:
                    return of_class(variant)
        inner = self.inner.get(key)
        return None if inner is None else of_class(inner)


def _coerce_each(value: Any, convert: Any) -> Any:
    if isinstance(value, list):
        return [convert(v) for v in value]
    return convert(value)


def _to_decimal(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return Decimal(value)
    except InvalidOperation:
        # stripe-python fails to build the event here; payedge keeps the text
        return value


def _to_int(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        return value


# ---------------------------------------------------------------- lookups

_BY_CLASS: dict[type, Shape] = {}
BY_NAME: dict[str, Shape | None] = {}
"""Shapes by `"object"` name, filled by `of_object`."""


def of_class(klass: type) -> Shape:
    shape = _BY_CLASS.get(klass)
    if shape is None:
        shape = _BY_CLASS[klass] = Shape(klass)
    return shape


def _object_class(name: str) -> type | None:
    """stripe-python's class for an `"object"` name (its `get_object_class`)."""
    try:
        classes = importlib.import_module("stripe._object_classes")
        return getattr(classes, "get_object_class")("V1", name)  # type: ignore[no-any-return]  # noqa: B009
    except (ImportError, AttributeError):
        return None


def of_object(name: str) -> Shape | None:
    """The shape of an object whose `"object"` field is `name` (None without stripe-python)."""
    try:
        return BY_NAME[name]
    except KeyError:
        pass
    klass = _object_class(name) if STRIPE_INSTALLED else None
    shape = BY_NAME[name] = None if klass is None else of_class(klass)
    return shape


def _event_shape() -> Shape | None:
    try:
        from stripe import Event
    except ImportError:
        return None
    return of_class(Event)


EVENT: Final[Shape | None] = _event_shape()
"""The shape of `stripe.Event` (None when stripe-python is not installed)."""

STRIPE_INSTALLED: Final[bool] = EVENT is not None
