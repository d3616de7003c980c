"""`[[catalog.products]]` in the config file: validated at start with the bad product's path; the
file's products are written to the store at every start, the file being the truth for what it lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from payedge_server.config import load

from tests.server.orders.conftest import call
from tests.server.support import API_KEY, running_server

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("product", "where"),
    [
        (
            'id = "p"\nname = "P"\nprices = { EUR = 0 }',
            "catalog.products[1]: prices.EUR: prices.EUR must be at least 1",
        ),
        ('id = "p"\nname = "P"\nprices = { eur = 5 }', "catalog.products[1]: prices.eur: a price's currency"),
        ('id = "p p"\nname = "P"\nprices = { EUR = 5 }', "catalog.products[1]: id: id must be 1 to 64"),
        ('id = "p"\nprices = { EUR = 5 }', "catalog.products[1]: name: name is required"),
        (
            'id = "p"\nname = "P"\nprices = { EUR = 5 }\nprice = 3',
            "catalog.products[1]: price: unknown parameter",
        ),
        (
            'id = "ok"\nname = "Twice"\nprices = { EUR = 5 }',
            "catalog.products: products[1] repeats the id 'ok'",
        ),
    ],
)
def test_a_bad_product_stops_the_start_with_its_path(tmp_path: Path, product: str, where: str) -> None:
    file = tmp_path / "payedge.toml"
    file.write_text(f'[[catalog.products]]\nid = "ok"\nname = "Fine"\nprices = {{ EUR = 100 }}\n\n'
                    f"[[catalog.products]]\n{product}\n")  # fmt: skip
    problems = [str(p) for p in load(["--config", str(file), "--data-dir", str(tmp_path)], {}).problems]
    assert any(where in p for p in problems), problems


async def test_the_file_is_the_truth_for_its_products_at_every_start(tmp_path: Path) -> None:
    import aiohttp

    file, data = tmp_path / "payedge.toml", tmp_path / "data"
    file.write_text('[[catalog.products]]\nid = "a"\nname = "A"\nprices = { EUR = 100 }\n\n'
                    '[[catalog.products]]\nid = "b"\nname = "B"\nprices = { EUR = 200 }\n')  # fmt: skip
    auth = {"Authorization": f"Bearer {API_KEY}"}
    with running_server(data, "--config", str(file)) as srv:
        async with aiohttp.ClientSession(srv.url, headers=auth) as api:
            product = {"id": "a", "name": "A (api)", "prices": {"EUR": 150}}
            assert (await call(api, "POST", "/v1/products", product))[0] == 200
            assert (await call(api, "POST", "/v1/products", {**product, "id": "c"}))[0] == 201
    file.write_text('[[catalog.products]]\nid = "a"\nname = "A"\nprices = { EUR = 110 }\n')
    with running_server(data, "--config", str(file)) as srv:
        async with aiohttp.ClientSession(srv.url, headers=auth) as api:
            _, listed = await call(api, "GET", "/v1/products")
    by_id = {p["id"]: p for p in listed["data"]}
    assert (by_id["a"]["prices"], by_id["a"]["source"]) == ({"EUR": 110}, "config")  # the file again
    assert by_id["b"]["active"] is False  # no longer in the file: kept, inactive
    assert by_id["c"]["active"] is True and by_id["c"]["source"] == "api"  # the API's own: untouched
