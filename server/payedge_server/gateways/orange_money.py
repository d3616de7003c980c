"""The `orange_money` connector: Orange Money Web Payment (init, hosted page, notif_token, status).

Outbound (Orange Developer, "Orange Money Web Payment"; integrators' notes in
shared/notes/providers-and-ledgers.md A.4): an OAuth2 token (`POST
/oauth/v3/token`, Basic client id and secret) is cached; a confirm that needs a new
attempt makes a fresh `order_id` (at most 30 characters; Orange refuses a reused
one), records it BEFORE `POST /orange-money-webpay/{country}/v1/webpayment`, and
keeps the answer's `pay_token` (status reads need it) and a SHA-256 of its
`notif_token` (the token itself is never stored). The payment is `processing`
with `next_action` `{type: redirect, url: payment_url}`; `POST
.../transactionstatus` (`order_id`, `amount`, `pay_token`) says INITIATED, PENDING,
SUCCESS, FAILED or EXPIRED (the link lives about ten minutes).

An init whose answer is lost leaves an order nobody can pay (no one has its
`payment_url`) and that cannot even be read (no `pay_token`): it is abandoned, the
confirm is `GatewayUnavailableError`, and the next confirm starts a new order.

Inbound: the notification `{status, notif_token, txnid}` is authenticated only by
its `notif_token`: payedge finds the attempt whose stored digest matches
(compared in constant time), records the notification, then reads the status
(Orange's own advice: confirm with transactionstatus). A notif_token payedge never
received is refused (400).

Amounts: integers of the country's currency (XOF, XAF, GNF; CDF in whole francs).
The sandbox (`country = dev`) takes Orange's test currency OUV: payedge payments
in XOF are sent as OUV there. No refund API in WebPay: `refund` is refused.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from payedge_server.config.sections.orange_money import OrangeMoneyConfig
from payedge_server.contracts import Store
from payedge_server.gateways.amounts import Scale, currency_not_supported
from payedge_server.gateways.attempts import AttemptLog, AttemptState, ProviderAttempt, digest
from payedge_server.gateways.base import (
    GatewayError,
    GatewayRejectedError,
    GatewayResult,
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

NAME = "orange_money"
PAYMENT_METHOD = "orange_money"
#: The WebPay path's country -> (payedge's currency, the currency sent to Orange).
COUNTRIES = {
    "dev": ("XOF", "OUV"),
    "ci": ("XOF", "XOF"),
    "sn": ("XOF", "XOF"),
    "ml": ("XOF", "XOF"),
    "bf": ("XOF", "XOF"),
    "cm": ("XAF", "XAF"),
    "gn": ("GNF", "GNF"),
    "cd": ("CDF", "CDF"),
}
SCALE = Scale(NAME, exponents={"CDF": 0}, currencies=frozenset({"XOF", "XAF", "GNF", "CDF"}))
_PENDING = frozenset({"INITIATED", "PENDING"})
_FAILED = frozenset({"FAILED", "EXPIRED"})


def status_result(data: Mapping[str, Any], attempt: ProviderAttempt) -> GatewayResult:
    status, ref = text(data.get("status")), attempt.provider_ref
    if status == "SUCCESS":  # the amount is the one the read named, and Orange matched it
        return GatewayResult(PaymentStatus.SUCCEEDED, ref, amount_captured=attempt.amount)
    if status in _PENDING:
        return GatewayResult(PaymentStatus.PROCESSING, ref)
    if status in _FAILED:
        why = "the payment link expired" if status == "EXPIRED" else "the payment failed"
        error = LastError("payment_failed", f"Orange Money: {why}", str(status))
        return GatewayResult(PaymentStatus.REQUIRES_PAYMENT_METHOD, ref, error=error)
    raise GatewayUnavailableError("orange_money answered a status read without a known status")


def _refused(reply: Reply) -> GatewayError:
    data = reply.object()
    code = str(data.get("code") or reply.status)
    why = text(data.get("description")) or text(data.get("message")) or f"HTTP {reply.status}"
    if reply.status in (401, 403):
        return GatewayUnavailableError(f"orange_money refused payedge's credentials ({code}: {why})")
    return GatewayRejectedError(
        "gateway_rejected", f"orange_money refused the payment: {why}", gateway_code=code
    )


class OrangeGateway(TokenReady, HintedGateway):
    name = NAME
    REFUND_REFUSAL = "Orange Money Web Payment has no refund call: refund from Orange's merchant portal"

    def __init__(self, config: OrangeMoneyConfig, store: Store, notif_url: str, return_url: str) -> None:
        assert config.client_id and config.client_secret and config.merchant_key
        self.http = ProviderHttp(NAME, config.api_base, config.timeout)
        self._basic = basic_auth(config.client_id, config.client_secret)
        self.merchant_key = config.merchant_key
        self.country = config.country
        self.currency, self.sent_currency = COUNTRIES[config.country]
        self.tokens = BearerTokens(self._token)
        self.attempts = AttemptLog(store, NAME)
        self.notif_url, self.return_url = notif_url, return_url
        self.poll = PollPolicy(config.poll_interval, config.poll_max_interval, config.poll_for)

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method == PAYMENT_METHOD:
            return None
        return "the orange_money gateway takes payment_method 'orange_money'"

    def check_amount(self, amount: int, currency: str) -> None:
        SCALE.to_provider(amount, currency)
        if currency != self.currency:
            raise currency_not_supported(f"{NAME} ({self.country})", currency)

    # -- calls ------------------------------------------------------------------------------
    async def _token(self) -> tuple[str, float]:
        reply = await self.http.send(
            "POST",
            "/oauth/v3/token",
            write=False,
            headers={"Authorization": self._basic, "Accept": "application/json"},
            form={"grant_type": "client_credentials"},
        )
        return token_reply(NAME, reply)

    async def _call(self, path: str, body: Any, *, write: bool) -> Reply:
        url = f"/orange-money-webpay/{self.country}/v1/{path}"
        token = await self.tokens.get()
        reply = await self.http.send("POST", url, write=write, headers=self._headers(token), json=body)
        if reply.status == 401:  # an expired or revoked token: a 401 was not processed, so resend once
            self.tokens.forget(token)
            token = await self.tokens.get()
            reply = await self.http.send("POST", url, write=write, headers=self._headers(token), json=body)
        return reply

    @staticmethod
    def _headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def _status(self, attempt: ProviderAttempt) -> GatewayResult | None:
        if attempt.token is None:
            return None  # never opened: Orange gave no pay_token, nobody can pay it
        body = {
            "order_id": attempt.provider_ref,
            "amount": SCALE.to_provider(attempt.amount, attempt.currency),
            "pay_token": attempt.token,
        }
        reply = await self._call("transactionstatus", body, write=False)
        if reply.status == 404:
            return None
        data = reply.object()
        if not reply.ok or not data:
            raise GatewayUnavailableError(f"orange_money answered {reply.status} to a status read")
        return status_result(data, attempt)

    # -- outbound ---------------------------------------------------------------------------
    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        latest = await self.attempts.latest(payment.id)
        if latest is not None:
            if latest.state is AttemptState.SENDING and latest.age < 2 * self.http.timeout:
                raise GatewayUnavailableError("an orange_money attempt is still in flight: retry shortly")
            found = await self._status(latest)
            if found is not None and found.status is PaymentStatus.SUCCEEDED:
                return found
            # Anything else: the payment is confirmable again, so that link never reached the payer.
            await self.attempts.settle(replace(latest, state=AttemptState.ABANDONED))
        return await self._start(payment)

    async def _start(self, payment: Payment) -> GatewayResult:
        order_id = payment.id[4:] + secrets.token_hex(3)  # 30 characters, Orange's limit
        attempt = await self.attempts.start(
            ProviderAttempt(NAME, order_id, payment.id, payment.amount, payment.currency)
        )
        back = self.return_url.replace("{payment_id}", payment.id)
        body = {
            "merchant_key": self.merchant_key,
            "currency": self.sent_currency,
            "order_id": order_id,
            "amount": SCALE.to_provider(payment.amount, payment.currency),
            "return_url": back,
            "cancel_url": back,
            "notif_url": self.notif_url,
            "lang": "fr",  # the payment page's language (Orange: fr or en)
            "reference": payment.id,
        }
        try:
            reply = await self._call("webpayment", body, write=True)
        except GatewayError as exc:
            return await self._lost(attempt, str(exc))
        data = reply.object()
        pay_token, url, notif = (
            text(data.get("pay_token")),
            text(data.get("payment_url")),
            text(data.get("notif_token")),
        )
        if reply.ok and pay_token and url and notif:
            opened = replace(attempt, state=AttemptState.OPEN, token=pay_token, callback_digest=digest(notif))
            await self.attempts.settle(opened)
            action = NextAction(NextActionType.REDIRECT, url)
            return GatewayResult(PaymentStatus.PROCESSING, order_id, next_action=action)
        if reply.ok or reply.status >= 500:
            return await self._lost(attempt, f"orange_money answered {reply.status} without a payment link")
        await self.attempts.settle(replace(attempt, state=AttemptState.ABANDONED))
        raise _refused(reply)

    async def _lost(self, attempt: ProviderAttempt, why: str) -> GatewayResult:
        await self.attempts.settle(replace(attempt, state=AttemptState.ABANDONED))
        raise GatewayUnavailableError(f"{why}; the payment link never reached the payer: nothing can be paid")

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        attempt = await self.attempts.latest(payment.id)
        return await self._status(attempt) if attempt is not None else None


# -- inbound ------------------------------------------------------------------------------


class OrangeWebhooks(HintReceiver[OrangeGateway]):
    """`POST /v1/webhooks/orange_money`: the notif_token must be one Orange gave payedge."""

    provider = NAME

    async def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        gateway = self.configured()
        data = json_object(body)
        token = data.get("notif_token") if data is not None else None
        if data is None or not isinstance(token, str) or not token:
            raise WebhookRejectedError(
                "invalid_signature", "no notif_token in the notification", "notif_token"
            )
        presented = digest(token)
        attempt = await gateway.attempts.by_callback(presented)
        if attempt is None or not hmac.compare_digest(presented, attempt.callback_digest or ""):
            raise WebhookRejectedError(
                "invalid_signature", "the notif_token is not one Orange gave", "notif_token"
            )
        ref = attempt.provider_ref
        return self.hint(callback_id(ref, body), status_kind("notification", data), ref, attempt.payment_id)
