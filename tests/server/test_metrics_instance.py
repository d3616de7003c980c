"""Prometheus metrics carry the instance (issue 12): every payedge_* series of GET /metrics has
`payedge_instance`, set by server.instance (--instance, PAYEDGE_INSTANCE), else host:port.
(Two instances report different values: tests/server/test_scale_out.py.)"""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server.support import Server, running_server

pytestmark = pytest.mark.sqlite_only  # the label does not depend on the store


async def instance_labels(srv: Server) -> dict[str, set[str]]:
    """payedge_* sample name -> the payedge_instance values it carries ('' when absent)."""
    async with aiohttp.ClientSession() as http:
        async with http.get(srv.url + "/v1/payments", headers=srv.headers()) as resp:
            assert resp.status == 200  # so that the HTTP series exist
        async with http.get(srv.url + "/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("payedge_"):
                found.setdefault(sample.name, set()).add(sample.labels.get("payedge_instance", ""))
    assert {"payedge_http_requests_total", "payedge_payments"} <= set(found), sorted(found)
    return found


async def test_every_payedge_series_carries_the_configured_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYEDGE_INSTANCE", "edge-paris-1")
    with running_server(tmp_path / "data") as srv:
        labels = await instance_labels(srv)
    assert {name: values for name, values in labels.items() if values != {"edge-paris-1"}} == {}


async def test_without_a_name_the_instance_is_host_and_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYEDGE_INSTANCE", raising=False)
    with running_server(tmp_path / "data") as srv:
        labels = await instance_labels(srv)
    expected = f"{socket.gethostname()}:{srv.port}"
    assert {name: values for name, values in labels.items() if values != {expected}} == {}
