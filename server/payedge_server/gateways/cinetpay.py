"""The `cinetpay` connector: Checkout API v2 (payment init, hosted page, x-token notification, check).

Outbound (docs.cinetpay.com/api/1.0-en/checkout/initialisation, .../verification):
each confirm that needs a new attempt makes a fresh `transaction_id` (CinetPay
refuses a reused one), records it (attempts.py) BEFORE `POST /v2/payment`, and
answers `processing` with `next_action` `{type: redirect, url: payment_url}`. The
payer pays on CinetPay's page; `POST /v2/payment/check` says the truth
(`ACCEPTED`, `REFUSED`, `WAITING_*`). The money only moves on that page, reached
through `payment_url`: an init whose answer is lost (timeout, 5xx, garbage) leaves
a transaction nobody can open. payedge reads its status once (in case it was paid)
and otherwise abandons it: `GatewayUnavailableError`, and the next confirm starts a
new transaction.

Inbound (.../checkout/notification, .../checkout/hmac): a form POST whose
`x-token` header is the hex HMAC-SHA256, with the merchant's secret key, of 16
fields concatenated in the documented order. A valid x-token proves the
notification is CinetPay's, but the notification carries no status: it is
recorded, then the status poller reads `/v2/payment/check` (the docs require it).
CinetPay also pings the URL with a GET, answered 200.

Amounts: integers (XOF, XAF, CDF, GNF, USD; CDF and USD in whole units at
CinetPay), multiples of 5 except USD (CinetPay: "must be a multiple of 5";
integrators exempt USD). No refund API in Checkout v2: refunds are made from the
merchant back office.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import parse_qs

import payedge

from payedge_server.config.sections.cinetpay import CinetPayConfig
from payedge_server.contracts import Store
from payedge_server.gateways.amounts import Scale
from payedge_server.gateways.attempts import AttemptLog, AttemptState, ProviderAttempt
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
    callback_id,
)
from payedge_server.gateways.http import ProviderHttp, Reply, field, text
from payedge_server.gateways.polling import PollPolicy
from payedge_server.payments.model import LastError, NextAction, NextActionType, Payment, PaymentStatus

NAME = "cinetpay"
SCALE = Scale(
    NAME,
    exponents={"CDF": 0, "USD": 0},
    multiples={"XOF": 5, "XAF": 5, "CDF": 5, "GNF": 5},
    currencies=frozenset({"XOF", "XAF", "CDF", "GNF", "USD"}),
)
#: A mobile-money payer's number (`msisdn:<E.164 digits>`, as MTN MoMo takes it): CinetPay,
#: an aggregator of the West and Central African operators, charges it through its
#: MOBILE_MONEY channel with the number filled in and locked (`customer_phone_number`,
#: `lock_phone_number`), so a MoMo payment can fall back to CinetPay (SPEC 5).
PAYER = re.compile(r"msisdn:([0-9]{5,15})")
#: payment_method -> CinetPay `channels`.
CHANNELS = {
    "cinetpay": "ALL",
    "cinetpay:all": "ALL",
    "cinetpay:mobile_money": "MOBILE_MONEY",
    "cinetpay:credit_card": "CREDIT_CARD",
    "cinetpay:wallet": "WALLET",
}
#: The x-token's fields, in the order they are concatenated (docs.cinetpay.com, checkout/hmac).
TOKEN_FIELDS = (
    "cpm_site_id",
    "cpm_trans_id",
    "cpm_trans_date",
    "cpm_amount",
    "cpm_currency",
    "signature",
    "payment_method",
    "cel_phone_num",
    "cpm_phone_prefixe",
    "cpm_language",
    "cpm_version",
    "cpm_payment_config",
    "cpm_page_action",
    "cpm_custom",
    "cpm_designation",
    "cpm_error_message",
)
_WAITING = frozenset(
    {"WAITING_FOR_CUSTOMER", "WAITING_CUSTOMER_TO_VALIDATE", "WAITING_CUSTOMER_PAYMENT", "PENDING", "CREATED"}
)
_REFUSED = frozenset({"REFUSED", "CANCELED", "CANCELLED", "FAILED"})


def _payment_failed(code: str, message: str) -> LastError:
    return LastError("payment_failed", f"CinetPay: {message}", f"{code} {message}".strip())


def check_result(reply: Reply, attempt: ProviderAttempt) -> GatewayResult | None:
    """A `/v2/payment/check` answer about `attempt` (None: CinetPay has no such transaction)."""
    data = reply.object()
    code, message = str(data.get("code") or ""), str(data.get("message") or "")
    if reply.status == 404 or code == "404":
        return None
    status = text(field(data, "data", "status"))
    ref = attempt.provider_ref
    if code == "00" and status == "ACCEPTED":
        units = field(data, "data", "amount")
        captured = int(units) if isinstance(units, int | str) and str(units).isdigit() else None
        minor = SCALE.from_provider(captured, attempt.currency) if captured is not None else None
        if minor is None or field(data, "data", "currency") != attempt.currency:
            raise GatewayUnavailableError("cinetpay answered an accepted payment without a readable amount")
        return GatewayResult(PaymentStatus.SUCCEEDED, ref, amount_captured=minor)
    if status in _WAITING:
        return GatewayResult(PaymentStatus.PROCESSING, ref)
    if status in _REFUSED:
        return GatewayResult(PaymentStatus.REQUIRES_PAYMENT_METHOD, ref, error=_payment_failed(code, message))
    raise GatewayUnavailableError(f"cinetpay answered a check with code {code[:10]!r} and no known status")


def _payer(payment_method: str | None) -> dict[str, object]:
    """The payer's number, when the payment method names one: mobile money, that number only."""
    found = PAYER.fullmatch(payment_method or "")
    if found is None:
        return {}
    return {
        "channels": "MOBILE_MONEY",
        "customer_phone_number": "+" + found.group(1),
        "lock_phone_number": True,
    }


