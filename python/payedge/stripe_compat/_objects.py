"""Events with stripe-python's access paths over natively parsed JSON (SPEC 10).

`Event` and `StripeObject` are views of the dicts orjson produced: nothing is
built when the event is made; a nested object is wrapped the first time it is
read (and kept, in place of its dict), so an app pays only for the fields it
touches. They answer the paths apps use on a `stripe.Event`: `event.id`,
`event["data"]["object"]`, `event.data.object.amount`, `"metadata" in obj`,
`obj.get(key)`, `to_dict()`, iteration over list objects; and the values are
those stripe-python gives (its Decimal and int coercions included, see
`_shapes`). `Event.to_stripe()` builds the real `stripe.Event` when an app
needs one (API calls on it, `isinstance` checks, typed classes such as
`stripe.PaymentIntent`).

Fields are read through `__getattribute__` (class attributes and `_` names
first, then the JSON): on CPython 3.11 a `__getattr__` fallback costs an
AttributeError per read, twice the time of this path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from payedge.stripe_compat import _shapes
from payedge.stripe_compat._shapes import Shape

if TYPE_CHECKING:
    import stripe

_LIST_OBJECTS: Final = frozenset({"list", "search_result"})
# dict methods apps reach for; `get` is provided, these are not (a Subscription
# has an `items` field that a method would hide)
_DICT_METHODS: Final = frozenset({"keys", "values", "items", "pop", "setdefault"})
_generic = object.__getattribute__
_BY_NAME = _shapes.BY_NAME
_UNSET: Any = object()


class StripeObject:
    """One JSON object of a verified event, read like a `stripe.StripeObject`.

    `obj.field` and `obj["field"]` give the field's value (nested objects as
    `StripeObject`, lists as lists); a missing field raises `AttributeError` or
    `KeyError`; names starting with `_` are never fields, and this class's own
    methods (`get`, `to_dict`...) come before fields of the same name. Fields can
    be set or deleted with item assignment (`obj["k"] = v`); attribute
    assignment is not supported.
    """

    __slots__ = ("_data", "_shape")

    def __init__(self, data: dict[str, Any], shape: Shape | None = None) -> None:
        # the parsed JSON object; a dict or list value is replaced by its built
        # form (a view, a `_Built` list) the first time it is read
        self._data = data
        self._shape = shape

    def __getattribute__(self, name: str) -> Any:
        # the hot path of `event.data.object.amount`: one dict lookup per level
        if name in _OWN_NAMES or name[0] == "_":
            return _generic(self, name)
        data = _data_of(self)
        try:
            value = data[name]
        except KeyError:
            return _missing(self, name)
        kind = type(value)
        if kind is dict or kind is list:
            value = data[name] = _field(_shape_of(self), name, value)
        return value

    def __getitem__(self, key: str) -> Any:
        data = _data_of(self)
        value = data[key]
        kind = type(value)
        if kind is dict or kind is list:
            value = data[key] = _field(_shape_of(self), key, value)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """`obj[key]`, or `default` when the field is absent."""
        if key in _data_of(self):
            return self[key]
        return default

    def __contains__(self, key: object) -> bool:
        return key in _data_of(self)

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, str) and value == "":
            # stripe-python's rule: "" means "unset" in its API requests
            raise ValueError(f"You cannot set {key} to an empty string on this object.")
        _data_of(self)[key] = value

    def __delitem__(self, key: str) -> None:
        del _data_of(self)[key]

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            f"{type(self).__name__} is not iterable or a mapping; call .to_dict() for a plain dict."
        )

    def to_dict(self, recursive: bool = True, for_json: bool = False) -> dict[str, Any]:
        """The fields as a new dict: nested objects as dicts too unless
        `recursive=False` (then they stay objects); `for_json=True` gives Decimals
        as strings."""
        keys = list(_data_of(self))
        if not recursive:
            return {key: self[key] for key in keys}
        return {key: _plain(self[key], for_json) for key in keys}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StripeObject):
            return type(self) is type(other) and self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like stripe.StripeObject

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, default=_json_default)

    def __repr__(self) -> str:
        data = _data_of(self)
        ident = [type(self).__name__]
        kind = data.get("object")
        if isinstance(kind, str):
            ident.append(kind)
        ident_id = data.get("id")
        if isinstance(ident_id, str):
            ident.append(f"id={ident_id}")
        return f"<{' '.join(ident)} at {hex(id(self))}> JSON: {self}"

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as plain data (no stripe-python classes inside); rebuilt lazily
        return (_rebuild, (type(self), self.to_dict()))


class ListObject(StripeObject):
    """A list object (`"object": "list"` or `"search_result"`): iterating it,
    `len()` and `reversed()` go over its `data`, as with stripe-python's."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        if isinstance(key, str):
            return StripeObject.__getitem__(self, key)
        raise KeyError(
            f"You tried to access the {key!r} index, but ListObject types only support string keys. "
            f"(HINT: List calls return an object with a 'data' (which is the data array). "
            f"You likely want to call .data[{key!r}])"
        )

    def _items(self) -> list[Any]:
        items = self.get("data")
        return items if isinstance(items, list) else []

    def __iter__(self) -> Iterator[Any]:
        items: list[Any] = self._items()
        return iter(items)

    def __len__(self) -> int:
        return len(self._items())

    def __reversed__(self) -> Iterator[Any]:
        items: list[Any] = self._items()
        return iter(items[::-1])

    @property
    def is_empty(self) -> bool:
        return not self._items()


