"""Why a payment failed, said to the customer: decline codes to messages in English and French.

A `LastError` carries payedge's `code` (`card_declined`, `payment_failed`,
`gateway_unavailable`, ...) and the provider's own `gateway_code` (Stripe's decline
codes: https://docs.stripe.com/declines/codes). The customer sees
`last_error.customer_message`, in the payment's locale: the provider's code when it
is one we know, else payedge's code, else a generic decline. As Stripe advises,
`lost_card`, `stolen_card`, `pickup_card`, `fraudulent` and kin are shown as a
generic decline: telling the person at the till that the card is reported stolen
helps nobody but a thief.
"""

from __future__ import annotations

from typing import Final

from payedge_server.payments.methods import METHOD_TYPES, method_type

LOCALES: Final = ("en", "fr")
DEFAULT_LOCALE: Final = "en"

_GENERIC = (
    "Your card was declined. Use another card or contact your bank.",
    "Votre carte a été refusée. Utilisez une autre carte ou contactez votre banque.",
)
_RETRY = (
    "An error occurred while processing your payment. Try again in a moment.",
    "Une erreur s'est produite lors du traitement de votre paiement. Réessayez dans un instant.",
)
_UNAVAILABLE = (
    "The payment service is unavailable right now. Try again in a few minutes.",
    "Le service de paiement est indisponible pour le moment. Réessayez dans quelques minutes.",
)
_FUNDS = (
    "Your card has insufficient funds. Use another card.",
    "Les fonds disponibles sur votre carte sont insuffisants. Utilisez une autre carte.",
)
_EXPIRED = ("Your card has expired. Use another card.", "Votre carte a expiré. Utilisez une autre carte.")
_CVC = (
    "Your card's security code is incorrect. Check it and try again.",
    "Le code de sécurité de votre carte est incorrect. Vérifiez-le et réessayez.",
)
_NUMBER = (
    "Your card number is incorrect. Check it and try again.",
    "Le numéro de votre carte est incorrect. Vérifiez-le et réessayez.",
)
_EXPIRY = (
    "Your card's expiry date is incorrect. Check it and try again.",
    "La date d'expiration de votre carte est incorrecte. Vérifiez-la et réessayez.",
)
_NOT_SUPPORTED = (
    "Your card does not support this kind of purchase. Use another card.",
    "Votre carte ne permet pas ce type d'achat. Utilisez une autre carte.",
)
_CURRENCY = (
    "Your card does not support this currency. Use another card.",
    "Votre carte n'accepte pas cette devise. Utilisez une autre carte.",
)
_LIMIT = (
    "Your card's limit is reached. Use another card or contact your bank.",
    "Le plafond de votre carte est atteint. Utilisez une autre carte ou contactez votre banque.",
)
_AUTHENTICATION = (
    "Your bank asks you to authenticate this payment. Try again and follow your bank's steps.",
    "Votre banque demande d'authentifier ce paiement. Réessayez en suivant les étapes de votre banque.",
)
_FAILED = (
    "The payment could not be completed. Try again or use another payment method.",
    "Le paiement n'a pas pu aboutir. Réessayez ou utilisez un autre moyen de paiement.",
)
_CANCELED = ("The payment was canceled.", "Le paiement a été annulé.")
_NOT_APPROVED = (
    "The payment was not approved on your phone. Try again.",
    "Le paiement n'a pas été validé sur votre téléphone. Réessayez.",
)
_NO_ACCOUNT = (
    "No mobile money account was found for this number. Check it and try again.",
    "Aucun compte mobile money n'existe pour ce numéro. Vérifiez-le et réessayez.",
)
_EXPIRED_REQUEST = (
    "The payment request expired before it was approved. Try again.",
    "La demande de paiement a expiré avant sa validation. Réessayez.",
)