def _init_error(reply: Reply) -> GatewayError:
    data = reply.object()
    code, description = str(data.get("code") or reply.status), str(data.get("description") or "")[:200]
    message = str(data.get("message") or "")
    if reply.status in (401, 403) or code in ("609", "613"):
        return GatewayUnavailableError(f"cinetpay refused payedge's credentials ({code} {message})")
    param = "amount" if code in ("641", "642") else None
    return GatewayRejectedError(
        "gateway_rejected", f"cinetpay refused the payment: {message} {description}".strip(), param,
        gateway_code=f"{code} {message}".strip(),
    )  # fmt: skip


class CinetPayGateway(HintedGateway):
    name = NAME
    REFUND_REFUSAL = "CinetPay's Checkout API has no refund call: refund from the CinetPay back office"

    def __init__(self, config: CinetPayConfig, store: Store, notify_url: str, return_url: str) -> None:
        assert config.apikey and config.site_id and config.secret_key
        self.http = ProviderHttp(NAME, config.api_base, config.timeout)
        self.apikey, self.site_id, self.secret_key = config.apikey, config.site_id, config.secret_key
        self.attempts = AttemptLog(store, NAME)
        self.notify_url, self.return_url = notify_url, return_url
        self.poll = PollPolicy(config.poll_interval, config.poll_max_interval, config.poll_for)

    def check_payment_method(self, payment_method: str) -> str | None:
        if payment_method in CHANNELS or PAYER.fullmatch(payment_method):
            return None
        return "the cinetpay gateway takes payment_method " + ", ".join(CHANNELS) + " or msisdn:<number>"

    def check_amount(self, amount: int, currency: str) -> None:
        SCALE.to_provider(amount, currency)

    async def confirm(self, payment: Payment, *, idempotency_key: str) -> GatewayResult:
        latest = await self.attempts.latest(payment.id)
        if latest is not None:
            resumed = await self._resume(latest)
            if resumed is not None:
                return resumed
        return await self._start(payment)

    async def _resume(self, attempt: ProviderAttempt) -> GatewayResult | None:
        """The previous attempt, if it still matters: paid (apply it) or in flight (busy)."""
        if attempt.state is AttemptState.SENDING and attempt.age < 2 * self.http.timeout:
            raise GatewayUnavailableError(
                "a cinetpay attempt for this payment is still in flight: retry shortly"
            )
        found = await self._check(attempt)
        if found is not None and found.status is PaymentStatus.SUCCEEDED:
            return found
        if found is not None and found.status is PaymentStatus.PROCESSING:
            # Waiting, but the payment can be confirmed again: its link never reached the payer.
            await self._abandon(attempt)
        return None

    async def _start(self, payment: Payment) -> GatewayResult:
        ref = f"{payment.id}-{secrets.token_hex(4)}"
        attempt = await self.attempts.start(
            ProviderAttempt(NAME, ref, payment.id, payment.amount, payment.currency)
        )
        body = {
            "apikey": self.apikey,
            "site_id": self.site_id,
            "transaction_id": ref,
            "amount": SCALE.to_provider(payment.amount, payment.currency),
            "currency": payment.currency,
            "description": f"Payment {payment.id[4:]}",  # CinetPay: no # / $ _ & in a description
            "notify_url": self.notify_url,
            "return_url": self.return_url.replace("{payment_id}", payment.id),
            "channels": CHANNELS.get(payment.payment_method or "", "ALL"),
            "metadata": payment.id,
            **_payer(payment.payment_method),
        }
        try:
            reply = await self.http.send("POST", "/v2/payment", write=True, json=body)
        except GatewayError as exc:
            return await self._lost(attempt, str(exc))
        url = text(field(reply.object(), "data", "payment_url"))
        token = text(field(reply.object(), "data", "payment_token"))
        if reply.ok and str(reply.object().get("code")) == "201" and url and token:
            await self.attempts.settle(replace(attempt, state=AttemptState.OPEN, token=token))
            action = NextAction(NextActionType.REDIRECT, url)
            return GatewayResult(PaymentStatus.PROCESSING, ref, next_action=action)
        if reply.status >= 500 or reply.ok:
            return await self._lost(attempt, f"cinetpay answered {reply.status} without a payment link")
        await self._abandon(attempt)
        raise _init_error(reply)

    async def _lost(self, attempt: ProviderAttempt, why: str) -> GatewayResult:
        """An init whose answer was lost: paid (impossible without the link, but read), else abandoned."""
        try:
            found = await self._check(attempt)
        except GatewayError:
            found = None
        if found is not None and found.status is PaymentStatus.SUCCEEDED:
            return found
        await self._abandon(attempt)
        raise GatewayUnavailableError(f"{why}; the payment link never reached the payer: nothing can be paid")

    async def _abandon(self, attempt: ProviderAttempt) -> None:
        await self.attempts.settle(replace(attempt, state=AttemptState.ABANDONED))

    async def _check(self, attempt: ProviderAttempt) -> GatewayResult | None:
        body = {"apikey": self.apikey, "site_id": self.site_id, "transaction_id": attempt.provider_ref}
        reply = await self.http.send("POST", "/v2/payment/check", write=False, json=body)
        if reply.status in (401, 403):
            raise GatewayUnavailableError(f"cinetpay refused payedge's credentials ({reply.status})")
        return check_result(reply, attempt)

    async def retrieve(self, payment: Payment) -> GatewayResult | None:
        attempt = await self.attempts.latest(payment.id)
        return await self._check(attempt) if attempt is not None else None

    async def ready(self) -> bool:
        probe = ProviderAttempt(NAME, "payedge-readiness-probe", "", 0, "XOF")
        try:
            await self._check(probe)
        except GatewayError:
            return False
        return True


