"""A real server (gunicorn, two workers) grading its callers, and callers to grade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

GRADED_CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "platform-checks.yaml"
ADMIN = basic("admin", "admin-secret")
# Seconds the platform has to send an orphan mitigation DELETE, in these tests.
WINDOW = 2


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        **ADMIN_ENV,
        "BROKER_CATALOGS": str(GRADED_CATALOG),
        "BROKER_ORPHAN_MITIGATION_WINDOW": str(WINDOW),
    }
    with serve(tmp_path_factory.mktemp("platform-checks"), env=env, workers=2) as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reset = client.post("/admin/reset", headers={"Authorization": ADMIN})
        assert reset.status_code == 200, reset.text
        yield client


@pytest.fixture
def osb(http: httpx.Client) -> OSB:
    """A platform announcing 2.17."""
    return OSB(http)


@pytest.fixture
def admin(http: httpx.Client) -> OSB:
    return OSB(http, auth=ADMIN, version=None)


class Grades:
    """What the broker found, and the journal ids to compare them with."""

    def __init__(self, admin: OSB) -> None:
        self.admin = admin

    def findings(self, **filters: Any) -> list[dict[str, Any]]:
        answer = self.admin.get("/admin/findings", query=filters or None)
        assert answer.status == 200, answer.text
        found: list[dict[str, Any]] = answer.json["findings"]
        return found

    def last_request_id(self) -> int:
        """The journal id of the newest request."""
        answer = self.admin.get("/admin/requests", query={"limit": 1})
        assert answer.status == 200, answer.text
        return int(answer.json["requests"][-1]["id"])

    def only(self, rule: str) -> dict[str, Any]:
        """The one finding there is, which must be of ``rule``."""
        found = self.findings()
        assert [f["rule"] for f in found] == [rule], found
        return found[0]

    def none(self) -> None:
        assert self.findings() == []


@pytest.fixture
def grades(admin: OSB) -> Grades:
    return Grades(admin)