# Lower-case codes: Stripe's decline codes, the mobile-money codes the connectors pass on,
# and payedge's own codes (the fallback when the provider gave none we know).
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "generic_decline": _GENERIC,
    "card_declined": _GENERIC,
    "do_not_honor": _GENERIC,
    "do_not_try_again": _GENERIC,
    "call_issuer": _GENERIC,
    "no_action_taken": _GENERIC,
    "not_permitted": _GENERIC,
    "revocation_of_authorization": _GENERIC,
    "transaction_not_allowed": _GENERIC,
    "invalid_account": _GENERIC,
    "new_account_information_available": _GENERIC,
    "lost_card": _GENERIC,
    "stolen_card": _GENERIC,
    "pickup_card": _GENERIC,
    "restricted_card": _GENERIC,
    "fraudulent": _GENERIC,
    "merchant_blacklist": _GENERIC,
    "security_violation": _GENERIC,
    "insufficient_funds": _FUNDS,
    "not_enough_funds": _FUNDS,
    "expired_card": _EXPIRED,
    "incorrect_cvc": _CVC,
    "invalid_cvc": _CVC,
    "incorrect_number": _NUMBER,
    "invalid_number": _NUMBER,
    "invalid_expiry_month": _EXPIRY,
    "invalid_expiry_year": _EXPIRY,
    "card_not_supported": _NOT_SUPPORTED,
    "currency_not_supported": _CURRENCY,
    "card_velocity_exceeded": _LIMIT,
    "withdrawal_count_limit_exceeded": _LIMIT,
    "invalid_amount": _LIMIT,
    "authentication_required": _AUTHENTICATION,
    # mobile money (MTN MoMo's reasons, lower-cased) and PayPal's instrument decline
    "approval_rejected": _NOT_APPROVED,
    "payer_not_found": _NO_ACCOUNT,
    "expired": _EXPIRED_REQUEST,
    "instrument_declined": _GENERIC,
    "approve_with_id": _RETRY,
    "issuer_not_available": _RETRY,
    "processing_error": _RETRY,
    "reenter_transaction": _RETRY,
    "try_again_later": _RETRY,
    "gateway_unavailable": _UNAVAILABLE,
    "payment_failed": _FAILED,
    "canceled": _CANCELED,
}


def negotiate(accept_language: str | None) -> str | None:
    """The best of LOCALES for an `Accept-Language` header (RFC 9110 12.5.4), or None.

    `fr-CA;q=0.8, en;q=0.5` -> "fr". A language with q=0 is refused, as the RFC says.
    """
    if not accept_language:
        return None
    best: tuple[float, int, str] | None = None
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-", 1)[0]
        if language not in LOCALES:
            continue
        weight = _quality(params)
        # The highest weight wins; among equal weights the one listed first.
        if weight > 0 and (best is None or (weight, -index) > (best[0], best[1])):
            best = (weight, -index, language)
    return best[2] if best else None


def _quality(params: str) -> float:
    name, _, value = params.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return weight if 0.0 <= weight <= 1.0 else 0.0


def locale_or_default(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


# The same reasons said to a payer who paid without a card (a mobile-money account, a
# PayPal or CinetPay wallet): "Your card has insufficient funds" to a MoMo payer is wrong,
# and the card-only reasons (security code, number, expiry) cannot be theirs.
_DECLINED_NO_CARD = (
    "Your payment was declined. Use another payment method or contact your provider.",
    "Votre paiement a été refusé. Utilisez un autre moyen de paiement ou contactez votre opérateur.",
)
_FUNDS_NO_CARD = (
    "Your account has insufficient funds. Top it up or use another payment method.",
    "Le solde de votre compte est insuffisant. Rechargez-le ou utilisez un autre moyen de paiement.",
)
_LIMIT_NO_CARD = (
    "Your account's limit is reached. Use another payment method or contact your provider.",
    "Le plafond de votre compte est atteint. "
    "Utilisez un autre moyen de paiement ou contactez votre opérateur.",
)
_CURRENCY_NO_CARD = (
    "This payment method does not support this currency. Use another one.",
    "Ce moyen de paiement n'accepte pas cette devise. Utilisez-en un autre.",
)
_CARD_ONLY: Final = (_GENERIC, _FUNDS, _EXPIRED, _CVC, _NUMBER, _EXPIRY, _NOT_SUPPORTED, _CURRENCY, _LIMIT)
_NO_CARD: Final[dict[tuple[str, str], tuple[str, str]]] = {
    **dict.fromkeys(_CARD_ONLY, _DECLINED_NO_CARD),
    _FUNDS: _FUNDS_NO_CARD,
    _LIMIT: _LIMIT_NO_CARD,
    _CURRENCY: _CURRENCY_NO_CARD,
}
# Payment method types that are not a card (payments.methods): an unknown type keeps the card
# wording, as Stripe's ids that are not `pm_` (legacy `card_`, `src_`) are cards.
_NOT_CARDS: Final = METHOD_TYPES - {"card"}


def customer_message(
    code: str, gateway_code: str | None, locale: str | None, payment_method: str | None = None
) -> str:
    """What to tell the customer about a failure, in `locale` (en when unknown).

    `payment_method` is the payment's method id: a payer who did not pay by card
    (payments.methods' types: mobile money, PayPal, Orange Money, CinetPay) is never
    told about a card.
    """
    pair = MESSAGES.get(gateway_code.lower()) if gateway_code else None
    if pair is None:
        pair = MESSAGES.get(code.lower(), _FAILED)
    if method_type(payment_method) in _NOT_CARDS:
        pair = _NO_CARD.get(pair, pair)
    return pair[1] if locale == "fr" else pair[0]
