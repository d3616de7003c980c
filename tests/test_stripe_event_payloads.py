"""parse_stripe_event on signed payloads of any content (issue 16, item 1).

What the signature proves, payedge acknowledges: a correctly signed payload
never raises SignatureError; one that cannot be an event (not JSON, not an
object, ``id``/``type`` missing or not strings, ``created`` not an integer)
raises PayloadError naming the field; anything else is an event whose readable
fields equal a plain-Python reading of the same JSON (``json.loads``, as
stripe-python reads events) and whose ``malformed`` lists exactly the fields of
the wrong type.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import payedge
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SECRET = "whsec_payload_tests"
NOW = 1_763_700_000
I64 = range(-(2**63), 2**63)


def sign(body: bytes) -> str:
    return payedge.sign_stripe(body, SECRET, NOW)


def parse(body: bytes) -> payedge.StripeEvent:
    return payedge.parse_stripe_event(body, sign(body), SECRET, now=NOW)


# ------------------------------------------------------------------ the reference


@dataclass(frozen=True)
class Refused:
    param: str


@dataclass(frozen=True)
class Reading:
    id: str
    type: str
    created: int
    livemode: bool
    object_id: str | None
    object_type: str | None
    amount: int | None
    amount_received: int | None
    currency: str | None
    status: str | None
    metadata: dict[str, str]
    malformed: list[str]


def _int(value: Any) -> bool:
    return type(value) is int and value in I64


def reference(body: bytes) -> Refused | Reading:
    """The fields payedge reads, read in plain Python from ``json.loads``."""
    try:
        event = json.loads(body.decode("utf-8"))
    except ValueError:
        return Refused("payload")
    if not isinstance(event, dict):
        return Refused("payload")
    for name in ("id", "type"):
        if not isinstance(event.get(name), str):
            return Refused(name)
    if not _int(event.get("created")):
        return Refused("created")
    malformed: list[str] = []

    def read(container: dict[str, Any], name: str, path: str, ok: Any) -> Any:
        value = container.get(name)
        if value is None:
            return None
        if ok(value):
            return value
        malformed.append(path)
        return None

    livemode = read(event, "livemode", "livemode", lambda v: isinstance(v, bool)) or False
    data = read(event, "data", "data", lambda v: isinstance(v, dict)) or {}
    obj = read(data, "object", "data.object", lambda v: isinstance(v, dict)) or {}
    fields: dict[str, Any] = {}
    for name in ("id", "object", "amount", "amount_received", "currency", "status"):
        ok = _int if name.startswith("amount") else (lambda v: isinstance(v, str))
        fields[name] = read(obj, name, f"data.object.{name}", ok)
    raw_meta = read(obj, "metadata", "data.object.metadata", lambda v: isinstance(v, dict)) or {}
    metadata = {}
    for key, value in raw_meta.items():
        if isinstance(value, str):
            metadata[key] = value
        else:
            malformed.append(f"data.object.metadata.{key}")
    return Reading(
        event["id"],
        event["type"],
        event["created"],
        livemode,
        fields["id"],
        fields["object"],
        fields["amount"],
        fields["amount_received"],
        fields["currency"],
        fields["status"],
        metadata,
        malformed,
    )


def reading_of(event: payedge.StripeEvent) -> Reading:
    return Reading(
        event.id,
        event.type,
        event.created,
        event.livemode,
        event.object_id,
        event.object_type,
        event.amount,
        event.amount_received,
        event.currency,
        event.status,
        event.metadata,
        event.malformed,
    )


def check(body: bytes) -> None:
    want = reference(body)
    try:
        got: Refused | Reading = reading_of(parse(body))
    except payedge.SignatureError as exc:  # pragma: no cover - the failure this file guards
        raise AssertionError(f"a signed payload raised SignatureError: {exc!r}") from exc
    except payedge.PayloadError as exc:
        assert exc.code == "invalid_payload"
        assert isinstance(exc, ValueError) and isinstance(exc, payedge.PayedgeError)
        got = Refused(str(exc.param))
    assert got == want, body[:300]


# ------------------------------------------------------------------ JSON text with every oddity


@dataclass(frozen=True)
class Obj:
    """A JSON object as written: pairs in order, a key may repeat (the last counts)."""

    pairs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Num:
    """A number token written as is: 1e400, -0, 2E3, 40-digit integers..."""

    text: str


def write(value: Any, ascii_only: bool, space: str) -> str:
    if isinstance(value, Obj):
        items = (
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{space}{write(v, ascii_only, space)}"
            for k, v in value.pairs
        )
        return "{" + f",{space}".join(items) + "}"
    if isinstance(value, list):
        return "[" + f",{space}".join(write(v, ascii_only, space) for v in value) + "]"
    if isinstance(value, Num):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return "1e999" if value > 0 else "-1e999"
    return json.dumps(value, ensure_ascii=ascii_only)


TEXT = st.text(max_size=12)
KEY = st.one_of(
    st.sampled_from(
        ["id", "type", "created", "livemode", "data", "object", "amount", "status", "metadata", "value"]
    ),
    st.text(max_size=6),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from([Num("1e400"), Num("-1e400"), Num("-0"), Num("2E3"), Num("1.0"), Num("9" * 40)]),
)
LEAF = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
ANY_JSON = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(KEY, inner), max_size=5).map(lambda kv: Obj(tuple(kv))),
    ),
    max_leaves=20,
)


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of `options`, each as likely as its weight."""
    choices = [strategy for weight, strategy in options for _ in range(weight)]
    return st.integers(min_value=0, max_value=len(choices) - 1).flatmap(lambda i: choices[i])


