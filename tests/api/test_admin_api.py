"""The test-control API: reset, state, operations, catalog replacement, its auth."""

from __future__ import annotations

import json

import yaml
from flask import Flask

from broker.web.runtime import runtime_of
from tests.support.osb import OSB, basic

NEW_CATALOG = {
    "services": [
        {
            "name": "replacement",
            "description": "A catalog sent at runtime",
            "bindable": True,
            "plans": [{"name": "only", "description": "The only plan"}],
        }
    ]
}


def test_admin_endpoints_need_the_admin_credentials(client) -> None:
    for path in (
        "/admin/state",
        "/admin/requests",
        "/admin/faults",
        "/metrics",
        "/openapi.json",
        "/dashboard",
        "/nowhere",
    ):
        anonymous = OSB(client, auth=None, version=None).get(path)
        assert anonymous.status == 401, path
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        assert OSB(client, auth=basic(), version=None).get(path).status in (401, 200), path
    assert OSB(client, auth=basic(), version=None).get("/admin/state").status == 401
    assert OSB(client, auth=None, version=None).get("/livez").status == 200


def test_state_shows_everything_with_credentials_redacted_unless_asked(
    osb: OSB, admin: OSB
) -> None:
    osb.provision("s1", "mock-async", "sync", parameters={"api_token": "t0p"})
    bound = osb.bind("s1", "sb", "mock-async", "sync")
    state = admin.get("/admin/state").json
    assert [i["id"] for i in state["instances"]] == ["s1"]
    assert state["instances"][0]["parameters"] == {"api_token": "[redacted]"}
    assert state["bindings"][0]["response"]["credentials"]["password"] == "[redacted]"
    assert bound.json["credentials"]["password"] not in json.dumps(state)
    revealed = admin.get("/admin/state", query={"credentials": "true"}).json
    assert revealed["bindings"][0]["response"]["credentials"] == bound.json["credentials"]
    assert revealed["instances"][0]["parameters"] == {"api_token": "t0p"}


def test_reset_forgets_state_faults_and_catalog_changes(osb: OSB, admin: OSB) -> None:
    osb.provision("r1", "mock-async", "sync")
    admin.post("/admin/faults", {"action": {"status": 500}, "match": {"operation": "bind"}})
    assert admin.put("/admin/catalog", NEW_CATALOG).status == 200
    assert admin.post("/admin/reset").json == {"reset": True}
    assert admin.get("/admin/state").json == {"instances": [], "bindings": [], "operations": []}
    assert all(rule["origin"] == "catalog" for rule in admin.get("/admin/faults").json["faults"])
    names = {s["name"] for s in osb.get("/v2/catalog").json["services"]}
    assert "mock-async" in names and "replacement" not in names


def test_finishing_a_manual_operation_by_hand(osb: OSB, admin: OSB) -> None:
    operation = osb.provision("m1", "mock-async", "manual", accepts_incomplete=True).json[
        "operation"
    ]
    running = admin.get("/admin/operations", query={"state": "in progress"}).json["operations"]
    assert [op["id"] for op in running] == [operation]
    finished = admin.post(
        f"/admin/operations/{operation}", {"state": "failed", "description": "nope"}
    )
    assert finished.status == 200 and finished.json["state"] == "failed"
    assert osb.last_operation("m1").json == {"state": "failed", "description": "nope"}
    assert admin.post(f"/admin/operations/{operation}", {"state": "succeeded"}).status == 409
    assert admin.post("/admin/operations/unknown", {"state": "succeeded"}).status == 404
    bad = admin.post(f"/admin/operations/{operation}", {"state": "done"})
    assert bad.status == 400 and "state" in bad.json["description"]


def test_a_catalog_sent_at_runtime_replaces_the_catalog_for_everyone(osb: OSB, admin: OSB) -> None:
    answer = admin.put("/admin/catalog", NEW_CATALOG)
    assert answer.json == {"services": 1, "plans": 1}
    assert [s["name"] for s in osb.get("/v2/catalog").json["services"]] == ["replacement"]
    assert osb.provision("n1", "replacement", "only").status == 201


def test_a_yaml_catalog_is_accepted_too(osb: OSB, admin: OSB) -> None:
    answer = admin.request(
        "PUT",
        "/admin/catalog",
        raw=yaml.safe_dump(NEW_CATALOG),
        headers={"Content-Type": "application/yaml"},
    )
    assert answer.status == 200


def test_an_invalid_catalog_is_refused_with_every_problem_and_changes_nothing(
    osb: OSB, admin: OSB
) -> None:
    broken = {"services": [{"name": "x", "description": "", "bindable": "yes", "plans": []}]}
    answer = admin.put("/admin/catalog", broken)
    assert answer.status == 400
    assert answer.json["error"] == "InvalidCatalog"
    paths = {problem["path"] for problem in answer.json["problems"]}
    assert {"services[0].description", "services[0].bindable", "services[0].plans"} <= paths
    assert "mock-async" in {s["name"] for s in osb.get("/v2/catalog").json["services"]}


def test_instances_of_removed_plans_keep_working(osb: OSB, admin: OSB) -> None:
    osb.provision("old", "mock-async", "sync")
    service_id, plan_id = osb.ids("mock-async", "sync")
    admin.put("/admin/catalog", NEW_CATALOG)
    bound = osb.put(
        "/v2/service_instances/old/service_bindings/ob",
        {"service_id": service_id, "plan_id": plan_id},
    )
    assert bound.status == 201 and bound.json["credentials"]["username"]
    query = {"service_id": service_id, "plan_id": plan_id}
    assert osb.delete("/v2/service_instances/old/service_bindings/ob", query=query).status == 200
    assert osb.delete("/v2/service_instances/old", query=query).status == 200
    fresh = osb.put(
        "/v2/service_instances/new",
        {"service_id": service_id, "plan_id": plan_id, "organization_guid": "o", "space_guid": "s"},
    )
    assert fresh.status == 400


def test_the_openapi_document_describes_the_osb_and_admin_apis(admin: OSB) -> None:
    from openapi_spec_validator import validate

    document = admin.get("/openapi.json").json
    validate(document)
    assert "/v2/service_instances/{instance_id}" in document["paths"]
    assert "/admin/faults" in document["paths"]


def test_a_fault_rule_change_does_not_rebuild_a_pushed_catalog(
    osb: OSB, admin: OSB, app: Flask
) -> None:
    catalogs = runtime_of(app).catalogs
    assert admin.put("/admin/catalog", NEW_CATALOG).status == 200
    assert [s["name"] for s in osb.get("/v2/catalog").json["services"]] == ["replacement"]
    pushed = catalogs.catalog

    added = admin.post("/admin/faults", {"action": {"status": 500}, "match": {"operation": "bind"}})
    assert added.status == 201, added.json
    assert osb.get("/v2/catalog").status == 200

    assert catalogs.catalog is pushed
