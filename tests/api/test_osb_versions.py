"""Answers as the announced (or pinned) OSB version defines them, version by version.

The expected introductions are written out here from the specification's text of
each version, not taken from the broker, so a wrong table in the broker fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from tests.support.clock import FakeClock
from tests.support.osb import OSB

VERSIONS = ["2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17"]
ASYNC = {"accepts_incomplete": "true"}

# Catalog fields and the version whose text introduced them.
SERVICE_FIELDS_SINCE = {
    "instances_retrievable": "2.14",
    "bindings_retrievable": "2.14",
    "allow_context_updates": "2.15",
}
PLAN_FIELDS_SINCE = {
    "schemas": "2.13",
    "plan_updateable": "2.15",
    "maximum_polling_duration": "2.15",
    "maintenance_info": "2.15",
    "binding_rotatable": "2.17",
}
# Fields every version has (a trimmed catalog must keep them).
ALWAYS = {"service": {"id", "name", "description", "bindable", "plans", "tags", "plan_updateable"}}


def minor(version: str) -> int:
    return int(version.split(".")[1])


def at(osb: OSB, version: str) -> OSB:
    return OSB(osb.client, auth=osb.auth, version=version)


def catalog_fields(osb: OSB) -> tuple[set[str], set[str]]:
    services = osb.get("/v2/catalog").json["services"]
    return (
        {key for service in services for key in service},
        {key for service in services for plan in service["plans"] for key in plan},
    )


# --- the catalog ----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_the_catalog_has_exactly_the_fields_the_announced_version_defines(
    osb: OSB, version: str
) -> None:
    service_keys, plan_keys = catalog_fields(at(osb, version))
    for name, since in SERVICE_FIELDS_SINCE.items():
        assert (name in service_keys) == (minor(version) >= minor(since)), (name, version)
    for name, since in PLAN_FIELDS_SINCE.items():
        assert (name in plan_keys) == (minor(version) >= minor(since)), (name, version)
    assert ALWAYS["service"] <= service_keys


def test_each_version_s_catalog_has_its_own_etag(osb: OSB) -> None:
    tags = {version: at(osb, version).get("/v2/catalog").headers["ETag"] for version in VERSIONS}
    assert len(set(tags.values())) == len(VERSIONS)
    old = at(osb, "2.13")
    again = old.get("/v2/catalog", headers={"If-None-Match": tags["2.13"]})
    assert again.status == 304
    assert old.get("/v2/catalog", headers={"If-None-Match": tags["2.17"]}).status == 200


def test_a_version_newer_than_2_17_gets_the_2_17_catalog(osb: OSB) -> None:
    newest = at(osb, "2.17").get("/v2/catalog")
    newer = at(osb, "2.18").get("/v2/catalog")
    assert newer.json == newest.json
    assert newer.headers["ETag"] == newest.headers["ETag"]


def test_a_pinned_version_answers_as_that_version_whatever_the_platform_announces(
    settings: Settings,
) -> None:
    pinned = OSB(create_app(settings.replace(osb_version=(2, 13))).test_client())
    service_keys, plan_keys = catalog_fields(pinned)
    assert "instances_retrievable" not in service_keys
    assert "maintenance_info" not in plan_keys and "schemas" in plan_keys


# --- bindings -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.11", "2.12", "2.13"])
@pytest.mark.parametrize("plan", ["polls", "async-only"])
def test_before_2_14_a_binding_is_made_and_removed_synchronously_on_an_async_plan(
    osb: OSB, store: Store, version: str, plan: str
) -> None:
    old = at(osb, version)
    # The instance is made by a 2.17 platform, asynchronously, and finished first.
    assert osb.provision("v-async", "mock-async", plan, accepts_incomplete=True).status == 202
    assert osb.poll("v-async").json["state"] == "succeeded"
    bound = old.bind("v-async", "v-async-b", "mock-async", plan, accepts_incomplete=True)
    assert bound.status == 201, bound.text
    assert bound.json["credentials"]
    assert store.get_binding("v-async-b").state == "ready"
    unbound = old.unbind("v-async", "v-async-b", "mock-async", plan, accepts_incomplete=True)
    assert (unbound.status, unbound.json) == (200, {})
    assert store.get_binding("v-async-b") is None


@pytest.mark.parametrize("version", ["2.14", "2.17"])
def test_from_2_14_a_binding_on_an_async_plan_is_made_asynchronously(
    osb: OSB, version: str
) -> None:
    assert osb.provision("v-async", "mock-async", "polls", accepts_incomplete=True).status == 202
    assert osb.poll("v-async").json["state"] == "succeeded"
    bound = at(osb, version).bind(
        "v-async", "v-async-b", "mock-async", "polls", accepts_incomplete=True
    )
    assert bound.status == 202 and "operation" in bound.json


@pytest.mark.parametrize(
    ("version", "fields"),
    [
        ("2.13", {"credentials"}),
        ("2.14", {"credentials"}),
        ("2.15", {"credentials", "endpoints"}),
        ("2.16", {"credentials", "endpoints", "metadata"}),
        ("2.17", {"credentials", "endpoints", "metadata"}),
    ],
)
def test_a_binding_answer_has_only_the_fields_of_the_announced_version(
    osb: OSB, version: str, fields: set[str]
) -> None:
    old = at(osb, version)
    assert old.provision("v-end", "mock-rotating-credentials", "default").status == 201
    bound = old.bind("v-end", "v-end-b", "mock-rotating-credentials", "default")
    assert bound.status == 201
    assert set(bound.json) == fields
    if "metadata" in fields:
        expected = {"expires_at", "renew_before"} if version == "2.17" else {"expires_at"}
        assert set(bound.json["metadata"]) == expected
    # The binding itself is whole: a 2.17 platform fetching it sees the endpoints.
    fetched = osb.get("/v2/service_instances/v-end/service_bindings/v-end-b")
    assert fetched.json["endpoints"] == [
        {"host": "api.mockbroker.test", "ports": ["443"], "protocol": "tcp"}
    ]
    # A repeat of the bind answers the same fields as the first answer.
    assert old.bind("v-end", "v-end-b", "mock-rotating-credentials", "default").json == bound.json


def test_before_2_17_a_predecessor_binding_id_is_ignored(osb: OSB) -> None:
    old = at(osb, "2.16")
    assert old.provision("v-rot", "mock-database", "small").status == 201
    # mock-database/small is not rotatable: a 2.17 platform is refused ...
    refused = osb.bind("v-rot", "v-rot-b", "mock-database", "small", predecessor_binding_id="x")
    assert refused.status == 400
    # ... and a 2.16 one, to whom the field means nothing, is not.
    bound = old.bind("v-rot", "v-rot-b", "mock-database", "small", predecessor_binding_id="x")
    assert bound.status == 201


# --- instances --------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "status"), [("2.14", 201), ("2.15", 422)])
def test_maintenance_info_means_something_from_2_15_on(osb: OSB, version: str, status: int) -> None:
    answer = at(osb, version).provision(
        "v-mi", "mock-database", "small", maintenance_info={"version": "9.9.9"}
    )
    assert answer.status == status


@pytest.mark.parametrize(("version", "has_url"), [("2.13", False), ("2.14", True)])
def test_an_update_answer_carries_dashboard_url_from_2_14_on(
    osb: OSB, version: str, has_url: bool
) -> None:
    assert osb.provision("v-upd", "mock-database", "small").status == 201
    service_id, _ = osb.ids("mock-database", "small")
    answer = at(osb, version).patch(
        "/v2/service_instances/v-upd", {"service_id": service_id, "parameters": {}}
    )
    assert answer.status == 200
    assert ("dashboard_url" in answer.json) == has_url


STUCK = """
services:
  - name: stuck
    description: Deletes fail and leave the instance usable
    bindable: false
    plans:
      - name: default
        description: Deletes fail
        mockbroker:
          deprovision: {mode: async, finish: {polls: 0}, result: failed, instance_usable: true}