class Event(StripeObject):
    """A verified Stripe event: what `payedge.stripe_compat.construct_event` returns."""

    __slots__ = ("_api_key", "_requestor")
    _api_key: str | None
    _requestor: object | None

    def to_stripe(self) -> stripe.Event:
        """A real `stripe.Event` with the same content, built by stripe-python's own
        constructor (`Event.construct_from`, or with the `api_requestor` given to
        `construct_event`). Needs stripe-python; each call builds a new one."""
        import stripe

        values = self.to_dict()
        requestor = getattr(self, "_requestor", None)
        if requestor is not None:
            return stripe.Event._construct_from(values=values, requestor=requestor, api_mode="V1")
        return stripe.Event.construct_from(values, getattr(self, "_api_key", None) or stripe.api_key)


# every name the views answer themselves (methods, properties, dunders)
_OWN_NAMES: Final = frozenset(dir(Event)) | frozenset(dir(ListObject))
_data_of = StripeObject.__dict__["_data"].__get__
_shape_of = StripeObject.__dict__["_shape"].__get__


def _missing(obj: StripeObject, name: str) -> Any:
    shape = _shape_of(obj)
    # stripe-python's remapped names (`in_` for `in`), once the name itself is not a field
    target = shape.remap.get(name) if shape is not None else None
    if target is not None and target in _data_of(obj):
        return obj[target]
    if name in _DICT_METHODS:
        raise AttributeError(
            f"'{name}' is a dict method, but a {type(obj).__name__} is not a dict. "
            "Use .to_dict() to convert it."
        )
    raise AttributeError(name)


def make_event(data: dict[str, Any], api_key: str | None = None, requestor: object | None = None) -> Event:
    """The `Event` over `data` (a parsed JSON object, which it takes over)."""
    event = Event(data, _shapes.EVENT)
    if _shapes.EVENT is not None and _shapes.EVENT.encodings:
        _coerce_fields(data, _shapes.EVENT)
    if api_key is not None:
        event._api_key = api_key
    if requestor is not None:
        event._requestor = requestor
    return event


def _rebuild(view: type[StripeObject], data: dict[str, Any]) -> StripeObject:
    if view is Event:
        return view(data, _shapes.EVENT)
    name = data.get("object")
    return view(data, _shapes.of_object(name) if isinstance(name, str) else None)


# ---------------------------------------------------------------- building values


class _Built(list[Any]):
    """A list whose items are already built (views for objects): read again as is."""

    __slots__ = ()


class _BuiltDict(dict[str, Any]):
    """A field stripe-python keeps as a dict of objects (`_inner_class_dicts`), built."""

    __slots__ = ()


def _field(shape: Shape | None, key: str, value: Any) -> Any:
    """Field `key`'s value (a dict or list) as stripe-python builds it (its
    `_refresh_from`): the class its own `"object"` names, else the inner class
    `shape` declares for `key`. Scalars were coerced when their object's view
    was made. One function, few calls: this runs on the first read of a field."""
    inner = None
    if shape is not None:
        inner = shape.children.get(key, _UNSET)
        if inner is _UNSET:
            inner = shape.child(key, value)
        if type(value) is dict and key in shape.dict_fields:
            return _BuiltDict({k: None if v is None else _convert(v, inner) for k, v in value.items()})
    if type(value) is not dict:
        return _Built([_convert(item, inner) for item in value])
    name = value.get("object")
    if type(name) is str:
        inner = _BY_NAME[name] if name in _BY_NAME else _shapes.of_object(name)
        if name in _LIST_OBJECTS:
            return _view(ListObject, value, inner)
    if inner is not None and inner.encodings:
        _coerce_fields(value, inner)
    return StripeObject(value, inner)


def _convert(value: Any, inner: Shape | None) -> Any:
    """A list item (or an item of a dict field) as stripe-python converts it."""
    kind = type(value)
    if kind is dict:
        name = value.get("object")
        view: type[StripeObject] = StripeObject
        if type(name) is str:
            inner = _shapes.of_object(name)
            if name in _LIST_OBJECTS:
                view = ListObject
        return _view(view, value, inner)
    if kind is list or kind is _Built:
        return _Built([_convert(item, inner) for item in value])
    return value


def _view(view: type[StripeObject], data: dict[str, Any], shape: Shape | None) -> StripeObject:
    if shape is not None and shape.encodings:
        _coerce_fields(data, shape)
    return view(data, shape)


def _coerce_fields(data: dict[str, Any], shape: Shape) -> None:
    """stripe-python's field encodings (`decimal_string` -> Decimal...), in place."""
    for key in shape.encodings:
        if key in data:
            data[key] = shape.coerce(key, data[key])


def _plain(value: Any, for_json: bool) -> Any:
    if isinstance(value, StripeObject):
        return value.to_dict(True, for_json)
    if isinstance(value, list):
        return [_plain(item, for_json) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, for_json) for key, item in value.items()}
    if for_json and isinstance(value, Decimal):
        return str(value)
    return value


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
