"""payedge's Stripe verification against stripe-python's, verdict for verdict.

The oracle is the installed `stripe.WebhookSignature.verify_header`, run on the
same payload, header, secret, tolerance and clock (its module's `time` is
replaced by a clock the test sets: that is the only thing it does not do for
real). Several secrets: payedge accepts iff stripe accepts with at least one.
Where stripe's `int()` would take an odd `t` (sign, `_`, whitespace, non-ASCII
digits), payedge must reject (SPEC 2.1); everywhere else the verdicts, and the
kind of rejection, must be the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import payedge
import pytest
import stripe
import stripe._webhook as stripe_webhook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stripe import SignatureVerificationError
from stripe._webhook import WebhookSignature

from tests.support.stripe_events import ONE_KB_EVENT, SECRET, payment_intent_event

# ------------------------------------------------------------------ the oracle


class _Clock:
    """Replaces the `time` module inside stripe._webhook during a test."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now


@contextmanager
def stripe_clock() -> Iterator[_Clock]:
    clock = _Clock()
    namespace = vars(stripe_webhook)
    saved = namespace["time"]
    namespace["time"] = clock
    try:
        yield clock
    finally:
        namespace["time"] = saved


# The kinds of rejection, named by what each side says.
_STRIPE_KINDS = {
    "No Stripe-Signature header value": "missing",
    "No webhook secret": "secret",
    "Unable to extract timestamp": "malformed",
    "No signatures found with expected scheme": "no_signatures",
    "No signatures found matching": "mismatch",
    "Timestamp outside the tolerance zone": "tolerance",
}
_PAYEDGE_KINDS = {
    "missing_header": "missing",
    "invalid_secret": "secret",
    "no_timestamp": "malformed",
    "malformed_header": "malformed",
    "no_signatures": "no_signatures",
    "signature_mismatch": "mismatch",
    "timestamp_outside_tolerance": "tolerance",
}
ACCEPT = "accept"


def stripe_kind(payload: bytes, header: str, secret: str, tolerance: int | None) -> str:
    try:
        WebhookSignature.verify_header(payload, header, secret, tolerance)
    except SignatureVerificationError as exc:
        message = str(exc)
        return next(kind for prefix, kind in _STRIPE_KINDS.items() if message.startswith(prefix))
    except TypeError:
        # hmac.compare_digest refuses non-ASCII text: the header is unusable
        return "malformed"
    return ACCEPT


def stripe_verdict(payload: bytes, header: str, secrets: Sequence[str], tolerance: int | None) -> str:
    kinds = [stripe_kind(payload, header, s, tolerance) for s in secrets]
    if ACCEPT in kinds:
        return ACCEPT
    if "tolerance" in kinds:  # one secret matched, but too late
        return "tolerance"
    assert len(set(kinds)) == 1, kinds  # every other rejection is the header's, not the secret's
    return kinds[0]


def payedge_kind(result: int | payedge.SignatureError) -> str:
    if isinstance(result, payedge.SignatureError):
        assert result.code in _PAYEDGE_KINDS, result.code
        assert result.param == "header" or result.code == "invalid_secret", (result.code, result.param)
        return _PAYEDGE_KINDS[result.code]
    return ACCEPT


def payedge_verify(
    payload: bytes, header: str, secrets: Sequence[str], tolerance: int | None, now: int
) -> int | payedge.SignatureError:
    try:
        return payedge.verify_stripe(payload, header, list(secrets), tolerance=tolerance, now=now)
    except payedge.SignatureError as exc:
        return exc


def python_first_t(header: str) -> str | None:
    """The `t` value stripe-python would hand to int(), if it gets that far."""
    try:
        items = [i.split("=", 2) for i in header.split(",")]
        values = [i[1] for i in items if i[0] == "t"]
    except IndexError:
        return None
    return values[0] if values else None


def is_plain_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def hex_signature(secret: str, timestamp: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256).hexdigest()


@dataclass
class Tally:
    """What a differential run covered."""

    counts: Counter[str]

    def add(self, kind: str) -> None:
        self.counts["cases"] += 1
        self.counts[kind] += 1


