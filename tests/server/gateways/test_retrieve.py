"""`Gateway.retrieve`, the status read the fallback executor settles unknown outcomes with.

Stripe's is `PaymentIntent.retrieve` (against localstripe); the sandbox's is the payment
itself; the hosted gateways' are exercised end to end in test_hosted_flows.py. And what a
failed call proves: a connection that cannot be made is "unavailable", never "unknown".
"""

from __future__ import annotations

import pytest
from payedge_server.gateways.base import GatewayTimeoutError, GatewayUnavailableError
from payedge_server.gateways.http import ProviderHttp
from payedge_server.gateways.sandbox import SandboxGateway
from payedge_server.gateways.stripe import StripeGateway
from payedge_server.payments.model import LastError, Payment, PaymentStatus

from tests.support import services

PID = "pay_" + "1" * 24


def _payment(gateway: str, **changes: object) -> Payment:
    p = Payment(
        PID, 1500, "EUR", gateway, PaymentStatus.REQUIRES_CONFIRMATION, 1, 0, 0, payment_method="pm_card_visa"
    )
    return p.replace(**changes)


async def test_stripe_retrieve_reads_the_payment_intent(localstripe_url: str) -> None:
    gateway = StripeGateway("sk_test_retrieve", localstripe_url)
    try:
        created = await gateway.create(_payment("stripe"), idempotency_key=PID + ":create")
        assert created.gateway_ref is not None
        found = await gateway.retrieve(_payment("stripe", gateway_ref=created.gateway_ref))
        assert found is not None and found.gateway_ref == created.gateway_ref
        assert found.status is created.status
        assert await gateway.retrieve(_payment("stripe")) is None  # no PaymentIntent yet
        assert await gateway.retrieve(_payment("stripe", gateway_ref="pi_unknown0000")) is None
    finally:
        await gateway.close()


async def test_stripe_unreachable_is_unavailable_for_reads_and_writes() -> None:
    gateway = StripeGateway("sk_test_retrieve", f"http://127.0.0.1:{services.closed_port()}", retries=0)
    try:
        with pytest.raises(GatewayUnavailableError):
            await gateway.create(_payment("stripe"), idempotency_key=PID + ":create")
        with pytest.raises(GatewayUnavailableError):
            await gateway.retrieve(_payment("stripe", gateway_ref="pi_x"))
    finally:
        await gateway.close()


async def test_sandbox_retrieve_is_the_payment_itself() -> None:
    gateway = SandboxGateway("http://127.0.0.1:1/none", "whsec_x")
    assert await gateway.retrieve(_payment("sandbox")) is None
    paid = _payment("sandbox", gateway_ref="sb_" + PID, status=PaymentStatus.SUCCEEDED, amount_captured=1500)
    found = await gateway.retrieve(paid)
    assert found is not None and (found.status, found.amount_captured) == (PaymentStatus.SUCCEEDED, 1500)
    error = LastError("card_declined", "the card was declined", "card_declined")
    failed = await gateway.retrieve(
        _payment("sandbox", gateway_ref="sb_x", status=PaymentStatus.FAILED, last_error=error)
    )
    assert failed is not None and failed.error == error


async def test_what_a_failed_call_proves() -> None:
    """Refused: nothing sent (unavailable), for a write too; a read that fails proves nothing taken."""
    http = ProviderHttp("test", f"http://127.0.0.1:{services.closed_port()}", 1.0)
    try:
        with pytest.raises(GatewayUnavailableError):
            await http.send("POST", "/pay", write=True, json={})
        with pytest.raises(GatewayUnavailableError):
            await http.send("GET", "/status", write=False)
    finally:
        await http.close()
    assert not issubclass(GatewayTimeoutError, GatewayUnavailableError)
