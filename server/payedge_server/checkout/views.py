"""The hosted checkout's documents: the checkout page, the receipt, and the one "not found" page.

Everything a customer reads is written here, on the server, in the page's locale
(i18n.py): checkout.js only moves between states (it reloads the page, or goes to
the receipt, when payedge.js reports that the payment changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from payedge_server.checkout.forms import Form, gateway_name
from payedge_server.checkout.i18n import money, t
from payedge_server.pages import esc
from payedge_server.payments.declines import customer_message

_HEAD = """<!doctype html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/checkout/static/checkout.css">
{scripts}</head>
"""
_SCRIPTS = (
    '<script src="/static/payedge.js" defer></script>\n'
    '<script src="/checkout/static/checkout.js" defer></script>\n'
)


@dataclass(frozen=True, slots=True)
class Context:
    """What a page shows: the order and its payment as the API shows them, in `locale`."""

    order: dict[str, Any]
    payment: dict[str, Any]
    locale: str
    secret: str
    seller: str

    def url(self, suffix: str = "") -> str:
        return f"/checkout/{self.order['id']}{suffix}?client_secret={quote(self.secret, safe='')}"

    def money(self, amount: int) -> str:
        return money(amount, self.order["currency"], self.locale)

    def text(self, key: str, **values: str) -> str:
        return esc(t(key, self.locale, **values))

    def failure(self) -> str | None:
        """The customer message of the payment's last failure, in the page's locale."""
        error = self.payment.get("last_error")
        if not error:
            return None
        method = self.payment.get("payment_method")
        return customer_message(error["code"], error.get("gateway_code"), self.locale, method)


def _items(ctx: Context) -> str:
    rows = "".join(
        f'<tr><td>{esc(item["name"])}</td><td class="num">{item["quantity"]}</td>'
        f'<td class="num">{esc(ctx.money(item["unit_amount"]))}</td>'
        f'<td class="num">{esc(ctx.money(item["amount"]))}</td></tr>'
        for item in ctx.order["items"]
    )
    return (
        f'<table class="items"><thead><tr><th scope="col">{ctx.text("item")}</th>'
        f'<th scope="col" class="num">{ctx.text("quantity")}</th>'
        f'<th scope="col" class="num">{ctx.text("unit")}</th>'
        f'<th scope="col" class="num">{ctx.text("amount")}</th></tr></thead><tbody>{rows}</tbody>'
        f'<tfoot><tr><th scope="row" colspan="3">{ctx.text("total")}</th>'
        f'<td class="num total" id="total">{esc(ctx.money(ctx.order["amount"]))}</td></tr></tfoot></table>'
    )


def _card_form(ctx: Context, pay: str) -> str:
    cards = (
        ("4242 4242 4242 4242", "card_ok"),
        ("4000 0000 0000 0002", "card_declined"),
        ("4000 0000 0000 3220", "card_async"),
    )
    listed = "".join(f"<li><code>{number}</code> — {ctx.text(key)}</li>" for number, key in cards)
    return f"""<form id="pay-form" data-kind="card" novalidate>
<label for="card-number">{ctx.text("card_number")}</label>
<input id="card-number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242"
 maxlength="23" required aria-describedby="test-cards">
<div class="pair">
<div><label for="card-expiry">{ctx.text("expiry")}</label>
<input id="card-expiry" inputmode="numeric" autocomplete="cc-exp" placeholder="12/34" maxlength="5"
 required></div>
<div><label for="card-cvc">{ctx.text("cvc")}</label>
<input id="card-cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" maxlength="4" required></div>
</div>
<p class="field-error" id="card-error" role="alert" hidden>{ctx.text("card_unknown")}</p>
<button type="submit" id="pay-button">{pay}</button>
<details id="test-cards"><summary>{ctx.text("test_cards")}</summary><ul>{listed}</ul></details>
</form>"""


def _phone_form(ctx: Context, pay: str) -> str:
    return f"""<form id="pay-form" data-kind="phone" novalidate>
<label for="phone">{ctx.text("phone")}</label>
<input id="phone" type="tel" inputmode="numeric" autocomplete="tel" pattern="[0-9]{{5,15}}" required
 aria-describedby="phone-help">
