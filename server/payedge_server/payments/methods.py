"""A payment method id's *type*: the `payment_method_type` field of the routing rules, and how a
failure is worded to the payer (payments/declines.py: no card talk to a mobile-money payer).

payedge's payment methods are ids a gateway takes (SPEC 3, docs/gateways.md); the
rules match the kind of money behind them, so that one rule covers every gateway
that takes that kind:

| payment method | type |
|---|---|
| `pm_...` (a Stripe PaymentMethod, the sandbox's `pm_sandbox_*`) | `card` |
| `paypal` | `paypal` |
| `msisdn:<digits>` (a mobile-money payer's number: MTN MoMo, CinetPay) | `mobile_money` |
| `orange_money` | `orange_money` |
| `cinetpay`, `cinetpay:all` (the payer picks on CinetPay's page) | `cinetpay` |
| `cinetpay:mobile_money`, `cinetpay:credit_card`, `cinetpay:wallet` | `mobile_money`, `card`, `wallet` |
| anything else | none (a condition on the type is then false, `ne`/`not_in` true) |
"""

from __future__ import annotations

_EXACT = {
    "paypal": "paypal",
    "orange_money": "orange_money",
    "cinetpay": "cinetpay",
    "cinetpay:all": "cinetpay",
    "cinetpay:mobile_money": "mobile_money",
    "cinetpay:credit_card": "card",
    "cinetpay:wallet": "wallet",
}


# Every type `method_type` gives: a rule's `payment_method_type` value outside it never matches.
METHOD_TYPES = frozenset({*_EXACT.values(), "card", "mobile_money"})


def method_type(payment_method: str | None) -> str | None:
    """The routing type of a payment method id (table above), None when it has none."""
    if payment_method is None:
        return None
    found = _EXACT.get(payment_method)
    if found is not None:
        return found
    if payment_method.startswith("pm_"):
        return "card"
    if payment_method.startswith("msisdn:"):
        return "mobile_money"
    return None
