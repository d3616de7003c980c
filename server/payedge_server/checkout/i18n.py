"""The hosted checkout's words in English and French, and money as a customer reads it.

The page speaks the order's locale (`locale` when the order was made, or its
request's `Accept-Language`), else the browser's `Accept-Language`, else English.
"""

from __future__ import annotations

from typing import Final

from payedge_server.payments.currencies import minor_units
from payedge_server.payments.declines import DEFAULT_LOCALE, LOCALES, negotiate

TEXT: Final[dict[str, tuple[str, str]]] = {
    "title": ("Checkout", "Paiement"),
    "order": ("Order", "Commande"),
    "item": ("Item", "Article"),
    "quantity": ("Qty", "Qté"),
    "unit": ("Unit price", "Prix unitaire"),
    "amount": ("Amount", "Montant"),
    "total": ("Total", "Total"),
    "pay": ("Pay {amount}", "Payer {amount}"),
    "card_number": ("Card number", "Numéro de carte"),
    "expiry": ("Expiry (MM/YY)", "Expiration (MM/AA)"),
    "cvc": ("Security code", "Cryptogramme"),
    "test_cards": ("Sandbox test cards", "Cartes de test du sandbox"),
    "card_ok": ("paid", "payée"),
    "card_declined": ("declined", "refusée"),
    "card_async": ("confirmed a moment later", "confirmée un instant plus tard"),
    "card_unknown": (
        "Use one of the sandbox test cards below.",
        "Utilisez une des cartes de test ci-dessous.",
    ),
    "phone": ("Mobile money number", "Numéro mobile money"),
    "phone_help": ("Digits only, with the country code.", "Chiffres uniquement, avec l'indicatif du pays."),
    "phone_bad": ("Enter 5 to 15 digits.", "Saisissez 5 à 15 chiffres."),
    "continue": ("Continue to {gateway}", "Continuer vers {gateway}"),
    "waiting": ("Waiting for the payment to be confirmed…", "En attente de la confirmation du paiement…"),
    "approve_phone": (
        "Approve the payment on your phone to finish.",
        "Validez le paiement sur votre téléphone pour terminer.",
    ),
    "redirect": ("Finish the payment at {gateway}.", "Terminez le paiement chez {gateway}."),
    "paid": ("Paid — thank you!", "Payé — merci !"),
    "see_receipt": ("See the receipt", "Voir le reçu"),
    "canceled": ("This order was canceled.", "Cette commande a été annulée."),
    "refunded": ("This order was refunded.", "Cette commande a été remboursée."),
    "unavailable": (
        "This payment cannot be taken on this page. Contact the seller.",
        "Ce paiement ne peut pas être réglé sur cette page. Contactez le vendeur.",
    ),
    "receipt": ("Receipt", "Reçu"),
    "receipt_number": ("Receipt number", "Numéro de reçu"),
    "paid_on": ("Paid on", "Payé le"),
    "paid_by": ("Paid with", "Payé avec"),
    "refunded_amount": ("Refunded", "Remboursé"),
    "customer": ("Customer", "Client"),
    "print": ("Print", "Imprimer"),
    "not_found": ("Not found", "Introuvable"),
    "not_found_text": (
        "There is nothing at this address. Check the link you were given.",
        "Il n'y a rien à cette adresse. Vérifiez le lien que vous avez reçu.",
    ),
    "live_error": ("Connection lost: retrying…", "Connexion perdue : nouvelle tentative…"),
    "returning": (
        "Back from the payment: opening your order…",
        "Retour du paiement : ouverture de votre commande…",
    ),
    "returned": (
        "Thank you. Your payment is being confirmed; the seller confirms your order once it is.",
        "Merci. Votre paiement est en cours de confirmation ; le vendeur confirmera votre commande ensuite.",
    ),
}


def t(key: str, locale: str, **values: str) -> str:
    en, fr = TEXT[key]
    text = fr if locale == "fr" else en
    return text.format(**values) if values else text


def page_locale(order_locale: str | None, accept_language: str | None) -> str:
    if order_locale in LOCALES:
        return order_locale
    return negotiate(accept_language) or DEFAULT_LOCALE


def money(amount: int, currency: str, locale: str) -> str:
    """`29.00 EUR` (en), `29,00 EUR` (fr, with a narrow no-break space between thousands)."""
    digits = minor_units(currency) or 0
    whole, fraction = divmod(amount, 10**digits)
    grouped = f"{whole:,}"
    if locale == "fr":
        grouped = grouped.replace(",", "\u202f")
    text = grouped if digits == 0 else f"{grouped}{',' if locale == 'fr' else '.'}{fraction:0{digits}d}"
    return f"{text}\u00a0{currency}"