def field(good: st.SearchStrategy[Any], weight: int = 6) -> st.SearchStrategy[tuple[Any, ...]]:
    """A field's value(s): mostly of its type, else null or anything; sometimes absent or twice."""
    one = weighted((weight, good), (1, st.none()), (2, ANY_JSON))
    return weighted(
        (weight, one.map(lambda v: (v,))),
        (1, st.just(())),
        (1, st.tuples(one, one)),  # a repeated key: the last counts
    )


def obj(**fields: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[Obj]:
    extra = st.lists(st.tuples(KEY, ANY_JSON), max_size=3)

    @st.composite
    def build(draw: st.DrawFn) -> Obj:
        pairs = [(name, v) for name, strategy in fields.items() for v in draw(strategy)]
        pairs += draw(extra)
        return Obj(tuple(draw(st.permutations(pairs))))

    return build()


METADATA = st.lists(st.tuples(st.text(max_size=8), st.one_of(TEXT, TEXT, ANY_JSON)), max_size=6).map(
    lambda kv: Obj(tuple(kv))
)
OBJECT = obj(
    id=field(TEXT),
    object=field(st.sampled_from(["payment_intent", "charge"])),
    amount=field(st.integers(min_value=0, max_value=10**9)),
    amount_received=field(st.integers(min_value=0, max_value=10**9)),
    currency=field(st.sampled_from(["eur", "usd", "xof"])),
    status=field(st.sampled_from(["succeeded", "processing"])),
    metadata=field(METADATA),
)
EVENT = obj(
    id=field(st.text(min_size=1, max_size=20), weight=40),
    type=field(st.sampled_from(["payment_intent.succeeded", "charge.refunded"]), weight=40),
    created=field(st.integers(min_value=0, max_value=2**40), weight=40),
    livemode=field(st.booleans()),
    data=field(obj(object=field(OBJECT))),
)


@settings(max_examples=400, deadline=None)
@given(
    doc=st.one_of(EVENT, EVENT, EVENT, ANY_JSON),
    ascii_only=st.booleans(),
    space=st.sampled_from(["", " ", "\n  "]),
)
def test_signed_payloads_read_like_plain_python(doc: Any, ascii_only: bool, space: str) -> None:
    check(write(doc, ascii_only, space).encode())


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_signed_bytes_of_any_kind_never_raise_signature_error(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        # Stripe signs text: a non-UTF-8 body fails verification itself (as in stripe-python)
        with pytest.raises(payedge.SignatureError) as err:
            parse(body)
        assert (err.value.code, err.value.param) == ("invalid_payload", "payload")
        return
    check(body)


# ------------------------------------------------------------------ the shapes of issue 16


def event_with(obj: dict[str, Any], **top: Any) -> bytes:
    doc = {"id": "evt_16", "type": "payment_intent.succeeded", "created": NOW, "data": {"object": obj}}
    return json.dumps(doc | top).encode()


@pytest.mark.parametrize(
    ("obj", "malformed"),
    [
        ({"metadata": {"a": 1, "order": "o-1"}}, ["data.object.metadata.a"]),
        ({"amount": {"value": 100, "currency": "usd"}}, ["data.object.amount"]),
        ({"status": {"type": "succeeded"}}, ["data.object.status"]),
        (
            {"currency": ["usd"], "amount_received": 12.5},
            ["data.object.amount_received", "data.object.currency"],
        ),
        ({"id": 7, "object": None}, ["data.object.id"]),
        ({"metadata": "order=1"}, ["data.object.metadata"]),
    ],
)
def test_newer_object_shapes_are_acknowledged_and_flagged(obj: dict[str, Any], malformed: list[str]) -> None:
    event = parse(event_with({"id": "pi_1", **obj}))
    assert (event.id, event.type, event.created) == ("evt_16", "payment_intent.succeeded", NOW)
    assert event.malformed == malformed
    assert "malformed=" in repr(event)
    for path in malformed:
        name = path.split(".")[2]
        if name != "metadata":
            assert getattr(event, {"id": "object_id", "object": "object_type"}.get(name, name)) is None
    if obj.get("metadata") == {"a": 1, "order": "o-1"}:
        assert event.metadata == {"order": "o-1"}


def test_refusals_name_the_field_and_are_not_signature_errors() -> None:
    for body, param in [
        (b"", "payload"),
        (b"[]", "payload"),
        (b"1e400", "payload"),
        (b'{"type": "t", "created": 1}', "id"),
        (b'{"id": ["evt"], "type": "t", "created": 1}', "id"),
        (b'{"id": "evt", "type": null, "created": 1}', "type"),
        (b'{"id": "evt", "type": "t", "created": "1"}', "created"),
        (b'{"id": "evt", "type": "t", "created": 99999999999999999999}', "created"),
    ]:
        with pytest.raises(payedge.PayloadError) as err:
            parse(body)
        assert (err.value.code, err.value.param) == ("invalid_payload", param)
        assert param in str(err.value) or param == "payload"


def test_deep_nesting_and_huge_numbers_are_skipped() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    head = '{"id": "evt", "type": "t", "created": 1, "x": DEEP, "n": 1e999999,'
    tail = ' "data": {"object": {"amount": DEEP, "metadata": {"k": DEEP}}}}'
    body = (head + tail).replace("DEEP", deep).encode()
    event = parse(body)
    assert event.malformed == ["data.object.amount", "data.object.metadata.k"]


def test_a_bad_signature_is_still_a_signature_error() -> None:
    body = event_with({"amount": {"value": 1}})
    with pytest.raises(payedge.SignatureError) as err:
        payedge.parse_stripe_event(body + b" ", sign(body), SECRET, now=NOW)
    assert err.value.code == "signature_mismatch"
