"""id-reuse remembers only the newest deleted ids: a real server (two workers) with a
small BROKER_PLATFORM_CHECKS_REMEMBERED_IDS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.platform_checks.conftest import ADMIN, GRADED_CATALOG, Grades
from tests.support.osb import OSB
from tests.support.servers import ADMIN_ENV, serve

REMEMBERED = 3


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    env = {
        **ADMIN_ENV,
        "BROKER_CATALOGS": str(GRADED_CATALOG),
        "BROKER_PLATFORM_CHECKS_REMEMBERED_IDS": str(REMEMBERED),
    }
    folder: Path = tmp_path_factory.mktemp("remembered-ids")
    with serve(folder, env=env, workers=2) as running:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            yield client


@pytest.mark.parametrize("kind", ["instance", "binding"])
def test_after_more_deletes_than_remembered_the_oldest_ids_are_forgotten(
    http: httpx.Client, kind: str
) -> None:
    assert http.post("/admin/reset", headers={"Authorization": ADMIN}).status_code == 200
    osb, grades = OSB(http), Grades(OSB(http, auth=ADMIN, version=None))
    forgotten = 2
    ids = [f"{kind}-{number}" for number in range(REMEMBERED + forgotten)]
    if kind == "instance":
        for deleted in ids:
            osb.provision(deleted, "graded", "open")
            assert osb.deprovision(deleted, "graded", "open").status == 200
        for again in ids:
            assert osb.provision(again, "graded", "open").status == 201
    else:
        osb.provision("holder", "graded", "open")
        for deleted in ids:
            osb.bind("holder", deleted, "graded", "open")
            assert osb.unbind("holder", deleted, "graded", "open").status == 200
        for again in ids:
            assert osb.bind("holder", again, "graded", "open").status == 201
    reused = {
        found["binding_id"] if kind == "binding" else found["instance_id"]
        for found in grades.findings(rule="id-reuse")
    }
    assert reused == set(ids[forgotten:])
