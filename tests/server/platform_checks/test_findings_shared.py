"""Findings are one broker's, however many processes answer: two replicas (two
gunicorn workers each) on one PostgreSQL schema, and the switch that turns checks off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.server.platform_checks.conftest import ADMIN, GRADED_CATALOG
from tests.support.osb import OSB
from tests.support.postgres import fresh_schema
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

ENV = {**ADMIN_ENV, "BROKER_CATALOGS": str(GRADED_CATALOG), "BROKER_ORPHAN_MITIGATION_WINDOW": "1"}


@pytest.fixture
def two_replicas(tmp_path: Path) -> Iterator[tuple[OSB, OSB, OSB, OSB]]:
    with ExitStack() as stack:
        url = stack.enter_context(fresh_schema("mbfindings"))
        folders = [tmp_path / f"replica{n}" for n in range(2)]
        for folder in folders:
            folder.mkdir()
        servers = [
            stack.enter_context(serve(folder, "--store", url, env=ENV)) for folder in folders
        ]
        clients = [stack.enter_context(httpx.Client(base_url=s.url, timeout=10)) for s in servers]
        yield (
            OSB(clients[0]),
            OSB(clients[1]),
            OSB(clients[0], auth=ADMIN, version=None),
            OSB(clients[1], auth=ADMIN, version=None),
        )


@pytest.mark.postgres
def test_replicas_on_one_schema_share_findings_and_windows(
    two_replicas: tuple[OSB, OSB, OSB, OSB],
) -> None:
    first, second, first_admin, second_admin = two_replicas
    started = first.provision("shared-1", "graded", "quick", accepts_incomplete=True)
    assert started.status == 202
    second.last_operation("shared-1")  # the operation was returned by the other replica
    assert first.provision("shared-2", "graded", "broken").status == 500
    time.sleep(1.5)  # the window closes; the other replica decides it
    for admin in (first_admin, second_admin):
        found = admin.get("/admin/findings").json["findings"]
        assert [(f["rule"], f["instance_id"]) for f in found] == [
            ("operation-echo", "shared-1"),
            ("orphan-mitigation", "shared-2"),
        ]
    assert first_admin.delete("/admin/findings").status == 200
    assert second_admin.get("/admin/findings").json["findings"] == []


@pytest.fixture
def unchecked(tmp_path: Path) -> Iterator[RunningServer]:
    with serve(tmp_path, env={**ENV, "BROKER_PLATFORM_CHECKS": "off"}) as server:
        yield server


def test_with_checks_off_nothing_is_recorded(unchecked: RunningServer) -> None:
    with httpx.Client(base_url=unchecked.url, timeout=10) as client:
        OSB(client, version=None).get("/v2/catalog")
        osb = OSB(client)
        osb.provision("off-1", "graded", "open", context={"namespace": "n"})
        admin = OSB(client, auth=ADMIN, version=None)
        assert admin.get("/admin/findings").json == {"findings": []}
        assert "mockbroker_platform_findings_total{" not in admin.get("/metrics").text