# -- inbound ------------------------------------------------------------------------------


class CinetPayWebhooks(HintReceiver[CinetPayGateway]):
    """`POST /v1/webhooks/cinetpay`: x-token verified, recorded, then the status is read (check)."""

    provider = NAME

    async def parse(self, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        gateway = self.configured()
        token = headers.get("x-token")
        if not token:
            raise WebhookRejectedError("invalid_signature", "missing x-token header", "x-token")
        fields = _form(body)
        signed = "".join(fields.get(name, "") for name in TOKEN_FIELDS).encode()
        try:
            payedge.verify_hmac(signed, token, gateway.secret_key, encoding="hex")
        except payedge.PayedgeError:
            raise WebhookRejectedError("invalid_signature", "the x-token does not match", "x-token") from None
        ref = fields.get("cpm_trans_id") or ""
        attempt = await gateway.attempts.find(ref) if ref else None
        event_id = callback_id(ref[:80], body)
        if attempt is None:
            return InboundEvent(event_id, "notification", ref or None, problem="no cpm_trans_id payedge made")
        return self.hint(event_id, "notification", ref, attempt.payment_id)


def _form(body: bytes) -> dict[str, str]:
    """A form body's fields (first value of each); refused when it is not a form at all."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejectedError("invalid_payload", "the notification is not a form body") from None
    return {key: values[0] for key, values in parsed.items()}