def check_headers(
    tally: Tally,
    payload: bytes,
    headers: Sequence[str],
    secrets: Sequence[str],
    *,
    tolerance: int | None,
    now: int,
) -> None:
    """Every header: same verdict single and batched, same as stripe's on the spec's domain."""
    batch = payedge.verify_stripe_many(
        [(payload, h) for h in headers], list(secrets), tolerance=tolerance, now=now
    )
    with stripe_clock() as clock:
        clock.now = float(now)
        for header, batched in zip(headers, batch, strict=True):
            single = payedge_verify(payload, header, secrets, tolerance, now)
            ours = payedge_kind(single)
            assert payedge_kind(batched) == ours, (header, single, batched)
            if not isinstance(single, payedge.SignatureError):
                assert batched == single
            theirs = stripe_verdict(payload, header, secrets, tolerance)
            first_t = python_first_t(header)
            if first_t is not None and not is_plain_digits(first_t):
                # an odd `t` (whether int() takes it or not): payedge rejects it (SPEC 2.1)
                assert ours == "malformed", (header, single)
                tally.add("odd_t_rejected" if theirs == ACCEPT else "odd_t_both_reject")
                continue
            assert ours == theirs, f"header={header!r} secrets={secrets!r} tol={tolerance} now={now}"
            if ours == ACCEPT:
                assert first_t is not None
                assert single == int(first_t), (single, first_t)
            tally.add(ours)


# ------------------------------------------------------------------ strategies

TS = st.integers(min_value=0, max_value=4_000_000_000)
SECRETS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40).map(
    lambda s: s if s.strip(" \t\r\n\f\v") else "whsec_" + s
)
PAYLOADS = st.one_of(
    st.text(max_size=200).map(str.encode),
    st.just(ONE_KB_EVENT),
    st.just(b""),
)
TOLERANCES = st.one_of(st.sampled_from([None, 0, 300]), st.integers(min_value=1, max_value=10**6))
ODD_T = [
    " {t}",
    "{t} ",
    "\t{t}",
    "{t}\n",
    "+{t}",
    "-{t}",
    "{t_}",
    "\u0661\u0662{t}",
    "{t}\u0663",
    "{t}.0",
    "1e3",
    "0x1f",
    "",
    "abc",
]
NOISE_ALPHABET = "tv01=, \t" + string.hexdigits + "xé"


def noise(rnd: random.Random) -> str:
    return "".join(rnd.choice(NOISE_ALPHABET) for _ in range(rnd.randint(0, 12)))


def _typo(rnd: random.Random, sig: str) -> str:
    i = rnd.randrange(len(sig))
    return f"v1={sig[:i]}{rnd.choice('0af9')}{sig[i + 1 :]}"


# One `,`-separated header item each: valid, mutated, or junk; some forms are weighted by repetition.
ItemMaker = Callable[[random.Random, int, str], str]
_ITEMS: tuple[ItemMaker, ...] = (
    lambda rnd, ts, sig: f"t={ts}",
    lambda rnd, ts, sig: f"t={ts}",
    lambda rnd, ts, sig: f"t={'0' * rnd.randint(1, 5)}{ts}",
    lambda rnd, ts, sig: f"t={ts + rnd.choice([-400, -1, 1, 7, 400])}",
    lambda rnd, ts, sig: "t=" + odd_t(rnd, str(ts)),
    lambda rnd, ts, sig: "t=" + "".join(rnd.choice(string.digits) for _ in range(rnd.randint(19, 45))),
    lambda rnd, ts, sig: f"t={ts}={noise(rnd)}",
    lambda rnd, ts, sig: rnd.choice(["t", "v1", "", "=", "==", "t1=2", "T", "V1"]),
    lambda rnd, ts, sig: f"v1={sig}",
    lambda rnd, ts, sig: f"v1={sig}",
    lambda rnd, ts, sig: f"v1={sig}",
    lambda rnd, ts, sig: f"v1={sig.upper()}",
    lambda rnd, ts, sig: _typo(rnd, sig),
    lambda rnd, ts, sig: f"v1={sig}={noise(rnd)}",
    lambda rnd, ts, sig: rnd.choice(["v1= {s}", " v1={s}", "v1={s} ", "v1 ={s}"]).format(s=sig),
    lambda rnd, ts, sig: f"v1={sig[: rnd.randint(0, 63)]}",
    lambda rnd, ts, sig: rnd.choice(["v1=é", "v1=\u00e9" + sig[1:], "v1=\U0001f600"]),
    lambda rnd, ts, sig: f"v0={sig}",
    lambda rnd, ts, sig: rnd.choice(["v2", "V1", "T", "t ", " t", "x", "v1v1", "tt"]) + "=" + sig,
    lambda rnd, ts, sig: f"v1={sig}{rnd.choice(['0', 'a', '=', ','])}",
    lambda rnd, ts, sig: f"t={ts}",
    lambda rnd, ts, sig: noise(rnd),
)


