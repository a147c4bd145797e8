"""GET /v2/catalog: the OSB view of the bundled catalogs, stable ids, no broker knobs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from broker.app import create_app
from broker.config import Settings
from tests.support.osb import OSB

SERVICE_FIELDS = {
    "id",
    "name",
    "description",
    "tags",
    "requires",
    "bindable",
    "instances_retrievable",
    "bindings_retrievable",
    "allow_context_updates",
    "metadata",
    "dashboard_client",
    "plan_updateable",
    "plans",
}
PLAN_FIELDS = {
    "id",
    "name",
    "description",
    "metadata",
    "free",
    "bindable",
    "binding_rotatable",
    "plan_updateable",
    "schemas",
    "maximum_polling_duration",
    "maintenance_info",
}
SEMVER = re.compile(r"^\d+\.\d+\.\d+([-+].*)?$")


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


def test_the_catalog_lists_the_bundled_services(osb: OSB) -> None:
    answer = osb.get("/v2/catalog")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    names = {service["name"] for service in answer.json["services"]}
    assert {
        "mock-async",
        "mock-database",
        "cloud-provider-service",
        "mock-log-drain",
        "mock-route-service",
        "mock-volume",
        "mock-rotating-credentials",
    } <= names


def test_the_walkthrough_service_and_plan_exist(osb: OSB) -> None:
    service_id, plan_id = osb.ids("cloud-provider-service", "service-plan-name")
    assert service_id and plan_id


def test_every_service_and_plan_follows_the_osb_catalog_rules(osb: OSB) -> None:
    services = osb.get("/v2/catalog").json["services"]
    ids: list[str] = []
    for service in services:
        assert set(service) <= SERVICE_FIELDS, set(service) - SERVICE_FIELDS
        assert service["name"] and service["description"] and isinstance(service["bindable"], bool)
        assert service["plans"], f"{service['name']} has no plans"
        plan_names = [plan["name"] for plan in service["plans"]]
        assert len(plan_names) == len(set(plan_names))
        ids.append(service["id"])
        for plan in service["plans"]:
            assert set(plan) <= PLAN_FIELDS, set(plan) - PLAN_FIELDS
            assert plan["name"] and plan["description"]
            ids.append(plan["id"])
            if "maintenance_info" in plan:
                assert SEMVER.match(plan["maintenance_info"]["version"])
            for holder in plan.get("schemas", {}).values():
                for action in holder.values():
                    assert "$schema" in action["parameters"]
    assert len(ids) == len(set(ids))
    names = [service["name"] for service in services]
    assert len(names) == len(set(names))


def test_broker_knobs_never_reach_the_catalog(osb: OSB) -> None:
    body = osb.get("/v2/catalog").json
    assert "mockbroker" not in set(keys(body))
    assert "finish" not in set(keys(body))


def test_ids_are_stable_across_restarts(settings: Settings) -> None:
    first = OSB(create_app(settings).test_client()).get("/v2/catalog").json
    second = (
        OSB(create_app(settings.replace(store="memory://other")).test_client())
        .get("/v2/catalog")
        .json
    )
    assert first == second


def test_the_catalog_supports_etag_revalidation(osb: OSB) -> None:
    first = osb.get("/v2/catalog")
    etag = first.headers["ETag"]
    again = osb.get("/v2/catalog", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.text == ""
    changed = osb.get("/v2/catalog", headers={"If-None-Match": '"something-else"'})
    assert changed.status == 200


def test_catalog_fields_pass_through_unchanged(osb: OSB) -> None:
    services = {s["name"]: s for s in osb.get("/v2/catalog").json["services"]}
    database = services["mock-database"]
    assert database["allow_context_updates"] is True
    assert database["metadata"] == {
        "displayName": "Mock Database",
        "providerDisplayName": "mockbroker",
    }
    plans = {plan["name"]: plan for plan in database["plans"]}
    assert plans["small"]["maintenance_info"] == {
        "version": "1.2.0",
        "description": "Patched storage engine",
    }
    assert plans["frozen"]["plan_updateable"] is False
    never = next(p for p in services["mock-async"]["plans"] if p["name"] == "never")
    assert never["maximum_polling_duration"] == 10
