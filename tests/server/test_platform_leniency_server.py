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


def test_a_2_12_platform_is_served_with_2_12_s_catalog_and_synchronous_binds(osb: OSB) -> None:
    old = OSB(osb.client, version="2.12")
    plans = [
        plan for service in old.get("/v2/catalog").json["services"] for plan in service["plans"]
    ]
    assert plans and not any("schemas" in plan or "maintenance_info" in plan for plan in plans)
    assert osb.provision("srv-v", "mock-async", "polls", accepts_incomplete=True).status == 202
    assert osb.poll("srv-v").json["state"] == "succeeded"
    bound = old.bind("srv-v", "srv-v-b", "mock-async", "polls", accepts_incomplete=True)
    assert bound.status == 201 and bound.json["credentials"]


def test_a_server_pinned_with_osb_version_answers_2_13_to_a_2_17_platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("pinned")
    with serve(folder, "--osb-version", "2.13", env=ADMIN_ENV, workers=1) as running:
        assert "protocol:   OSB 2.13 whatever the platform announces, lenient" in running.log()
        with httpx.Client(base_url=running.url, timeout=10) as client:
            osb = OSB(client)  # announces 2.17
            services = osb.get("/v2/catalog").json["services"]
            assert not any("bindings_retrievable" in service for service in services)
            assert osb.provision("pin", "mock-rotating-credentials", "default").status == 201
            bound = osb.bind("pin", "pin-b", "mock-rotating-credentials", "default")
            assert bound.status == 201 and set(bound.json) == {"credentials"}
            gone = osb.deprovision("nothing", "mock-database", "small")
            assert (gone.status, gone.json) == (410, {})


def test_a_fixed_operation_poll_is_answered_about_the_instance_over_http(osb: OSB) -> None:
    assert osb.provision("srv-echo", "mock-async", "polls", accepts_incomplete=True).status == 202
    assert osb.poll("srv-echo", "provision").json == {"state": "succeeded"}
    # The flow goes on: no ConcurrencyError for an instance stuck "provisioning".
    assert osb.bind("srv-echo", "srv-echo-b", "mock-async", "polls").status == 201


def test_a_finished_delete_answers_succeeded_then_410_over_http(osb: OSB) -> None:
    assert osb.provision("srv-gone", "mock-async", "polls").status == 201
    deleting = osb.deprovision("srv-gone", "mock-async", "polls", accepts_incomplete=True)
    operation = deleting.json["operation"]
    assert osb.poll("srv-gone", operation).json == {"state": "succeeded"}
    gone = osb.last_operation("srv-gone", operation)
    assert (gone.status, gone.json["error"]) == (410, "Gone")


@pytest.mark.parametrize(("version", "status"), [("2.15", 410), ("2.16", 404)])
def test_a_synchronously_deleted_instance_answers_by_version_over_http(
    osb: OSB, version: str, status: int
) -> None:
    created = osb.provision("srv-sync", "mock-async", "polls", accepts_incomplete=True)
    assert osb.poll("srv-sync", created.json["operation"]).json["state"] == "succeeded"
    assert osb.deprovision("srv-sync", "mock-async", "polls").status == 200
    answer = OSB(osb.client, version=version).last_operation("srv-sync", created.json["operation"])
    assert answer.status == status


def test_a_strict_server_refuses_an_operation_it_never_issued(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    env = {**ADMIN_ENV, "BROKER_STRICT": "true"}
    with serve(tmp_path_factory.mktemp("strict"), env=env, workers=1) as running:
        assert "as the platform announces, strict" in running.log()
        with httpx.Client(base_url=running.url, timeout=10) as client:
            osb = OSB(client)
            assert osb.provision("st", "mock-async", "polls", accepts_incomplete=True).status == 202
            refused = osb.last_operation("st", "provision")
            assert (refused.status, refused.json["error"]) == (400, "BadRequest")
            assert osb.last_operation("st").json["state"] == "in progress"