"""


@pytest.mark.parametrize(("version", "usable"), [("2.15", None), ("2.16", True)])
def test_last_operation_carries_instance_usable_from_2_16_on(
    settings: Settings, tmp_path: Path, version: str, usable: bool | None
) -> None:
    catalog = tmp_path / "stuck.yaml"
    catalog.write_text(STUCK)
    osb = OSB(create_app(settings.replace(catalogs=(catalog,))).test_client())
    assert osb.provision("v-fail", "stuck", "default").status == 201
    deleting = osb.deprovision("v-fail", "stuck", "default", accepts_incomplete=True)
    assert deleting.status == 202
    answer = at(osb, version).poll("v-fail", deleting.json["operation"])
    assert answer.json["state"] == "failed"
    assert answer.json.get("instance_usable") == usable


@pytest.mark.parametrize(
    ("version", "body"),
    [
        ("2.11", {}),
        ("2.12", {}),
        ("2.13", {}),
        ("2.14", {"error": "Gone", "description": "instance v-none does not exist"}),
    ],
)
def test_a_410_body_is_empty_up_to_2_13(osb: OSB, version: str, body: dict) -> None:
    answer = at(osb, version).deprovision("v-none", "mock-database", "small")
    assert (answer.status, answer.json) == (410, body)


@pytest.fixture
def clocked(settings: Settings, clock: FakeClock) -> Flask:
    return create_app(settings, clock=clock)


@pytest.mark.parametrize(("version", "state"), [("2.14", "in progress"), ("2.15", "failed")])
def test_maximum_polling_duration_ends_an_operation_from_2_15_on(
    clocked: Flask, clock: FakeClock, version: str, state: str
) -> None:
    osb = OSB(clocked.test_client(), version=version)
    assert osb.provision("v-never", "mock-async", "never", accepts_incomplete=True).status == 202
    clock.advance(11)
    assert osb.last_operation("v-never").json["state"] == state


def test_a_pinned_version_makes_binds_synchronous_for_a_2_17_platform(
    settings: Settings, tmp_path: Path
) -> None:
    app = create_app(settings.replace(osb_version=(2, 13)))
    osb = OSB(app.test_client())
    assert osb.provision("v-pin", "mock-async", "polls", accepts_incomplete=True).status == 202
    assert osb.poll("v-pin").json["state"] == "succeeded"
    bound = osb.bind("v-pin", "v-pin-b", "mock-async", "polls", accepts_incomplete=True)
    assert bound.status == 201


# --- one lifecycle per version ----------------------------------------------------------

# What each version's text says, per behaviour the lifecycle below meets.
LIFECYCLE = {
    #        async bind, binding fields,                        missing poll, 410 body empty
    "2.11": (False, {"credentials"}, 410, True),
    "2.12": (False, {"credentials"}, 410, True),
    "2.13": (False, {"credentials"}, 410, True),
    "2.14": (True, {"credentials"}, 410, False),
    "2.15": (True, {"credentials", "endpoints"}, 410, False),
    "2.16": (True, {"credentials", "endpoints", "metadata"}, 404, False),
    "2.17": (True, {"credentials", "endpoints", "metadata"}, 404, False),
}

LIFECYCLE_CATALOG = """
services:
  - name: lifecycle
    description: Async everything, bindings with endpoints and expiry
    bindable: true
    plans:
      - name: default
        description: One poll for everything
        mockbroker:
          provision: {mode: async, finish: {polls: 0}}
          deprovision: {mode: async, finish: {polls: 0}}
          bind: {mode: async-required, finish: {polls: 0}}
          unbind: {mode: async, finish: {polls: 0}}
          binding:
            expires_in: 3600
            endpoints: [{host: db.example.test, ports: ["5432"]}]
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_a_whole_lifecycle_answers_as_the_announced_version_defines(
    settings: Settings, tmp_path: Path, version: str
) -> None:
    async_bind, binding_fields, missing_status, empty_gone = LIFECYCLE[version]
    catalog = tmp_path / "lifecycle.yaml"
    catalog.write_text(LIFECYCLE_CATALOG)
    osb = OSB(create_app(settings.replace(catalogs=(catalog,))).test_client(), version=version)

    created = osb.provision("life", "lifecycle", "default", accepts_incomplete=True)
    assert created.status == 202
    assert osb.last_operation("life", created.json["operation"]).json == {"state": "succeeded"}

    bound = osb.bind("life", "life-b", "lifecycle", "default", accepts_incomplete=True)
    if async_bind:
        assert bound.status == 202
        polled = osb.last_operation("life", bound.json["operation"], "life-b")
        assert polled.json == {"state": "succeeded"}
        bound = osb.bind("life", "life-b", "lifecycle", "default", accepts_incomplete=True)
        assert bound.status == 200
    else:
        assert bound.status == 201
    assert set(bound.json) == binding_fields

    unbound = osb.unbind("life", "life-b", "lifecycle", "default", accepts_incomplete=True)
    assert unbound.status == (202 if async_bind else 200)

    deleting = osb.deprovision("life", "lifecycle", "default", accepts_incomplete=True)
    assert deleting.status == 202
    assert osb.last_operation("life", deleting.json["operation"]).json == {"state": "succeeded"}
    gone = osb.last_operation("life", deleting.json["operation"])
    assert gone.status == 410
    assert (gone.json == {}) == empty_gone
    again = osb.deprovision("life", "lifecycle", "default")
    assert again.status == 410 and (again.json == {}) == empty_gone

    missing = osb.last_operation("never-made")
    assert missing.status == missing_status
