"""The endpoints 2.14 added, through a real server, version by version 2.11 to 2.17.

Fetching an instance, fetching a binding and polling a binding are defined from OSB
2.14. A request answered as an older version (announced in X-Broker-API-Version, or
pinned with BROKER_OSB_VERSION) gets what a broker of that version answers: 404
NotFound naming both versions. Nothing changes, and the journal records it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from broker.api_versions import KNOWN, shown
from broker.client import NotFoundError, OSBClient
from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

ADMIN = basic("admin", "admin-secret")
VERSIONS = [shown(version) for version in KNOWN]
INSTANCE = "/v2/service_instances/:instance_id"
BINDING = f"{INSTANCE}/service_bindings/:binding_id"


def defined(version: str) -> bool:
    return tuple(int(part) for part in version.split(".")) >= (2, 14)


def not_found(endpoint: str, version: str) -> dict[str, str]:
    return {
        "error": "NotFound",
        "description": f"GET {endpoint} is defined from OSB 2.14; "
        f"this request was answered as OSB {version}",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("endpoints"), env=ADMIN_ENV, workers=2) as running:
        yield running


def reset(client: httpx.Client) -> None:
    answer = client.post("/admin/reset", headers={"Authorization": ADMIN})
    assert answer.status_code == 200, answer.text


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reset(client)
        yield client


def newest_entry(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/admin/requests", params={"limit": 1}, headers={"Authorization": ADMIN})
    assert answer.status_code == 200, answer.text
    entry: dict[str, Any] = answer.json()["requests"][-1]
    return entry


def state(client: httpx.Client) -> Any:
    """What the broker holds, as the admin API shows it."""
    answer = client.get("/admin/state", headers={"Authorization": ADMIN})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("version", VERSIONS)
def test_fetching_an_instance_is_answered_as_the_announced_version(
    http: httpx.Client, version: str
) -> None:
    newest = OSB(http)
    assert newest.provision("fetched", "mock-async", "sync").status == 201
    before = state(http)
    answer = OSB(http, version=version).get("/v2/service_instances/fetched")
    if defined(version):
        assert answer.status == 200, answer.text
        assert answer.json["service_id"] == newest.ids("mock-async", "sync")[0]
        return
    assert (answer.status, answer.json) == (404, not_found(INSTANCE, version))
    entry = newest_entry(http)
    assert (entry["operation"], entry["status"], entry["instance_id"]) == (
        "fetch_instance",
        404,
        "fetched",
    )
    assert state(http) == before
    assert newest.get("/v2/service_instances/fetched").status == 200


@pytest.mark.parametrize("version", VERSIONS)
def test_fetching_a_binding_is_answered_as_the_announced_version(
    http: httpx.Client, version: str
) -> None:
    newest = OSB(http)
    assert newest.provision("holder", "mock-async", "sync").status == 201
    assert newest.bind("holder", "fetched-b", "mock-async", "sync").status == 201
    before = state(http)
    path = "/v2/service_instances/holder/service_bindings/fetched-b"
    answer = OSB(http, version=version).get(path)
    if defined(version):
        assert answer.status == 200, answer.text
        assert "credentials" in answer.json
        return
    assert (answer.status, answer.json) == (404, not_found(BINDING, version))
    entry = newest_entry(http)
    assert (entry["operation"], entry["status"], entry["binding_id"]) == (
        "fetch_binding",
        404,
        "fetched-b",
    )
    assert state(http) == before
    assert newest.get(path).status == 200


@pytest.mark.parametrize("version", VERSIONS)
def test_polling_a_binding_is_answered_as_the_announced_version(
    http: httpx.Client, version: str
) -> None:
    newest = OSB(http)
    assert newest.provision("polled", "mock-async", "polls").status == 201
    started = newest.bind("polled", "polled-b", "mock-async", "polls", accepts_incomplete=True)
    assert started.status == 202, started.text
    answer = OSB(http, version=version).last_operation("polled", binding_id="polled-b")
    if defined(version):
        assert answer.status == 200, answer.text
        assert answer.json["state"] == "in progress"
        return
    assert (answer.status, answer.json) == (404, not_found(f"{BINDING}/last_operation", version))
    entry = newest_entry(http)
    assert (entry["operation"], entry["status"]) == ("binding_last_operation", 404)
    # The refused poll did not count: the binding still needs its two polls.
    states = [newest.last_operation("polled", binding_id="polled-b").json["state"] for _ in "123"]
    assert states == ["in progress", "in progress", "succeeded"]


def test_a_2_14_poll_counts_as_one_of_the_binding_s_polls(http: httpx.Client) -> None:
    """The other side of the test above: a poll that is answered counts."""
    newest = OSB(http)
    assert newest.provision("counted", "mock-async", "polls").status == 201
    newest.bind("counted", "counted-b", "mock-async", "polls", accepts_incomplete=True)
    OSB(http, version="2.14").last_operation("counted", binding_id="counted-b")
    states = [newest.last_operation("counted", binding_id="counted-b").json["state"] for _ in "12"]
    assert states == ["in progress", "succeeded"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_client_announcing_an_older_version_gets_not_found_naming_it(
    http: httpx.Client, server: RunningServer, version: str
) -> None:
    newest = OSB(http)
    assert newest.provision("by-client", "mock-async", "polls").status == 201
    bound = newest.bind("by-client", "by-client-b", "mock-async", "polls", accepts_incomplete=True)
    assert bound.status == 202
    with OSBClient(server.url, username="broker", password="broker", api_version=version) as client:
        calls = {
            INSTANCE: lambda: client.fetch_instance("by-client"),
            f"{BINDING}/last_operation": lambda: client.binding_last_operation(
                "by-client", "by-client-b"
            ),
        }
        for endpoint, call in calls.items():
            if defined(version):
                call()
                continue
            with pytest.raises(NotFoundError) as raised:
                call()
            assert raised.value.description == not_found(endpoint, version)["description"]


def test_no_fault_rule_applies_to_an_endpoint_the_version_does_not_define(
    http: httpx.Client,
) -> None:
    admin = OSB(http, auth=ADMIN, version=None)
    rule = {"match": {"operation": "fetch_instance"}, "action": {"status": 503}}
    assert OSB(http).provision("faulted", "mock-async", "sync").status == 201
    assert admin.post("/admin/faults", rule).status == 201
    try:
        old = OSB(http, version="2.13").get("/v2/service_instances/faulted")
        assert (old.status, old.json) == (404, not_found(INSTANCE, "2.13"))
        assert OSB(http, version="2.14").get("/v2/service_instances/faulted").status == 503
    finally:
        assert admin.delete("/admin/faults").status == 200


# --- pinned with BROKER_OSB_VERSION ------------------------------------------------------


@pytest.fixture(scope="module", params=VERSIONS)
def pinned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RunningServer]]:
    version: str = request.param
    env = {**ADMIN_ENV, "BROKER_OSB_VERSION": version}
    with serve(tmp_path_factory.mktemp(f"pinned-{version}"), env=env, workers=1) as running:
        yield version, running


def test_a_pinned_version_decides_for_a_2_17_platform(
    pinned: tuple[str, RunningServer],
) -> None:
    version, server = pinned
    with httpx.Client(base_url=server.url, timeout=10) as http:
        reset(http)
        platform = OSB(http)  # announces 2.17
        assert platform.provision("pin", "mock-async", "polls").status == 201
        bound = platform.bind("pin", "pin-b", "mock-async", "polls", accepts_incomplete=True)
        assert bound.status == (202 if defined(version) else 201), bound.text
        assert platform.bind("pin", "pin-s", "mock-async", "polls").status == 201
        before = state(http)
        fetched = platform.get("/v2/service_instances/pin")
        fetched_binding = platform.get("/v2/service_instances/pin/service_bindings/pin-s")
        polled = platform.last_operation("pin", binding_id="pin-b")
        if defined(version):
            assert (fetched.status, fetched_binding.status, polled.status) == (200, 200, 200)
            assert polled.json["state"] == "in progress"
            return
        assert (fetched.status, fetched.json) == (404, not_found(INSTANCE, version))
        assert (fetched_binding.status, fetched_binding.json) == (404, not_found(BINDING, version))
        assert (polled.status, polled.json) == (
            404,
            not_found(f"{BINDING}/last_operation", version),
        )
        assert newest_entry(http)["operation"] == "binding_last_operation"
        assert state(http) == before


def test_the_client_raises_not_found_naming_the_versions(
    pinned: tuple[str, RunningServer],
) -> None:
    version, server = pinned
    with OSBClient(server.url, username="broker", password="broker") as client:
        service, plan = client.catalog().plan("mock-async", "sync")
        service_id, plan_id = service["id"], plan["id"]
        client.provision("client-i", service_id, plan_id, organization_guid="o", space_guid="s")
        client.bind("client-i", "client-b", service_id, plan_id)
        calls = {
            INSTANCE: lambda: client.fetch_instance("client-i"),
            BINDING: lambda: client.fetch_binding("client-i", "client-b"),
        }
        for endpoint, call in calls.items():
            if defined(version):
                call()
                continue
            with pytest.raises(NotFoundError) as raised:
                call()
            assert raised.value.error == "NotFound"
            assert raised.value.description == not_found(endpoint, version)["description"]
            assert f"answered as OSB {version}" in str(raised.value)
