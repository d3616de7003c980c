"""payedge's Standard Webhooks verification against the `standardwebhooks` package.

The oracle is `standardwebhooks.Webhook(secret).verify(payload, headers,
json_parse=False)` with its clock set by the test (its module's `datetime.now`
is the only thing replaced). Verdicts must be the same for well-formed and
mutated headers; where the package crashes (a signature entry without exactly
one comma, bad base64 padding, non-ASCII base64), payedge raises
SignatureError. One deliberate difference, like Stripe's odd `t` in SPEC 2.1:
payedge takes only ASCII digits in `webhook-timestamp`, where the package's
`float()` also takes spaces, signs, fractions and exponents.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import string
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import ClassVar

import payedge
import pytest
import standardwebhooks.webhooks as sw
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from tests.support.stripe_events import ONE_KB_EVENT

# ------------------------------------------------------------------ the oracle


class _FrozenDatetime(datetime):
    """Replaces `datetime` inside standardwebhooks.webhooks: `now()` reads the test's clock."""

    frozen: ClassVar[float] = 0.0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _FrozenDatetime:
        return cls.fromtimestamp(cls.frozen, tz)


@contextmanager
def standard_clock(now: int) -> Iterator[None]:
    namespace = vars(sw)
    saved = namespace["datetime"]
    _FrozenDatetime.frozen = float(now)
    namespace["datetime"] = _FrozenDatetime
    try:
        yield
    finally:
        namespace["datetime"] = saved


ACCEPT = "accept"
_THEIR_KINDS = {
    "Missing required headers": "missing",
    "Invalid Signature Headers": "bad_timestamp",
    "Message timestamp too old": "tolerance",
    "Message timestamp too new": "tolerance",
    "No matching signature found": "mismatch",
}
_OUR_KINDS = {
    "missing_header": "missing",
    "malformed_header": "malformed",
    "timestamp_outside_tolerance": "tolerance",
    "signature_mismatch": "mismatch",
    "no_signatures": "mismatch",
}


def their_kind(payload: bytes, headers: Mapping[str, str], secret: str) -> str:
    try:
        sw.Webhook(secret).verify(payload, headers, json_parse=False)  # type: ignore[arg-type]
    except sw.WebhookVerificationError as exc:
        return _THEIR_KINDS[str(exc)]
    except Exception:  # the package crashes: ValueError, binascii.Error
        return "malformed"
    return ACCEPT