def header_item(rnd: random.Random, ts: int, sigs: Sequence[str]) -> str:
    """One `,`-separated item: valid, mutated, or junk (hypothesis seeds `rnd`)."""
    sig = rnd.choice(sigs)
    return rnd.choice(_ITEMS)(rnd, ts, sig)


def odd_t(rnd: random.Random, t: str) -> str:
    underscored = t[:1] + "_" + t[1:] if len(t) > 1 else t + "_0"
    return rnd.choice(ODD_T).format(t=t, t_=underscored)


def mutated_header(rnd: random.Random, ts: int, sigs: Sequence[str]) -> str:
    items = [header_item(rnd, ts, sigs) for _ in range(rnd.randint(1, 6))]
    if rnd.random() < 0.5:
        # a valid pair somewhere (sometimes behind an odd `t`), so that acceptances are common
        items.insert(rnd.randint(0, len(items)), f"v1={sigs[0]}")
        items.insert(0, "t=" + (odd_t(rnd, str(ts)) if rnd.random() < 0.15 else str(ts)))
    return rnd.choice([",", ",", ",", ", "]).join(items)


@st.composite
def stripe_cases(draw: st.DrawFn) -> tuple[bytes, list[str], list[str], int | None, int]:
    payload = draw(PAYLOADS)
    signer = draw(SECRETS)
    others = [s if s != signer else s + "x" for s in draw(st.lists(SECRETS, min_size=1, max_size=2))]
    secrets = draw(st.sampled_from([[signer], [others[0], signer], [signer, *others], others, [others[0]]]))
    ts = draw(TS)
    signed_at = draw(st.sampled_from([ts, ts, ts, ts + 1]))
    sigs = [hex_signature(signer, str(signed_at), payload), hex_signature(others[0], str(ts), payload)]
    rnd = random.Random(draw(st.integers(min_value=0, max_value=2**64)))
    headers = [mutated_header(rnd, ts, sigs) for _ in range(HEADERS_PER_EXAMPLE)]
    tolerance = draw(TOLERANCES)
    if draw(st.booleans()) and tolerance:
        now = ts + tolerance + draw(st.integers(-2, 2))  # around the boundary
    else:
        now = ts + draw(st.integers(-1_000, 1_000))
    return payload, headers, secrets, tolerance, now


HEADERS_PER_EXAMPLE = 16


# ------------------------------------------------------------------ the tests


def test_differential_mutated_headers() -> None:
    tally = Tally(Counter())

    @settings(
        max_examples=700,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(stripe_cases())
    def run(case: tuple[bytes, list[str], list[str], int | None, int]) -> None:
        payload, headers, secrets, tolerance, now = case
        check_headers(tally, payload, headers, secrets, tolerance=tolerance, now=now)

    run()
    counts = tally.counts
    assert counts["cases"] >= 10_000, counts
    # the run must cover every verdict, not only the easy ones
    for kind in (ACCEPT, "malformed", "no_signatures", "mismatch", "tolerance", "odd_t_rejected"):
        assert counts[kind] >= 50, counts


def test_differential_arbitrary_text_headers() -> None:
    tally = Tally(Counter())
    sig = hex_signature("whsec_x", "5", b"p")
    alphabet = "tv01=, " + sig[:6] + "é\u0661_+-"

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.one_of(st.text(alphabet=alphabet, max_size=40), st.just(f"t=5,v1={sig}")),
            min_size=8,
            max_size=8,
        ),
        TOLERANCES,
    )
    def run(headers: list[str], tolerance: int | None) -> None:
        check_headers(tally, b"p", headers, ["whsec_x"], tolerance=tolerance, now=300)

    run()
    assert tally.counts["cases"] >= 2_000, tally.counts


@pytest.mark.parametrize("tolerance", [None, 0, 300])
def test_tolerance_boundary_matches_stripe(tolerance: int | None) -> None:
    payload = ONE_KB_EVENT
    ts = 1_763_700_000
    header = WebhookSignature.generate_signature_header(payload.decode(), SECRET, ts)
    tally = Tally(Counter())
    for delta in range(-3, 4):
        check_headers(tally, payload, [header], [SECRET], tolerance=tolerance, now=ts + 300 + delta)
        check_headers(tally, payload, [header], [SECRET], tolerance=tolerance, now=ts - 10**6 + delta)
    assert tally.counts["cases"] == 14
    if tolerance:
        assert tally.counts["tolerance"] == 3  # t < now - 300 once now > ts + 300


