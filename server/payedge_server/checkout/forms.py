"""Which payment form the hosted checkout shows: chosen from the payment's gateway and `next_action`.

The page never hard-codes a provider: routing may give a payment any gateway, and the
page follows. The kinds:

- `redirect`: the payment waits at the provider (`next_action` `{type: redirect, url}`,
  PayPal, CinetPay, Orange Money): a link there;
- `phone_wait`: MTN MoMo asked the payer to approve on their phone;
- `card`: the sandbox's card form (test card numbers become sandbox payment methods in
  the browser: no card number ever reaches the server);
- `phone`: a mobile-money number (`msisdn:<digits>`, mtn_momo);
- `hosted`: one button that confirms with the gateway's method, then follows the
  redirect it answers with (paypal, orange_money, cinetpay);
- `confirm`: the merchant attached a payment method when creating the payment: one button;
- `none`: nothing this page can take (e.g. stripe without an attached method: Stripe's
  card form is Stripe.js, which a page loading nothing from elsewhere cannot use).

`allowed` is what the pay endpoint accepts from the browser for each kind: a client
secret confirms its payment only with a method of the form it was shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

SANDBOX_METHODS: Final = frozenset(
    {"pm_sandbox_ok", "pm_sandbox_decline", "pm_sandbox_async", "pm_sandbox_unavailable"}
)
HOSTED_METHODS: Final = {"paypal": "paypal", "orange_money": "orange_money", "cinetpay": "cinetpay"}
MSISDN: Final = re.compile(r"msisdn:[0-9]{5,15}")
CONFIRMABLE: Final = frozenset({"requires_payment_method", "requires_confirmation"})
GATEWAY_NAMES: Final = {
    "paypal": "PayPal",
    "orange_money": "Orange Money",
    "cinetpay": "CinetPay",
    "mtn_momo": "MTN MoMo",
    "stripe": "Stripe",
    "sandbox": "Sandbox",
}


@dataclass(frozen=True, slots=True)
class Form:
    kind: str
    url: str | None = None  # redirect
    method: str | None = None  # hosted


# The forms a pay call may confirm from ("none" too: its refusal is about the method); the
# others (done, wait, redirect, phone_wait) have nothing left to confirm.
PAYABLE = frozenset({"card", "phone", "hosted", "confirm", "none"})


def form_for(payment: dict[str, Any]) -> Form:
    """The form for a payment as the API shows it (`gateway`, `status`, `payment_method`, `next_action`)."""
    action = payment.get("next_action") or {}
    if payment.get("status") == "processing":
        if action.get("type") == "redirect" and isinstance(action.get("url"), str):
            return Form("redirect", url=action["url"])
        if action.get("type") == "approve_on_phone":
            return Form("phone_wait")
        return Form("wait")
    if payment.get("status") not in CONFIRMABLE:
        return Form("done")
    gateway = str(payment.get("gateway"))
    if gateway == "sandbox":
        return Form("card")
    if gateway == "mtn_momo":
        return Form("phone")
    if gateway in HOSTED_METHODS:
        return Form("hosted", method=HOSTED_METHODS[gateway])
    if payment.get("payment_method"):
        return Form("confirm")
    return Form("none")


def allowed(form: Form, payment_method: str | None) -> bool:
    """Whether the browser may confirm with `payment_method` (None: the attached one) on this form."""
    if form.kind == "card":
        return payment_method in SANDBOX_METHODS
    if form.kind == "phone":
        return payment_method is not None and MSISDN.fullmatch(payment_method) is not None
    if form.kind == "hosted":
        return payment_method == form.method
    return form.kind == "confirm" and payment_method is None


def gateway_name(gateway: str) -> str:
    return GATEWAY_NAMES.get(gateway, gateway)
