"""Meeting platforms where they are, through a real server: versions 2.11 to 2.17,
the spec's error sentences, lenient polling and strict mode."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.osb import OSB, SPEC_SENTENCES, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

ADMIN = basic("admin", "admin-secret")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("lenient"), env=ADMIN_ENV, workers=2) as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reset = client.post("/admin/reset", headers={"Authorization": ADMIN})
        assert reset.status_code == 200, reset.text
        yield client


@pytest.fixture
def osb(http: httpx.Client) -> OSB:
    return OSB(http)


def test_async_required_answers_the_spec_sentence_over_http(osb: OSB) -> None:
    answer = osb.provision("srv-sentence", "mock-async", "async-only")
    assert answer.status == 422
    assert answer.json["description"] == SPEC_SENTENCES["AsyncRequired"]
    assert "accepts_incomplete=true" in answer.json["mockbroker_detail"]
