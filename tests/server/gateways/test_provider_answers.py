"""What the connectors make of what providers send: any JSON is a result or a gateway error, never a crash.

Properties over arbitrary JSON for every reader of a provider's answer (PayPal orders
and webhook events, CinetPay checks, MoMo and Orange statuses), and the table of
where payedge fetches PayPal's certificate from.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payedge_server.gateways.attempts import ProviderAttempt
from payedge_server.gateways.base import GatewayResult, GatewayUnavailableError, InboundEvent
from payedge_server.gateways.cinetpay import check_result
from payedge_server.gateways.http import ProviderHttp, Reply
from payedge_server.gateways.mtn_momo import status_result as momo_status
from payedge_server.gateways.orange_money import status_result as orange_status
from payedge_server.gateways.paypal.certs import Certificates
from payedge_server.gateways.paypal.orders import order_result
from payedge_server.gateways.paypal.webhooks import read_event
from payedge_server.payments.model import Payment, PaymentStatus

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
# Objects shaped like the providers' (their keys), with any values: reaches deeper branches.
KEYS = st.sampled_from(
    [
        "id",
        "status",
        "code",
        "message",
        "data",
        "amount",
        "currency",
        "purchase_units",
        "payments",
        "captures",
        "value",
        "currency_code",
        "links",
        "rel",
        "href",
        "event_type",
        "resource",
        "reason",
        "custom_id",
    ]
)
SHAPED = st.recursive(
    st.none()
    | st.integers()
    | st.text(max_size=12)
    | st.sampled_from(["COMPLETED", "APPROVED", "00", "ACCEPTED"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=25,
)
PAYMENT = Payment(
    "pay_" + "0" * 24, 1000, "USD", "paypal", PaymentStatus.PROCESSING, 2, 0, 0, gateway_ref="O1"
)
ATTEMPT = ProviderAttempt("x", "ref-1", PAYMENT.id, 1000, "XOF")


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # any size of integer, as a provider may send


def _reads(read: Any, value: Any) -> None:
    try:
        result = read(value)
    except GatewayUnavailableError:
        return
    assert result is None or isinstance(result, GatewayResult)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(JSON, SHAPED))
def test_every_reader_answers_a_result_or_a_gateway_error(value: Any) -> None:
    body = value if isinstance(value, dict) else {"data": value}
    _reads(lambda v: order_result(v, PAYMENT), body)
    _reads(lambda v: check_result(Reply(200, json.dumps(v).encode()), ATTEMPT), body)
    _reads(lambda v: momo_status(v, ATTEMPT), body)
    _reads(lambda v: orange_status(v, ATTEMPT), body)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.binary(max_size=200), JSON.map(_dumps), SHAPED.map(_dumps)))
def test_a_verified_paypal_delivery_of_any_shape_is_recorded_not_refused(raw: bytes) -> None:
    event = read_event(raw)
    assert isinstance(event, InboundEvent) and event.event_id


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.paypal.com/v1/notifications/certs/CERT-360caa42", True),
        ("https://API-M.PAYPAL.COM/v1/notifications/certs/CERT-1", True),  # host names are case-insensitive
        ("https://api.sandbox.paypal.com:443/v1/notifications/certs/CERT-1", True),
        ("http://api.paypal.com/v1/notifications/certs/CERT-1", False),  # https only
        ("https://api.paypal.com:8443/v1/notifications/certs/CERT-1", False),  # another port
        ("https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1", False),
        ("https://evil.example/v1/notifications/certs/CERT-1", False),
        ("https://user@api.paypal.com/v1/notifications/certs/CERT-1", False),
        ("https://api.paypal.com/v1/other/CERT-1", False),  # not the certificate path
        ("https://api.paypal.com/v1/notifications/certs/CERT-1?x=1", False),
        ("file:///etc/passwd", False),
        ("https://[::1/v1/notifications/certs/x", False),
        ("http://127.0.0.1:47100/v1/notifications/certs/CERT-fake", True),  # the exact URL configured
        ("http://127.0.0.1:47100/v1/notifications/certs/CERT-other", False),
    ],
)
def test_where_paypal_certificates_are_fetched_from(url: str, allowed: bool) -> None:
    origins = (
        "https://api.paypal.com",
        "https://api-m.paypal.com",
        "https://api.sandbox.paypal.com",
        "https://api-m.sandbox.paypal.com",
    )
    certs = Certificates(
        ProviderHttp("paypal", "http://127.0.0.1:1", 1.0),
        origins,
        "http://127.0.0.1:47100/v1/notifications/certs/CERT-fake",
    )
    assert (certs.why_not(url) is None) is allowed, certs.why_not(url)
