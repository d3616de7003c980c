"""Bad input to the signature functions: a SignatureError naming the parameter, never a crash."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

import payedge
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.stripe_events import ONE_KB_EVENT, SECRET

NOW = 1_763_700_000
HEADER = payedge.sign_stripe(ONE_KB_EVENT, SECRET, NOW)
STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STD_HEADERS = {
    "webhook-id": "msg_1",
    "webhook-timestamp": str(NOW),
    "webhook-signature": payedge.sign_standard("msg_1", NOW, ONE_KB_EVENT, STD_SECRET),
}
HMAC_HEX = hmac.new(b"k", ONE_KB_EVENT, hashlib.sha256).hexdigest()
MEGABYTE = "a" * (1 << 20)


def raises(call: Callable[[], object], code: str, param: str) -> payedge.SignatureError:
    with pytest.raises(payedge.SignatureError) as err:
        call()
    assert (err.value.code, err.value.param) == (code, param), (err.value.code, err.value.param, err.value)
    assert param in str(err.value) or code not in ("invalid_type", "invalid_argument"), str(err.value)
    assert isinstance(err.value, ValueError)
    return err.value


def stripe(**kw: Any) -> Callable[[], object]:
    args = {"payload": ONE_KB_EVENT, "header": HEADER, "secrets": SECRET} | kw
    tolerance = args.pop("tolerance", 300)
    now = args.pop("now", NOW)
    return lambda: payedge.verify_stripe(
        args["payload"], args["header"], args["secrets"], tolerance=tolerance, now=now
    )


def test_the_happy_paths_work() -> None:
    assert stripe()() == NOW
    assert payedge.verify_standard(ONE_KB_EVENT, STD_HEADERS, STD_SECRET, now=NOW) == "msg_1"
    payedge.verify_hmac(ONE_KB_EVENT, HMAC_HEX, "k")


@pytest.mark.parametrize(
    ("kw", "code", "param"),
    [
        ({"payload": "text"}, "invalid_type", "payload"),
        ({"payload": None}, "invalid_type", "payload"),
        ({"payload": memoryview(b"x")}, "invalid_type", "payload"),
        ({"payload": 5}, "invalid_type", "payload"),
        ({"payload": b"\xff\xfe"}, "invalid_payload", "payload"),
        ({"payload": b"ok \xc3"}, "invalid_payload", "payload"),
        ({"header": b"t=1,v1=aa"}, "invalid_type", "header"),
        ({"header": 7}, "invalid_type", "header"),
        ({"header": None}, "missing_header", "header"),
        ({"header": ""}, "missing_header", "header"),
        ({"header": "t=1,v1=\ud800"}, "malformed_header", "header"),
        ({"header": MEGABYTE}, "header_too_large", "header"),
        ({"header": HEADER + "," + MEGABYTE}, "header_too_large", "header"),
        ({"secrets": ""}, "invalid_secret", "secrets"),
        ({"secrets": " \t\n"}, "invalid_secret", "secrets"),
        ({"secrets": []}, "invalid_secret", "secrets"),
        ({"secrets": ()}, "invalid_secret", "secrets"),
        ({"secrets": [SECRET, ""]}, "invalid_secret", "secrets[1]"),
        ({"secrets": [SECRET, 3]}, "invalid_type", "secrets[1]"),
        ({"secrets": b"whsec_x"}, "invalid_type", "secrets"),
        ({"secrets": None}, "invalid_type", "secrets"),
        ({"secrets": 12}, "invalid_type", "secrets"),
        ({"secrets": "\udc80"}, "invalid_secret", "secrets"),
        ({"tolerance": -1}, "invalid_argument", "tolerance"),
        ({"tolerance": 1.5}, "invalid_type", "tolerance"),
        ({"tolerance": True}, "invalid_type", "tolerance"),
        ({"tolerance": "300"}, "invalid_type", "tolerance"),
        ({"tolerance": 2**70}, "invalid_argument", "tolerance"),
        ({"now": 1.5}, "invalid_type", "now"),
        ({"now": "now"}, "invalid_type", "now"),
        ({"now": 2**70}, "invalid_argument", "now"),
    ],
)
def test_verify_stripe_bad_input(kw: dict[str, Any], code: str, param: str) -> None:
    raises(stripe(**kw), code, param)
    if param in ("payload", "header") or code in ("invalid_type", "invalid_argument"):
        # parse_stripe_event takes its arguments the same way
        args: dict[str, Any] = {
            "payload": ONE_KB_EVENT,
            "header": HEADER,
            "secrets": SECRET,
            "tolerance": 300,
            "now": NOW,
        } | kw
        raises(
            lambda: payedge.parse_stripe_event(
                args["payload"],
                args["header"],
                args["secrets"],
                tolerance=args["tolerance"],
                now=args["now"],
            ),
            code,
            param,
        )


def test_secrets_may_be_any_iterable_of_str() -> None:
    assert stripe(secrets=(s for s in ["whsec_other", SECRET]))() == NOW
    assert stripe(secrets=("whsec_other", SECRET))() == NOW
    assert stripe(payload=bytearray(ONE_KB_EVENT))() == NOW


def test_sign_bad_input() -> None:
    raises(lambda: payedge.sign_stripe("x", SECRET, 1), "invalid_type", "payload")  # type: ignore[arg-type]
    raises(lambda: payedge.sign_stripe(b"x", "", 1), "invalid_secret", "secret")
    raises(lambda: payedge.sign_stripe(b"x", [SECRET], 1), "invalid_type", "secret")  # type: ignore[arg-type]
    raises(lambda: payedge.sign_stripe(b"x", SECRET, -1), "invalid_argument", "timestamp")
    raises(lambda: payedge.sign_stripe(b"x", SECRET, 1.0), "invalid_type", "timestamp")  # type: ignore[arg-type]
    raises(lambda: payedge.sign_standard("m", 1, b"x", "whsec_!"), "invalid_secret", "secret")
    raises(lambda: payedge.sign_standard(1, 1, b"x", STD_SECRET), "invalid_type", "msg_id")  # type: ignore[arg-type]
    raises(lambda: payedge.sign_standard("m", 1, "x", STD_SECRET), "invalid_type", "payload")  # type: ignore[arg-type]
    raises(lambda: payedge.sign_standard("m", None, b"x", STD_SECRET), "invalid_type", "timestamp")  # type: ignore[arg-type]


def test_verify_standard_bad_input() -> None:
    def std(
        payload: Any = ONE_KB_EVENT, headers: Any = STD_HEADERS, secrets: Any = STD_SECRET, **kw: Any
    ) -> Callable[[], object]:
        return lambda: payedge.verify_standard(payload, headers, secrets, now=NOW, **kw)

    raises(std(payload="x"), "invalid_type", "payload")
    raises(std(payload=b"\xff"), "invalid_payload", "payload")
    raises(std(headers=[("webhook-id", "x")]), "invalid_type", "headers")
    raises(std(headers="webhook-id"), "invalid_type", "headers")
    raises(std(headers=None), "invalid_type", "headers")
    raises(std(headers={1: "x"}), "invalid_type", "headers")
    raises(std(headers=STD_HEADERS | {"webhook-id": 5}), "invalid_type", "headers['webhook-id']")
    raises(std(headers=STD_HEADERS | {"webhook-id": "\ud800"}), "malformed_header", "headers['webhook-id']")
    raises(std(headers={}), "missing_header", "headers")
    for name in STD_HEADERS:
        raises(std(headers=STD_HEADERS | {name: MEGABYTE}), "header_too_large", "headers")
        raises(std(headers=STD_HEADERS | {name: ""}), "missing_header", "headers")
    raises(std(secrets=[]), "invalid_secret", "secrets")
    raises(std(secrets="whsec_"), "invalid_secret", "secrets")
    raises(std(secrets=["whsec_AAAA", "whsec_a"]), "invalid_secret", "secrets[1]")
    raises(std(tolerance=None), "invalid_type", "tolerance")
    raises(std(tolerance=-5), "invalid_argument", "tolerance")
    # a non-str value under an unrelated header is none of payedge's business
    assert std(headers=STD_HEADERS | {"x-other": 5})() == "msg_1"
    # the last spelling wins, so an earlier non-str one is dropped, as in the package
    assert std(headers={"WEBHOOK-ID": 5} | STD_HEADERS)() == "msg_1"


def test_verify_hmac_bad_input() -> None:
    def call(
        payload: Any = ONE_KB_EVENT, sig: Any = HMAC_HEX, secret: Any = "k", **kw: Any
    ) -> Callable[[], object]:
        return lambda: payedge.verify_hmac(payload, sig, secret, **kw)

    assert call(payload=b"\xff\xfe", sig=hmac.new(b"k", b"\xff\xfe", hashlib.sha256).hexdigest())() is None
    assert call(secret=b"k")() is None and call(secret=bytearray(b"k"))() is None
    raises(call(payload="x"), "invalid_type", "payload")
    raises(call(sig=b"00"), "invalid_type", "signature")
    raises(call(sig=None), "invalid_type", "signature")
    raises(call(sig=""), "missing_header", "signature")
    raises(call(sig=MEGABYTE), "header_too_large", "signature")
    raises(call(sig=HMAC_HEX[:-2]), "malformed_signature", "signature")
    raises(call(sig="zz" * 32), "malformed_signature", "signature")
    raises(call(sig=HMAC_HEX, encoding="base64"), "malformed_signature", "signature")
    raises(call(sig="0" * 64), "signature_mismatch", "signature")
    raises(call(secret=""), "invalid_secret", "secret")
    raises(call(secret=b""), "invalid_secret", "secret")
    raises(call(secret=5), "invalid_type", "secret")
    raises(call(secret=["k"]), "invalid_type", "secret")
    raises(call(encoding="HEX"), "invalid_argument", "encoding")
    raises(call(encoding=None), "invalid_type", "encoding")


def test_verify_stripe_many_bad_input() -> None:
    good = (ONE_KB_EVENT, HEADER)
    raises(lambda: payedge.verify_stripe_many(5, SECRET), "invalid_type", "items")  # type: ignore[arg-type]
    raises(lambda: payedge.verify_stripe_many("ab", SECRET), "invalid_type", "items")  # type: ignore[arg-type]
    raises(lambda: payedge.verify_stripe_many([good, "x"], SECRET), "invalid_type", "items[1]")  # type: ignore[list-item]
    raises(lambda: payedge.verify_stripe_many([good, (b"x",)], SECRET), "invalid_type", "items[1]")  # type: ignore[list-item]
    raises(lambda: payedge.verify_stripe_many([("x", HEADER)], SECRET), "invalid_type", "items[0][0]")  # type: ignore[list-item]
    raises(lambda: payedge.verify_stripe_many([(b"x", 5)], SECRET), "invalid_type", "items[0][1]")  # type: ignore[list-item]
    raises(lambda: payedge.verify_stripe_many([good], []), "invalid_secret", "secrets")
    raises(lambda: payedge.verify_stripe_many([good], SECRET, tolerance=-1), "invalid_argument", "tolerance")
    out = payedge.verify_stripe_many(
        [(b"\xff", HEADER), (ONE_KB_EVENT, MEGABYTE), (ONE_KB_EVENT, "\ud800")], SECRET
    )
    assert [(e.code, e.param) for e in out if isinstance(e, payedge.SignatureError)] == [
        ("invalid_payload", "payload"),
        ("header_too_large", "header"),
        ("malformed_header", "header"),
    ]


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=20), st.integers()), max_size=3),
    st.just(object()),
    st.just(MEGABYTE),
)


@settings(max_examples=300, deadline=None)
@given(a=ANYTHING, b=ANYTHING, c=ANYTHING, d=ANYTHING, e=ANYTHING)
def test_arbitrary_arguments_never_crash(a: Any, b: Any, c: Any, d: Any, e: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: payedge.verify_stripe(a, b, c, tolerance=d, now=e),
        lambda: payedge.parse_stripe_event(a, b, c, tolerance=d, now=e),
        lambda: payedge.verify_stripe_many([(a, b)], c, tolerance=d, now=e),
        lambda: payedge.verify_standard(a, b, c, tolerance=d, now=e),
        lambda: payedge.verify_hmac(a, b, c, encoding=d),
        lambda: payedge.sign_stripe(a, b, c),
        lambda: payedge.sign_standard(a, b, c, d),
    ]
    for call in calls:
        try:
            call()
        except payedge.SignatureError as err:
            assert err.code and err.param, err


def test_batch_releases_the_gil() -> None:
    """Another Python thread keeps running while a large batch is verified."""
    items = [(ONE_KB_EVENT, HEADER)] * 60_000
    done = threading.Event()
    spans: list[float] = []

    def verify() -> None:
        started = time.perf_counter()
        payedge.verify_stripe_many(items, SECRET, now=NOW)
        spans.append(time.perf_counter() - started)
        done.set()

    ticks = 0
    worker = threading.Thread(target=verify)
    worker.start()
    deadline = time.monotonic() + 60
    while not done.is_set() and time.monotonic() < deadline:
        ticks += 1
        time.sleep(0.0005)
    worker.join(timeout=60)
    assert spans, "the batch did not finish"
    # with the GIL held for the whole batch this thread could not tick during it
    assert ticks >= 20, (ticks, spans)


def test_concurrent_callers_get_their_own_answers() -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(300):
                secret = f"whsec_{n}_{i}"
                header = payedge.sign_stripe(ONE_KB_EVENT, secret, NOW + i)
                assert payedge.verify_stripe(ONE_KB_EVENT, header, secret, now=NOW + i) == NOW + i
                out = payedge.verify_stripe_many([(ONE_KB_EVENT, header)] * 10, [secret], now=NOW + i)
                assert out == [NOW + i] * 10
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