<p class="help" id="phone-help">{ctx.text("phone_help")}</p>
<p class="field-error" id="phone-error" role="alert" hidden>{ctx.text("phone_bad")}</p>
<button type="submit" id="pay-button">{pay}</button>
</form>"""


def _form(ctx: Context, form: Form) -> str:
    pay = ctx.text("pay", amount=ctx.money(ctx.order["amount"]))
    gateway = gateway_name(str(ctx.payment.get("gateway")))
    if form.kind == "card":
        return _card_form(ctx, pay)
    if form.kind == "phone":
        return _phone_form(ctx, pay)
    if form.kind in ("hosted", "confirm"):
        label = ctx.text("continue", gateway=gateway) if form.kind == "hosted" else pay
        method = f' data-method="{esc(form.method)}"' if form.method else ""
        return (
            f'<form id="pay-form" data-kind="{form.kind}"{method}>'
            f'<button type="submit" id="pay-button">{label}</button></form>'
        )
    if form.kind == "redirect":
        return (
            f'<p class="waiting">{ctx.text("redirect", gateway=gateway)}</p>'
            f'<p><a class="button" id="redirect-link" href="{esc(form.url)}">'
            f"{ctx.text('continue', gateway=gateway)}</a></p>"
        )
    return _state(ctx, form)


def _state(ctx: Context, form: Form) -> str:
    status = ctx.order["status"]
    if form.kind == "phone_wait":
        return f'<p class="waiting" id="waiting">{ctx.text("approve_phone")}</p>'
    if form.kind == "wait":
        return f'<p class="waiting" id="waiting">{ctx.text("waiting")}</p>'
    if status in ("paid", "fulfilled"):
        return (
            f'<p class="done ok">{ctx.text("paid")}</p>'
            f'<p><a class="button" id="receipt-link" href="{esc(ctx.url("/receipt"))}">'
            f"{ctx.text('see_receipt')}</a></p>"
        )
    if status == "refunded":
        return f'<p class="done">{ctx.text("refunded")}</p>'
    if status == "canceled":
        return f'<p class="done bad" id="canceled">{ctx.text("canceled")}</p>'
    return f'<p class="done bad">{ctx.text("unavailable")}</p>'


def checkout_page(ctx: Context, form: Form) -> str:
    order, payment = ctx.order, ctx.payment
    failure = ctx.failure()
    message = esc(failure) if failure else ""
    attrs = {
        "data-order": order["id"],
        "data-payment": payment["id"],
        "data-version": str(payment["version"]),
        "data-status": payment["status"],
        "data-order-status": order["status"],
        "data-form": form.kind,
        "data-locale": ctx.locale,
        "data-secret": ctx.secret,
        "data-pay-url": f"/checkout/{order['id']}/pay",
        "data-receipt-url": ctx.url("/receipt"),
    }
    data = " ".join(f'{name}="{esc(value)}"' for name, value in attrs.items())
    return (
        _HEAD.format(locale=ctx.locale, title=f"{ctx.text('title')} · {esc(ctx.seller)}", scripts=_SCRIPTS)
        + f"""<body>
<main id="checkout" {data}>
<header><p class="seller">{esc(ctx.seller)}</p>
<h1>{ctx.text("order")} <span class="ref">{esc(order["id"])}</span></h1></header>
<section class="summary" aria-label="{ctx.text("order")}">{_items(ctx)}</section>
<section class="pay">
<p id="message" class="message" role="alert"{"" if message else " hidden"}>{message}</p>
<div id="form-area">{_form(ctx, form)}</div>
<p id="live-status" class="live-status" role="status" aria-live="polite"></p>
</section>
</main>
</body>
</html>
"""
    )


def _receipt_rows(ctx: Context) -> str:
    order = ctx.order
    rows = [
        (ctx.text("receipt_number"), esc(order["receipt"]["number"]) if order.get("receipt") else ""),
        (ctx.text("paid_on"), _date(order.get("paid_at"), ctx.locale)),
        (ctx.text("paid_by"), esc(gateway_name(str(order.get("gateway"))))),
        (ctx.text("customer"), esc(order["customer"]["email"])),
    ]
    if order.get("amount_refunded"):
        rows.append((ctx.text("refunded_amount"), esc(ctx.money(order["amount_refunded"]))))
    return "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)


def _date(seconds: int | None, locale: str) -> str:
    import datetime

    if not seconds:
        return ""
    at = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return at.strftime("%d/%m/%Y %H:%M UTC" if locale == "fr" else "%Y-%m-%d %H:%M UTC")


def receipt_page(ctx: Context) -> str:
    return (
        _HEAD.format(
            locale=ctx.locale,
            title=f"{ctx.text('receipt')} · {esc(ctx.seller)}",
            scripts='<script src="/checkout/static/checkout.js" defer></script>\n',
        )
        + f"""<body>
<main id="receipt" data-order="{esc(ctx.order["id"])}" data-order-status="{esc(ctx.order["status"])}">
<header><p class="seller">{esc(ctx.seller)}</p>
<h1>{ctx.text("receipt")}</h1>
<p class="done ok" id="paid">{ctx.text("paid")}</p></header>
<table class="facts">{_receipt_rows(ctx)}</table>
<section class="summary" aria-label="{ctx.text("order")}">{_items(ctx)}</section>
<p class="no-print"><button type="button" id="print-button" class="secondary">{ctx.text("print")}</button></p>
</main>
</body>
</html>
"""
    )


def return_page(locale: str, payment_id: str) -> str:
    """Where a provider sends the payer back (`/checkout/payments/{payment_id}`): it shows nothing of
    the payment; checkout.js finds the checkout this tab came from (kept in sessionStorage before the
    redirect: the client secret never travels through the provider) and goes back to it."""
    title = esc(t("title", locale))
    return (
        _HEAD.format(
            locale=locale, title=title, scripts='<script src="/checkout/static/checkout.js" defer></script>\n'
        )
        + f"""<body>
<main id="returned" data-payment="{esc(payment_id)}">
<p class="waiting" id="returning">{esc(t("returning", locale))}</p>
<p class="done" id="returned-text" hidden>{esc(t("returned", locale))}</p>
</main>
</body>
</html>
"""
    )


def not_found_page(locale: str) -> str:
    title = esc(t("not_found", locale))
    return (
        _HEAD.format(locale=locale, title=title, scripts="")
        + f"""<body>
<main id="not-found"><h1>{title}</h1><p>{esc(t("not_found_text", locale))}</p></main>
</body>
</html>
"""
    )