def their_verdict(payload: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> str:
    kinds = [their_kind(payload, headers, s) for s in secrets]
    if ACCEPT in kinds:
        return ACCEPT
    assert len(set(kinds)) == 1, kinds
    return kinds[0]


def our_verdict(
    payload: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: int
) -> tuple[str, str | payedge.SignatureError]:
    try:
        msg_id = payedge.verify_standard(payload, headers, list(secrets), now=now)
    except payedge.SignatureError as exc:
        assert exc.code in _OUR_KINDS, exc.code
        assert exc.param == "headers", exc.param
        return _OUR_KINDS[exc.code], exc
    return ACCEPT, msg_id


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def check(
    tally: Counter[str], payload: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: int
) -> None:
    with standard_clock(now):
        theirs = their_verdict(payload, headers, secrets)
    ours, detail = our_verdict(payload, headers, secrets, now)
    tally["cases"] += 1
    raw_ts = lowered(headers).get("webhook-timestamp")
    if raw_ts and not (raw_ts.isascii() and raw_ts.isdigit()):
        # float() syntax payedge refuses (module docstring)
        assert ours in ("malformed", "missing"), (headers, detail)
        tally["odd_timestamp_" + ("accepted_by_them" if theirs == ACCEPT else "rejected")] += 1
        return
    if theirs == "bad_timestamp":
        # digits too large for a datetime: payedge calls them too new
        assert ours == "tolerance", (headers, detail)
        tally["tolerance"] += 1
        return
    assert ours == theirs, f"headers={headers!r} secrets={secrets!r} now={now} ours={detail!r}"
    if ours == ACCEPT:
        assert detail == lowered(headers)["webhook-id"]
    tally[ours] += 1


# ------------------------------------------------------------------ strategies


def whsec(key: bytes, rnd: random.Random) -> str:
    text = base64.b64encode(key).decode()
    if rnd.random() < 0.3:
        text = text.rstrip("=")
    return text if rnd.random() < 0.2 else "whsec_" + text


def b64_signature(key: bytes, msg_id: str, ts: str, payload: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + payload, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


B64_NOISE = "!-_.:~\t\n#*\x00"


def mutate_b64(rnd: random.Random, sig: str) -> str:
    """Mutations b64decode may or may not see through."""
    match rnd.randint(0, 11):
        case 0:  # characters outside the alphabet are skipped
            i = rnd.randint(0, len(sig))
            return sig[:i] + rnd.choice(B64_NOISE) + sig[i:]
        case 1:
            return sig.rstrip("=")  # incorrect padding
        case 2:
            return sig + "="
        case 3:
            return sig + rnd.choice(["QUJD", "==", "A", "AB=="])  # data after the padding
        case 4:
            i = rnd.randrange(len(sig) - 1)
            return sig[:i] + rnd.choice("AQgw+/") + sig[i + 1 :]
        case 5:
            return sig[: rnd.randint(0, len(sig))]
        case 6:
            return sig.replace("=", "") + "A="
        case 7:
            return "é" + sig
        case 8:
            return sig[:-1] + "=" + rnd.choice(["", "=", "A"])
        case 9:
            return "=" + sig
        case _:
            return sig


def signature_entry(rnd: random.Random, sigs: Sequence[str]) -> str:
    sig = rnd.choice(sigs)
    match rnd.randint(0, 12):
        case 0 | 1 | 2:
            return f"v1,{sig}"
        case 3 | 4 | 5:
            return f"v1,{mutate_b64(rnd, sig)}"
        case 6:
            return rnd.choice(["v2", "V1", "v1 ", "", "v0"]) + "," + sig
        case 7:
            return rnd.choice(["v1", "", "v1;" + sig, sig])  # no comma: the package crashes
        case 8:
            return f"v1,{sig},x"  # two commas: crashes too
        case 9:
            return "v1," + base64.b64encode(bytes(rnd.randrange(256) for _ in range(32))).decode()
        case 10:
            return "v1,"
        case _:
            return f"v1,{sig}"


def timestamp_value(rnd: random.Random, ts: int) -> str:
    t = str(ts)
    match rnd.randint(0, 9):
        case 0 | 1 | 2 | 3:
            return t
        case 4:
            return "0" * rnd.randint(1, 4) + t
        case 5:
            return str(ts + rnd.choice([-301, -300, -1, 1, 299, 300, 301, 10_000]))
        case 6:
            return rnd.choice(
                [" {t}", "{t} ", "+{t}", "{t}.0", "{t}.9", "{t}e0", "1_{t}", "nan", "inf"]
            ).format(t=t)
        case 7:
            return "".join(rnd.choice(string.digits) for _ in range(rnd.randint(12, 30)))
        case 8:
            return ""
        case _:
            return t


NAMES = {
    "webhook-id": ["webhook-id", "Webhook-Id", "WEBHOOK-ID", "webhook-Id"],
    "webhook-timestamp": ["webhook-timestamp", "Webhook-Timestamp", "WEBHOOK-TIMESTAMP"],
    "webhook-signature": [
        "webhook-signature",
        "Webhook-Signature",
        "WEBHOOK-SIGNATURE",
        "webhoo\u212a-signature",
    ],
}


def header_set(rnd: random.Random, msg_id: str, ts: int, sigs: Sequence[str]) -> dict[str, str]:
    entries = [signature_entry(rnd, sigs) for _ in range(rnd.randint(1, 4))]
    if rnd.random() < 0.4:
        entries.insert(rnd.randint(0, len(entries)), f"v1,{sigs[0]}")
    values = {
        "webhook-id": msg_id if rnd.random() < 0.9 else rnd.choice(["", msg_id + "x", "msg_other"]),
        "webhook-timestamp": timestamp_value(rnd, ts),
        "webhook-signature": rnd.choice([" ", " ", " ", "  "]).join(entries),
    }
    headers: dict[str, str] = {"content-type": "application/json"}
    for name, value in values.items():
        if rnd.random() < 0.05:
            continue  # missing
        if rnd.random() < 0.1:
            headers[rnd.choice(NAMES[name])] = "stale"  # an earlier spelling: the last one wins
        headers[rnd.choice(NAMES[name])] = value
    return headers


SAFE_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@st.composite
def standard_cases(draw: st.DrawFn) -> tuple[bytes, list[dict[str, str]], list[str], int]:
    rnd = random.Random(draw(st.integers(min_value=0, max_value=2**64)))
    payload = draw(st.one_of(SAFE_TEXT.map(str.encode), st.just(ONE_KB_EVENT)))
    msg_id = draw(
        st.one_of(
            st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=30),
            SAFE_TEXT.filter(bool),
        )
    )
    ts = draw(st.integers(min_value=0, max_value=4_000_000_000))
    key = draw(st.binary(min_size=1, max_size=64))
    other = draw(st.binary(min_size=1, max_size=64).filter(lambda k: k != key))
    signer, stranger = whsec(key, rnd), whsec(other, rnd)
    secrets = draw(st.sampled_from([[signer], [stranger, signer], [stranger]]))
    sigs = [b64_signature(key, msg_id, str(ts), payload), b64_signature(other, msg_id, str(ts), payload)]
    headers = [header_set(rnd, msg_id, ts, sigs) for _ in range(12)]
    now = ts + draw(st.sampled_from([0, 0, 0, -300, 300, -301, 301, -5, 5, 120]))
    return payload, headers, secrets, now


# ------------------------------------------------------------------ the tests


def test_differential_mutated_headers() -> None:
    tally: Counter[str] = Counter()

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(standard_cases())
    def run(case: tuple[bytes, list[dict[str, str]], list[str], int]) -> None:
        payload, header_sets, secrets, now = case
        for headers in header_sets:
            check(tally, payload, headers, secrets, now)

    run()
    assert tally["cases"] >= 4_000, tally
    for kind in (ACCEPT, "malformed", "mismatch", "tolerance", "missing", "odd_timestamp_accepted_by_them"):
        assert tally[kind] >= 20, tally


def test_specification_example() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    payload = b'{"test": 2432232314}'
    sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert payedge.sign_standard("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload, secret) == sig
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": sig,
    }
    msg_id = payedge.verify_standard(payload, headers, secret, now=1614265330)
    assert msg_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert msg_id is headers["webhook-id"]  # the caller's own string, no copy


def test_sign_standard_matches_the_package() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    wh = sw.Webhook(secret)
    for ts in (0, 1, 1_763_700_000):
        theirs = wh.sign("msg_1", datetime.fromtimestamp(ts), ONE_KB_EVENT.decode())
        assert payedge.sign_standard("msg_1", ts, ONE_KB_EVENT, secret) == theirs


def test_any_mapping_of_headers() -> None:
    secret = "whsec_" + base64.b64encode(b"secret-key").decode()
    now = 1_763_700_000
    sig = payedge.sign_standard("msg_1", now, b"{}", secret)
    plain = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(now), "Webhook-Signature": sig}
    assert payedge.verify_standard(b"{}", MappingProxyType(plain), secret, now=now) == "msg_1"
    multi = CIMultiDict(plain)
    assert payedge.verify_standard(b"{}", multi, secret, now=now) == "msg_1"
    # duplicated header in a multidict: the last one wins, as in the package
    multi.add("webhook-id", "msg_2")
    with standard_clock(now):
        assert their_kind(b"{}", multi, secret) == "mismatch"
    with pytest.raises(payedge.SignatureError) as err:
        payedge.verify_standard(b"{}", multi, secret, now=now)
    assert err.value.code == "signature_mismatch"


