"""SPEC 8 catalog and orders against a real `payedge serve` (SQLite and PostgreSQL).

The server prices every order from its catalog: a client-sent amount or price is
refused, wherever it is, naming the field. The order follows its payment, in the
payment's own write, through success, fulfilment, refunds and cancellation; one
Idempotency-Key sent by concurrent duplicate submissions makes one order.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest

from tests.server.orders.conftest import call, order_body

pytestmark = pytest.mark.timeout(120)


# -- the catalog ------------------------------------------------------------------------------


async def test_config_products_are_listed_and_the_api_creates_then_replaces(
    api: aiohttp.ClientSession,
) -> None:
    status, listed = await call(api, "GET", "/v1/products")
    assert status == 200
    by_id = {p["id"]: p for p in listed["data"]}
    assert by_id["basic"]["prices"] == {"EUR": 2900, "XOF": 19000} and by_id["basic"]["source"] == "config"
    assert by_id["retired"]["active"] is False
    pid = f"tea-{uuid.uuid4().hex[:6]}"
    product = {"id": pid, "name": "Green tea", "prices": {"EUR": 300, "JPY": 450}}
    assert (await call(api, "POST", "/v1/products", product))[0] == 201
    replaced = {**product, "prices": {"EUR": 320}, "active": False}
    status, body = await call(api, "POST", "/v1/products", replaced)
    assert (status, body["prices"], body["active"], body["source"]) == (200, {"EUR": 320}, False, "api")
    assert (await call(api, "GET", f"/v1/products/{pid}"))[1]["prices"] == {"EUR": 320}
    status, missing = await call(api, "GET", "/v1/products/nothing-here")
    assert (status, missing["error"]["code"]) == (404, "product_not_found")
    status, active = await call(api, "GET", "/v1/products?active=true&limit=100")
    assert status == 200 and all(p["active"] for p in active["data"])


BAD_PRODUCTS: list[tuple[dict[str, Any], str, str]] = [
    ({"name": "x", "prices": {"EUR": 1}}, "parameter_missing", "id"),
    ({"id": "a b", "name": "x", "prices": {"EUR": 1}}, "parameter_invalid", "id"),
    ({"id": "p", "prices": {"EUR": 1}}, "parameter_missing", "name"),
    ({"id": "p", "name": "x"}, "parameter_missing", "prices"),
    ({"id": "p", "name": "x", "prices": {}}, "parameter_invalid", "prices"),
    ({"id": "p", "name": "x", "prices": {"eur": 1}}, "currency_invalid", "prices.eur"),
    ({"id": "p", "name": "x", "prices": {"ZZZ": 1}}, "currency_invalid", "prices.ZZZ"),
    ({"id": "p", "name": "x", "prices": {"EUR": 0}}, "amount_invalid", "prices.EUR"),
    ({"id": "p", "name": "x", "prices": {"EUR": 1.5}}, "amount_invalid", "prices.EUR"),
    ({"id": "p", "name": "x", "prices": {"EUR": 1}, "active": "yes"}, "parameter_invalid", "active"),
    ({"id": "p", "name": "x", "prices": {"EUR": 1}, "colour": "red"}, "parameter_unknown", "colour"),
]


@pytest.mark.parametrize(("body", "code", "param"), BAD_PRODUCTS)
async def test_a_bad_product_is_refused_naming_the_field(
    api: aiohttp.ClientSession, body: dict[str, Any], code: str, param: str
) -> None:
    status, answer = await call(api, "POST", "/v1/products", body)
    assert (status, answer["error"]["code"], answer["error"].get("param")) == (400, code, param)


# -- orders: the server prices them ------------------------------------------------------------


async def test_an_order_is_priced_by_the_server(api: aiohttp.ClientSession) -> None:
    status, order = await call(api, "POST", "/v1/orders", order_body())
    assert status == 201, order
    assert (order["status"], order["payment_status"], order["amount"]) == (
        "pending",
        "requires_payment_method",
        20700,
    )
    assert [(i["product_id"], i["unit_amount"], i["amount"]) for i in order["items"]] == [
        ("basic", 2900, 5800),
        ("vip", 14900, 14900),
    ]
    assert order["client_secret"].startswith(order["payment_id"] + "_secret_")
    status, payment = await call(api, "GET", f"/v1/payments/{order['payment_id']}")
    assert (payment["amount"], payment["order_ref"], payment["currency"]) == (20700, order["id"], "EUR")
    status, again = await call(api, "GET", f"/v1/orders/{order['id']}")
    assert "client_secret" not in again and again["amount"] == 20700  # shown once


PRICED: list[tuple[dict[str, Any], str]] = [
    (order_body(amount=1), "amount"),
    (order_body(price=1), "price"),
    (order_body(items=[{"product_id": "basic", "quantity": 1, "unit_price": 1}]), "items[0].unit_price"),
    (
        order_body(
            items=[{"product_id": "basic", "quantity": 1}, {"product_id": "vip", "quantity": 1, "price": 5}]
        ),
        "items[1].price",
    ),
    (order_body(items=[{"product_id": "basic", "quantity": 1, "unit_amount": 1}]), "items[0].unit_amount"),
    (order_body(customer={"email": "a@b.c", "amount": 3}), "customer.amount"),
    (order_body(extra={"deep": [{"x": 1}, {"amount": 2}]}), "extra.deep[1].amount"),
]


@pytest.mark.parametrize(("body", "param"), PRICED)
async def test_a_client_set_amount_or_price_is_refused_naming_it(
    api: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    status, answer = await call(api, "POST", "/v1/orders", body)
    assert (status, answer["error"]["code"], answer["error"]["param"]) == (400, "client_price_refused", param)


BAD_ORDERS: list[tuple[dict[str, Any], str, str]] = [
    (
        order_body(items=[{"product_id": "nothing", "quantity": 1}]),
        "product_unavailable",
        "items[0].product_id",
    ),
    (
        order_body(items=[{"product_id": "retired", "quantity": 1}]),
        "product_unavailable",
        "items[0].product_id",
    ),
    (order_body(currency="XOF"), "price_unavailable", "items[1].product_id"),
    (order_body(items=[{"product_id": "basic", "quantity": 0}]), "parameter_invalid", "items[0].quantity"),
    (order_body(items=[{"product_id": "basic", "quantity": 1001}]), "parameter_invalid", "items[0].quantity"),
    (order_body(items=[{"product_id": "basic", "quantity": "2"}]), "parameter_invalid", "items[0].quantity"),
    (order_body(items=[{"product_id": "basic", "quantity": True}]), "parameter_invalid", "items[0].quantity"),
    (order_body(items=[{"product_id": "basic"}]), "parameter_missing", "items[0].quantity"),
    (order_body(items=[]), "parameter_invalid", "items"),
    (
        order_body(items=[{"product_id": "basic", "quantity": 1}, {"product_id": "basic", "quantity": 2}]),
        "parameter_invalid",
        "items[1].product_id",
    ),
    (
        order_body(items=[{"product_id": "basic", "quantity": 1, "note": "x"}]),
        "parameter_unknown",
        "items[0].note",
    ),
    (order_body(currency="EURO"), "currency_invalid", "currency"),
    (order_body(customer={"name": "Ada"}), "parameter_missing", "customer.email"),
    (order_body(customer={"email": "not an email"}), "parameter_invalid", "customer.email"),
    (order_body(locale="de"), "parameter_invalid", "locale"),
    (order_body(gateway="nowhere"), "gateway_invalid", "gateway"),
]


@pytest.mark.parametrize(("body", "code", "param"), BAD_ORDERS)
async def test_a_bad_order_is_refused_naming_the_field(
    api: aiohttp.ClientSession, body: dict[str, Any], code: str, param: str
) -> None:
    status, answer = await call(api, "POST", "/v1/orders", body)
    assert (status, answer["error"]["code"], answer["error"].get("param")) == (400, code, param)


# -- orders follow their payment ---------------------------------------------------------------


async def _order(api: aiohttp.ClientSession, **changes: Any) -> dict[str, Any]:
    status, order = await call(api, "POST", "/v1/orders", order_body(**changes))
    assert status == 201, order
    return dict(order)


async def _state(api: aiohttp.ClientSession, order_id: str) -> tuple[str, str]:
    _, view = await call(api, "GET", f"/v1/orders/{order_id}")
    return view["status"], view["payment_status"]


async def test_the_order_follows_its_payment_through_success_fulfilment_and_refunds(
    api: aiohttp.ClientSession,
) -> None:
    order = await _order(api)
    oid, pid = order["id"], order["payment_id"]
    status, refused = await call(api, "POST", f"/v1/orders/{oid}/fulfill")
    assert (status, refused["error"]["code"]) == (400, "order_unexpected_state")
    assert (await call(api, "POST", f"/v1/payments/{pid}/confirm", {"payment_method": "pm_sandbox_ok"}))[
        0
    ] == 200
    assert await _state(api, oid) == ("paid", "succeeded")
    _, view = await call(api, "GET", f"/v1/orders/{oid}")
    assert view["receipt"]["number"].startswith("R-") and view["paid_at"] is not None
    assert (await call(api, "POST", f"/v1/payments/{pid}/refunds", {"amount": 700}))[0] == 200
    assert await _state(api, oid) == ("paid", "partially_refunded")
    status, fulfilled = await call(api, "POST", f"/v1/orders/{oid}/fulfill")
    assert (status, fulfilled["status"]) == (200, "fulfilled")
    assert (await call(api, "POST", f"/v1/payments/{pid}/refunds", {}))[0] == 200
    assert await _state(api, oid) == ("refunded", "refunded")
    _, view = await call(api, "GET", f"/v1/orders/{oid}")
    assert view["amount_refunded"] == 20700 and view["receipt"] is not None


async def test_the_order_follows_its_payment_to_cancellation(api: aiohttp.ClientSession) -> None:
    order = await _order(api)
    status, canceled = await call(api, "POST", f"/v1/orders/{order['id']}/cancel")
    assert (status, canceled["status"], canceled["payment_status"]) == (200, "canceled", "canceled")
    status, again = await call(api, "POST", f"/v1/orders/{order['id']}/cancel")
    assert (status, again["error"]["code"]) == (400, "order_unexpected_state")
    # Canceling the payment directly moves the order just the same.
    other = await _order(api)
    assert (await call(api, "POST", f"/v1/payments/{other['payment_id']}/cancel"))[0] == 200
    assert await _state(api, other["id"]) == ("canceled", "canceled")


async def test_a_declined_payment_cancels_the_order_with_a_customer_message_in_its_language(
    api: aiohttp.ClientSession,
) -> None:
    status, order = await call(
        api, "POST", "/v1/orders", order_body(), **{"Accept-Language": "fr-CA, en;q=0.5"}
    )
    assert status == 201 and order["locale"] == "fr"
    status, declined = await call(
        api, "POST", f"/v1/payments/{order['payment_id']}/confirm", {"payment_method": "pm_sandbox_decline"}
    )
    assert status == 402
    french = "Votre carte a été refusée. Utilisez une autre carte ou contactez votre banque."
    assert declined["payment"]["last_error"]["customer_message"] == french
    _, view = await call(api, "GET", f"/v1/orders/{order['id']}")
    assert (view["status"], view["last_error"]["customer_message"]) == ("canceled", french)
    english = await _order(api, locale="en")
    _, declined = await call(
        api, "POST", f"/v1/payments/{english['payment_id']}/confirm", {"payment_method": "pm_sandbox_decline"}
    )
    assert declined["payment"]["last_error"]["customer_message"].startswith("Your card was declined.")


async def test_concurrent_duplicates_with_one_idempotency_key_make_one_order(
    api: aiohttp.ClientSession,
) -> None:
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    body, key = order_body(customer={"email": email}), f"order-{uuid.uuid4().hex}"
    answers = await asyncio.gather(
        *(call(api, "POST", "/v1/orders", body, **{"Idempotency-Key": key}) for _ in range(8))
    )
    made = [a for s, a in answers if s == 201]
    assert made and all(s in (201, 409) for s, _ in answers), answers
    assert len({a["id"] for a in made}) == 1
    # A retry once the first finished replays it: still one order, with its client secret.
    status, replay = await call(api, "POST", "/v1/orders", body, **{"Idempotency-Key": key})
    assert (status, replay["id"], replay["client_secret"]) == (201, made[0]["id"], made[0]["client_secret"])
    _, listed = await call(api, "GET", "/v1/orders?limit=100")
    assert [o["id"] for o in listed["data"] if o["customer"]["email"] == email] == [made[0]["id"]]


async def test_listing_orders_newest_first_by_status(api: aiohttp.ClientSession) -> None:
    first, second = await _order(api), await _order(api)
    _, listed = await call(api, "GET", "/v1/orders?status=pending&limit=100")
    ids = [o["id"] for o in listed["data"]]
    assert ids.index(second["id"]) < ids.index(first["id"])
    _, page = await call(api, "GET", f"/v1/orders?limit=1&starting_after={second['id']}")
    assert page["data"][0]["id"] < second["id"]
    status, bad = await call(api, "GET", "/v1/orders?status=lost")
    assert (status, bad["error"]["param"]) == (400, "status")