def test_timestamp_digit_limit_matches_pythons_int() -> None:
    tally = Tally(Counter())
    for digits in (4299, 4300, 4301):
        t = "1" + "0" * (digits - 1)
        header = f"t={t},v1={hex_signature(SECRET, t, b'{}')}"
        check_headers(tally, b"{}", [header], [SECRET], tolerance=300, now=1_763_700_000)
    assert tally.counts == Counter(cases=3, accept=2, malformed=1)
    # the accepted ones come back as exact Python ints
    t = "9" * 30
    header = f"t=000{t},v1={hex_signature(SECRET, t, b'{}')}"
    assert payedge.verify_stripe(b"{}", header, SECRET) == int(t)


def test_sign_stripe_matches_stripe_python() -> None:
    for ts in (0, 1, 1_763_700_000, 2**40):
        ours = payedge.sign_stripe(ONE_KB_EVENT, SECRET, ts)
        assert ours == WebhookSignature.generate_signature_header(ONE_KB_EVENT.decode(), SECRET, ts)
        assert payedge.verify_stripe(ONE_KB_EVENT, ours, SECRET, tolerance=None) == ts


def test_rotation_accepts_any_listed_secret() -> None:
    header = payedge.sign_stripe(b"{}", "whsec_old", 1_763_700_000)
    now = 1_763_700_010
    assert payedge.verify_stripe(b"{}", header, ("whsec_new", "whsec_old"), now=now) == 1_763_700_000
    with pytest.raises(payedge.SignatureError) as err:
        payedge.verify_stripe(b"{}", header, ["whsec_new"], now=now)
    assert (err.value.code, err.value.param) == ("signature_mismatch", "header")


def test_default_clock_is_the_wall_clock() -> None:
    import time

    fresh = payedge.sign_stripe(b"{}", SECRET, int(time.time()))
    assert payedge.verify_stripe(b"{}", fresh, SECRET) > 0
    stale = payedge.sign_stripe(b"{}", SECRET, int(time.time()) - 600)
    with pytest.raises(payedge.SignatureError) as err:
        payedge.verify_stripe(b"{}", stale, SECRET)
    assert err.value.code == "timestamp_outside_tolerance"
    assert payedge.verify_stripe(b"{}", stale, SECRET, tolerance=None) > 0


# ------------------------------------------------------------------ parse_stripe_event

METADATA = st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=4)


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=2**53),
    currency=st.sampled_from(["eur", "usd", "jpy", "xof", "kwd"]),
    metadata=METADATA,
    event_id=st.text(alphabet=string.ascii_letters + string.digits + '_"\\é', min_size=1, max_size=30),
    indent=st.sampled_from([None, 2]),
)
def test_parse_stripe_event_agrees_with_construct_event(
    amount: int, currency: str, metadata: dict[str, str], event_id: str, indent: int | None
) -> None:
    body = payment_intent_event(event_id=event_id, amount=amount, currency=currency, metadata=metadata)
    payload = json.dumps(body, indent=indent).encode()
    ts = body["created"]
    header = payedge.sign_stripe(payload, SECRET, ts)
    with stripe_clock() as clock:
        clock.now = float(ts + 5)
        theirs = stripe.Webhook.construct_event(payload, header, SECRET)
    ours = payedge.parse_stripe_event(payload, header, [SECRET], now=ts + 5)
    obj = theirs.data.object
    assert (ours.id, ours.type, ours.created, ours.livemode) == (
        theirs.id,
        theirs.type,
        theirs.created,
        theirs.livemode,
    )
    assert (ours.object_id, ours.object_type, ours.amount, ours.amount_received) == (
        obj.id,
        obj.object,
        obj.amount,
        obj.amount_received,
    )
    assert (ours.currency, ours.status) == (obj.currency, obj.status)
    assert ours.metadata == metadata == json.loads(payload)["data"]["object"]["metadata"]
    assert ours.raw == payload