def test_window_and_wall_clock() -> None:
    secret = "whsec_" + base64.b64encode(b"secret-key").decode()
    now = int(time.time())
    for offset, ok in ((0, True), (-290, True), (290, True), (-400, False), (400, False)):
        sig = payedge.sign_standard("m", now + offset, b"{}", secret)
        headers = {"webhook-id": "m", "webhook-timestamp": str(now + offset), "webhook-signature": sig}
        if ok:
            assert payedge.verify_standard(b"{}", headers, secret) == "m"
        else:
            with pytest.raises(payedge.SignatureError) as err:
                payedge.verify_standard(b"{}", headers, secret)
            assert err.value.code == "timestamp_outside_tolerance"
            assert payedge.verify_standard(b"{}", headers, secret, tolerance=600) == "m"


def test_rotation_and_secret_forms() -> None:
    key = b"\x00\x01rotation-key\xff"
    padded = base64.b64encode(key).decode()
    sig = payedge.sign_standard("m", 10, b"x", "whsec_" + padded)
    headers = {"webhook-id": "m", "webhook-timestamp": "10", "webhook-signature": sig}
    for secret in (padded, "whsec_" + padded, padded.rstrip("=")):
        assert payedge.verify_standard(b"x", headers, ["whsec_AAAA", secret], now=10) == "m"
    for bad in ("whsec_", "", "whsec_a", "whsec_ab!c", "whsec_AA-_"):
        with pytest.raises(payedge.SignatureError) as err:
            payedge.verify_standard(b"x", headers, bad, now=10)
        assert (err.value.code, err.value.param) == ("invalid_secret", "secrets")
