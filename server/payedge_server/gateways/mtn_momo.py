"""The `mtn_momo` connector: MoMo Open API Collection (requesttopay, status reads, unsigned callbacks).

Outbound (momodeveloper.mtn.com, Collection): every call carries the product's
`Ocp-Apim-Subscription-Key`; a bearer token from `POST /collection/token/` (Basic
API user and key) is cached until shortly before it expires. A confirm that needs
a new attempt makes a fresh UUIDv4 `X-Reference-Id` (it names the request; MTN
answers 409 to a reused one and never replays), records it BEFORE
`POST /collection/v1_0/requesttopay`, which answers 202. The request is then
PENDING until the payer enters their PIN: `GET .../requesttopay/{id}` says
SUCCESSFUL or FAILED (the sandbox also answers REJECTED and TIMEOUT: every status
but PENDING and SUCCESSFUL is a failure). The payer is named by the payment method
`msisdn:<digits>`; `externalId` is the payedge payment id.

What a failed call proves: a 5xx MTN documents as "not processed"
(`NOT_ALLOWED_TARGET_ENVIRONMENT`, `INVALID_CURRENCY`, `INVALID_CALLBACK_URL_HOST`,
`NOT_ALLOWED`) created nothing. Any other 5xx is sent once more with the SAME
`X-Reference-Id` (MTN's 409 to a reused id is its idempotency: 409 means ours
exists), then settled by a status read (404 after two 5xx: not created). A
timeout, a lost connection or an answer that is not MTN's 202 is a
`GatewayTimeoutError`: the attempt stays `sending`, `retrieve` reads its status,
and the next confirm (or poll) sends the same id again, never a new one, until
MTN has answered for it. A new id is made only once the previous request failed
or was proved absent.

Inbound (momodeveloper.mtn.com/api-documentation/callback): MTN PUTs (or POSTs)
the status body to `X-Callback-Url`, with no signature: a callback is recorded,
and only makes payedge read the status from MTN. Callbacks may be lost (MTN
documents one attempt), so pending requests are also polled (polling.py).

Amounts: decimal strings, at most the currency's ISO digits; the currency is the
target environment's (sandbox: EUR). No refund in Collection (MTN's refund is a
Disbursement operation): `refund` is refused. The payer's number (`msisdn:` payment
method) is personal data, not card data: it is stored as the payment method.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from payedge_server.config.sections.mtn_momo import MtnMomoConfig
from payedge_server.contracts import Store
from payedge_server.gateways.amounts import Scale, currency_not_supported
from payedge_server.gateways.attempts import AttemptLog, AttemptState, ProviderAttempt
from payedge_server.gateways.base import (
    GatewayError,
    GatewayRejectedError,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    InboundEvent,
    WebhookRejectedError,
)
from payedge_server.gateways.hinted import (
    HintedGateway,
    HintReceiver,
    TokenReady,
    callback_id,
    json_object,
    status_kind,
)
from payedge_server.gateways.http import BearerTokens, ProviderHttp, Reply, basic_auth, text, token_reply
from payedge_server.gateways.polling import PollPolicy
from payedge_server.payments.model import LastError, NextAction, NextActionType, Payment, PaymentStatus

NAME = "mtn_momo"
#: X-Target-Environment -> the currency it takes (MTN: the sandbox takes EUR).
ENVIRONMENTS = {
    "sandbox": "EUR",
    "mtnuganda": "UGX",
    "mtnghana": "GHS",
    "mtnivorycoast": "XOF",
    "mtnbenin": "XOF",
    "mtncameroon": "XAF",
    "mtncongo": "XAF",
    "mtnzambia": "ZMW",
    "mtnguineaconakry": "GNF",
    "mtnliberia": "LRD",
    "mtnswaziland": "SZL",
    "mtnsouthafrica": "ZAR",
}
SCALE = Scale(NAME, currencies=frozenset(ENVIRONMENTS.values()))
MSISDN = re.compile(r"msisdn:([0-9]{5,15})")
NOT_PROCESSED = frozenset(
    {"NOT_ALLOWED_TARGET_ENVIRONMENT", "INVALID_CURRENCY", "INVALID_CALLBACK_URL_HOST", "NOT_ALLOWED"}
)
ON_PHONE = NextAction(NextActionType.APPROVE_ON_PHONE)
_REFERENCE = re.compile(r"[0-9a-fA-F-]{36}")


def status_result(data: Mapping[str, Any], attempt: ProviderAttempt) -> GatewayResult:
    """A requesttopay status body about `attempt`."""
    status, ref = data.get("status"), attempt.provider_ref
    if status == "SUCCESSFUL":
        amount = data.get("amount")
        captured = SCALE.from_decimal(amount, attempt.currency) if isinstance(amount, str) else None
        if captured is None or data.get("currency") != attempt.currency:
            raise GatewayUnavailableError("mtn_momo answered a successful request without a readable amount")
        return GatewayResult(PaymentStatus.SUCCEEDED, ref, amount_captured=captured)
    if status == "PENDING":
        return GatewayResult(PaymentStatus.PROCESSING, ref, next_action=ON_PHONE)
    if isinstance(status, str) and status:
        why = text(data.get("reason")) or status
        error = LastError("payment_failed", f"MTN MoMo: {status.lower()} ({why})", why)
        return GatewayResult(PaymentStatus.REQUIRES_PAYMENT_METHOD, ref, error=error)
    raise GatewayUnavailableError("mtn_momo answered a status read without a status")


def _error_code(reply: Reply) -> str:
    return text(reply.object().get("code")) or f"HTTP_{reply.status}"


def _unknown(reply: Reply) -> bool:
    """A 5xx that does not say "not processed": MTN may have created the request."""
    return reply.status >= 500 and _error_code(reply) not in NOT_PROCESSED


def _refused(reply: Reply) -> GatewayError:
    code = _error_code(reply)
    if reply.status >= 500 or reply.status in (401, 403):
        return GatewayUnavailableError(
            f"mtn_momo answered {reply.status} {code}: the request was not created"
        )
    message = text(reply.object().get("message")) or code
    return GatewayRejectedError(
        "gateway_rejected", f"mtn_momo refused the request: {message}", gateway_code=code
    )


class MomoGateway(TokenReady, HintedGateway):
    name = NAME
    REFUND_REFUSAL = "MTN MoMo Collection has no refund call (MTN's refund is a Disbursement operation)"

    def __init__(self, config: MtnMomoConfig, store: Store, callback_url: str) -> None:
        assert config.subscription_key and config.api_user and config.api_key
        self.http = ProviderHttp(NAME, config.api_base, config.timeout)
        self.subscription_key = config.subscription_key
        self.environment = config.target_environment
        self.currency = ENVIRONMENTS[config.target_environment]
        self._basic = basic_auth(config.api_user, config.api_key)
        self.tokens = BearerTokens(self._token)
        self.attempts = AttemptLog(store, NAME)
        self.callback_url = callback_url
        self.poll = PollPolicy(config.poll_interval, config.poll_max_interval, config.poll_for)

    def check_payment_method(self, payment_method: str) -> str | None:
        if MSISDN.fullmatch(payment_method):
            return None
        return "the mtn_momo gateway takes payment_method msisdn:<the payer's number, 5 to 15 digits>"

    def check_amount(self, amount: int, currency: str) -> None:
        SCALE.to_provider(amount, currency)
        if currency != self.currency:
            raise currency_not_supported(f"{NAME} ({self.environment})", currency)

    # -- calls ------------------------------------------------------------------------------
    async def _token(self) -> tuple[str, float]:
        headers = {"Authorization": self._basic, "Ocp-Apim-Subscription-Key": self.subscription_key}
        return token_reply(
            NAME, await self.http.send("POST", "/collection/token/", write=False, headers=headers)
        )

    async def _call(self, method: str, path: str, extra: Mapping[str, str], body: Any = None) -> Reply:
        """An API call with the bearer token (renewed once on a 401: a 401 was not processed)."""
        for _ in range(2):
            token = await self.tokens.get()
            headers = {
                "Authorization": f"Bearer {token}",
                "Ocp-Apim-Subscription-Key": self.subscription_key,
                "X-Target-Environment": self.environment,
                **extra,
            }
            reply = await self.http.send(method, path, write=method != "GET", headers=headers, json=body)
            if reply.status != 401:
                return reply
            self.tokens.forget(token)
        raise GatewayUnavailableError("mtn_momo refused payedge's token twice (401)")

    async def _status(self, attempt: ProviderAttempt) -> GatewayResult | None:
        reply = await self._call("GET", f"/collection/v1_0/requesttopay/{attempt.provider_ref}", {})
        if reply.status == 404:
            return None
        data = reply.object()
        if not reply.ok or not data:
            raise GatewayUnavailableError(f"mtn_momo answered {reply.status} to a status read")
        return status_result(data, attempt)

    # -- outbound ---------------------------------------------------------------------------
    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        latest = await self.attempts.latest(payment.id)
        if latest is not None and latest.state is AttemptState.SENDING:
            return await self._send(payment, latest)  # its outcome is unknown: the same id again
        if latest is not None:
            found = await self._status(latest)
            if found is not None and found.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING):
                return found  # that request still stands (pending, or paid)
        attempt = ProviderAttempt(NAME, str(uuid.uuid4()), payment.id, payment.amount, payment.currency)
        return await self._send(payment, await self.attempts.start(attempt))

    async def _send(self, payment: Payment, attempt: ProviderAttempt) -> GatewayResult:
        """The attempt's request; an unknown outcome names the attempt (docs/gateways.md: `gateway_ref`
        shows the current attempt's id, also while status reads settle it)."""
        try:
            return await self._request(payment, attempt)
        except GatewayTimeoutError as exc:
            raise GatewayTimeoutError(str(exc), attempt.provider_ref) from exc

    async def _request(self, payment: Payment, attempt: ProviderAttempt) -> GatewayResult:
        """POST the attempt's request; once more after a 5xx, with the same X-Reference-Id (409: exists)."""
        reply = await self._post(payment, attempt)
        if _unknown(reply):
            reply = await self._post(payment, attempt)
        if reply.status in (202, 409):  # accepted, or this id exists: ours was created
            await self.attempts.settle(replace(attempt, state=AttemptState.OPEN))
            return await self._after_accepted(attempt)
        if _unknown(reply) or reply.ok:
            found = await self._settle(attempt, reply)  # a read settles it: MTN may have created it
            if found is not None:
                await self.attempts.settle(replace(attempt, state=AttemptState.OPEN))
                return found
            if reply.ok:  # an answer that is not MTN's 202: it may still be processed
                raise GatewayTimeoutError(f"mtn_momo answered {reply.status} instead of 202")
        await self.attempts.settle(replace(attempt, state=AttemptState.ABANDONED))
        raise _refused(reply)

    async def _settle(self, attempt: ProviderAttempt, reply: Reply) -> GatewayResult | None:
        try:
            return await self._status(attempt)
        except GatewayError:
            if reply.ok:  # MTN may be processing a request it answered oddly: unknown, not "not created"
                raise GatewayTimeoutError(
                    f"mtn_momo answered {reply.status} and its status is unreadable"
                ) from None
            raise

    async def _post(self, payment: Payment, attempt: ProviderAttempt) -> Reply:
        match = MSISDN.fullmatch(payment.payment_method or "")
        if match is None:
            raise GatewayRejectedError(
                "payment_method_invalid", "an msisdn:<number> is needed", "payment_method"
            )
        body = {
            "amount": SCALE.to_decimal(attempt.amount, attempt.currency),
            "currency": attempt.currency,
            "externalId": payment.id,
            "payer": {"partyIdType": "MSISDN", "partyId": match.group(1)},
            "payerMessage": f"Payment {payment.order_ref or payment.id}"[:160],
            "payeeNote": payment.id,
        }
        extra = {"X-Reference-Id": attempt.provider_ref, "X-Callback-Url": self.callback_url}
        return await self._call("POST", "/collection/v1_0/requesttopay", extra, body)

    async def _after_accepted(self, attempt: ProviderAttempt) -> GatewayResult:
        """202: the request exists; one status read tells whether it settled at once."""
        try:
            found = await self._status(attempt)
        except GatewayError:
            found = None
        return found or GatewayResult(PaymentStatus.PROCESSING, attempt.provider_ref, next_action=ON_PHONE)

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        attempt = await self.attempts.latest(payment.id)
        if attempt is None:
            return None
        found = await self._status(attempt)
        if found is None and attempt.state is AttemptState.SENDING:
            # MTN creates requests asynchronously: a 404 right after a lost answer proves nothing yet.
            raise GatewayUnavailableError("mtn_momo does not know the request yet")
        return found

    async def reconcile(self, payment: Payment) -> GatewayResult | None:
        """A status read; a request whose sending is unknown is sent again with its id (409 if it exists)."""
        attempt = await self.attempts.latest(payment.id)
        if attempt is not None and attempt.state is AttemptState.SENDING:
            return await self._send(payment, attempt)
        return await self.retrieve(payment)


# -- inbound ------------------------------------------------------------------------------


class MomoWebhooks(HintReceiver[MomoGateway]):
    """`PUT` or `POST /v1/webhooks/mtn_momo`: unsigned, so recorded, then the status is read from MTN."""

    provider = NAME

    async def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        gateway = self.configured()
        data = json_object(body)
        ref = data.get("referenceId") if data is not None else None
        if data is None or not isinstance(ref, str) or not _REFERENCE.fullmatch(ref):
            raise WebhookRejectedError(
                "invalid_payload", "not a MoMo callback (no referenceId)", "referenceId"
            )
        ref = ref.lower()
        event_id, kind = callback_id(ref, body), status_kind("requesttopay", data)
        attempt = await gateway.attempts.find(ref)
        if attempt is None:  # recorded and acknowledged; no read: payedge made no such request
            return InboundEvent(event_id, kind, ref)
        return self.hint(event_id, kind, ref, attempt.payment_id)