def test_parse_stripe_event_fields_and_errors() -> None:
    now = 1_763_700_010
    header = payedge.sign_stripe(ONE_KB_EVENT, SECRET, 1_763_700_000)
    event = payedge.parse_stripe_event(ONE_KB_EVENT, header, SECRET, now=now)
    assert isinstance(event, payedge.StripeEvent)
    assert event.raw is ONE_KB_EVENT  # the caller's bytes, not a copy
    assert event.metadata == {"order_id": "ord_8812", "site": "lot-b"}
    assert event.metadata is not event.metadata  # a fresh dict each time: the event stays frozen
    assert repr(event).startswith("StripeEvent(id='evt_3PqRsTuVwXyZ0123abcdEFGH', type='payment_intent")
    with pytest.raises(AttributeError):
        event.amount = 1  # type: ignore[misc]
    copied = payedge.parse_stripe_event(bytearray(ONE_KB_EVENT), header, SECRET, now=now)
    assert copied.raw == ONE_KB_EVENT and copied.id == event.id
    # verification comes first: a bad signature is never parsed
    with pytest.raises(payedge.SignatureError) as err:
        payedge.parse_stripe_event(b'{"id": 1}', header, SECRET, now=now)
    assert err.value.code == "signature_mismatch"
    # a valid signature over something that is not an event: a PayloadError naming the field,
    # never a SignatureError (tests/test_stripe_event_payloads.py covers every kind)
    for body, param in (
        (b"[]", "payload"),
        (b"not json", "payload"),
        (b'{"id": "evt", "type": "x", "created": 1.5}', "created"),
        (b"{}", "id"),
    ):
        signed = payedge.sign_stripe(body, SECRET, 1_763_700_000)
        with pytest.raises(payedge.PayloadError) as perr:
            payedge.parse_stripe_event(body, signed, SECRET, now=now)
        assert (perr.value.code, perr.value.param) == ("invalid_payload", param)
        assert not isinstance(perr.value, payedge.SignatureError)
    minimal = b'{"id": "evt_1", "type": "balance.available", "created": 7}'
    signed = payedge.sign_stripe(minimal, SECRET, 1_763_700_000)
    event = payedge.parse_stripe_event(minimal, signed, SECRET, now=now)
    assert (event.object_id, event.amount, event.metadata, event.livemode) == (None, None, {}, False)
    assert event.malformed == []


def test_verify_stripe_many_reports_each_item() -> None:
    now = 1_763_700_010
    good = payedge.sign_stripe(ONE_KB_EVENT, SECRET, 1_763_700_000)
    old = payedge.sign_stripe(ONE_KB_EVENT, SECRET, 1_763_600_000)
    items: list[tuple[bytes, str | None]] = [
        (ONE_KB_EVENT, good),
        (ONE_KB_EVENT, old),
        (b"tampered", good),
        (ONE_KB_EVENT, None),
        (b"\xff", good),
        (ONE_KB_EVENT, "t=1"),
    ]
    out = payedge.verify_stripe_many(items, SECRET, now=now)
    assert out[0] == 1_763_700_000
    codes = [e.code if isinstance(e, payedge.SignatureError) else e for e in out[1:]]
    assert codes == [
        "timestamp_outside_tolerance",
        "signature_mismatch",
        "missing_header",
        "invalid_payload",
        "no_signatures",
    ]
    assert payedge.verify_stripe_many([], SECRET) == []
    assert payedge.verify_stripe_many(iter(items[:1]), SECRET, now=now) == [1_763_700_000]


def test_large_batches_match_single_calls_in_order() -> None:
    """Past a few thousand items the batch is split across threads: order and verdicts hold."""
    now = 1_763_700_000
    rnd = random.Random(7)
    items: list[tuple[bytes, str | None]] = []
    for i in range(9_000):
        payload = b'{"n": %d}' % i
        header: str | None = payedge.sign_stripe(payload, SECRET, now - rnd.randint(0, 400))
        match i % 7:
            case 3:
                payload += b" "
            case 5:
                header = str(header).upper()
            case 6:
                header = None
        items.append((payload, header))
    batch = payedge.verify_stripe_many(items, [SECRET], now=now)
    assert len(batch) == len(items)
    for (payload, header), got in zip(items, batch, strict=True):
        single = payedge_verify(payload, header, [SECRET], 300, now) if header is not None else None
        if single is None:
            assert isinstance(got, payedge.SignatureError) and got.code == "missing_header"
        elif isinstance(single, payedge.SignatureError):
            assert isinstance(got, payedge.SignatureError) and got.code == single.code
        else:
            assert got == single
