"""Parameters are checked against the plan's JSON schemas (draft-04 and later) and stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from tests.support.osb import OSB, expect_error

MODERN = """
services:
  - name: modern
    description: Schemas of the newer JSON Schema drafts
    bindable: true
    instances_retrievable: true
    bindings_retrievable: true
    plans:
      - name: draft-2020-12
        description: prefixItems and dependentRequired exist only since 2019-09/2020-12
        schemas:
          service_instance:
            create:
              parameters:
                $schema: https://json-schema.org/draft/2020-12/schema
                type: object
                properties:
                  pair: {type: array, prefixItems: [{type: string}, {type: integer}], items: false}
                  user: {type: string}
                dependentRequired: {user: [password]}
      - name: draft-06
        description: const exists since draft-06
        schemas:
          service_instance:
            create:
              parameters:
                $schema: http://json-schema.org/draft-06/schema#
                type: object
                properties:
                  tier: {const: gold}
          service_binding:
            create:
              parameters:
                $schema: http://json-schema.org/draft-06/schema#
                type: object
                required: [scope]
                properties:
                  scope: {type: string, enum: [read, write]}
"""


@pytest.fixture
def modern(settings: Settings, tmp_path: Path) -> OSB:
    catalog = tmp_path / "modern.yaml"
    catalog.write_text(MODERN)
    return OSB(create_app(settings.replace(catalogs=(catalog,))).test_client())


def description_of(answer: object) -> str:
    body = expect_error(answer, 400, "InvalidParameters")  # type: ignore[arg-type]
    return str(body["description"])


def test_every_failing_json_path_is_listed(osb: OSB, store: Store) -> None:
    parameters = {
        "storage_gb": 0,
        "version": "9",
        "extensions": ["ok", "Not-OK", 3],
        "backup": {"enabled": "yes", "retention_days": 0, "surprise": 1},
        "unexpected": True,
    }
    answer = osb.provision("par-1", "mock-database", "small", parameters=parameters)
    description = description_of(answer)
    for path in (
        "$.storage_gb",
        "$.version",
        "$.extensions[1]",
        "$.extensions[2]",
        "$.backup.enabled",
        "$.backup.retention_days",
        "$.backup:",
        "$:",
    ):
        assert path in description, f"{path} missing from {description}"
    assert "'unexpected'" in description and "'surprise'" in description
    assert store.get_instance("par-1") is None


def test_parameters_that_are_not_an_object_fail_the_schema(osb: OSB) -> None:
    # The request schema already wants an object; the JSON schema never sees the list.
    answer = osb.provision("par-2", "mock-database", "small", parameters=[1, 2])
    expect_error(answer, 400, "BadRequest", "parameters")


def test_valid_parameters_are_stored_and_returned_on_fetch(osb: OSB) -> None:
    parameters = {
        "storage_gb": 20,
        "version": "16",
        "extensions": ["pg_trgm"],
        "backup": {"enabled": True, "retention_days": 7},
    }
    assert osb.provision("par-3", "mock-database", "small", parameters=parameters).status == 201
    assert osb.get("/v2/service_instances/par-3").json["parameters"] == parameters


def test_update_parameters_are_checked_against_the_update_schema(osb: OSB, store: Store) -> None:
    osb.provision("par-4", "mock-database", "small", parameters={"version": "15"})
    service_id, _ = osb.ids("mock-database", "small")
    # "version" is valid at create time but the update schema does not allow it.
    answer = osb.patch(
        "/v2/service_instances/par-4",
        {"service_id": service_id, "parameters": {"version": "16", "storage_gb": 2000}},
    )
    description = description_of(answer)
    assert "$.storage_gb" in description and "'version'" in description
    assert store.get_instance("par-4").parameters == {"version": "15"}  # type: ignore[union-attr]


def test_update_parameters_are_checked_against_the_target_plan(osb: OSB) -> None:
    osb.provision("par-5", "mock-database", "small")
    service_id, frozen = osb.ids("mock-database", "frozen")
    # The frozen plan has no schema: anything goes there.
    answer = osb.patch(
        "/v2/service_instances/par-5",
        {"service_id": service_id, "plan_id": frozen, "parameters": {"anything": [1]}},
    )
    assert answer.status == 200


def test_binding_parameters_are_checked_against_the_binding_schema(osb: OSB, store: Store) -> None:
    osb.provision("par-6", "mock-database", "small")
    answer = osb.bind("par-6", "par-6-a", "mock-database", "small", parameters={"role": "admin"})
    assert "$.role" in description_of(answer)
    assert store.get_binding("par-6-a") is None
    ok = osb.bind("par-6", "par-6-a", "mock-database", "small", parameters={"role": "read-write"})
    assert ok.status == 201
    fetched = osb.get("/v2/service_instances/par-6/service_bindings/par-6-a")
    assert fetched.json["parameters"] == {"role": "read-write"}


def test_plans_without_schemas_accept_any_parameters(osb: OSB) -> None:
    parameters = {"anything": {"nested": [1, "two", None]}}
    assert osb.provision("par-7", "mock-async", "sync", parameters=parameters).status == 201


def test_no_parameters_are_checked_as_an_empty_object(modern: OSB) -> None:
    # The draft-06 binding schema requires "scope": binding without parameters fails.
    modern.provision("par-8", "modern", "draft-06")
    answer = modern.bind("par-8", "par-8-a", "modern", "draft-06")
    assert "scope" in description_of(answer)


def test_draft_2020_12_keywords_are_enforced(modern: OSB) -> None:
    answer = modern.provision(
        "par-9", "modern", "draft-2020-12", parameters={"pair": ["a", "b", "c"], "user": "u"}
    )
    description = description_of(answer)
    assert "$.pair[1]" in description  # prefixItems: second item must be an integer
    assert "$.pair" in description  # items: false forbids a third item
    assert "password" in description  # dependentRequired
    ok = modern.provision(
        "par-9",
        "modern",
        "draft-2020-12",
        parameters={"pair": ["a", 1], "user": "u", "password": "p"},
    )
    assert ok.status == 201


def test_draft_06_keywords_are_enforced(modern: OSB) -> None:
    answer = modern.provision("par-10", "modern", "draft-06", parameters={"tier": "silver"})
    assert "$.tier" in description_of(answer)
    assert (
        modern.provision("par-10", "modern", "draft-06", parameters={"tier": "gold"}).status == 201
    )


def test_the_catalog_shows_the_schemas_with_their_refs_inlined(osb: OSB) -> None:
    catalog = osb.get("/v2/catalog").json
    database = next(
        service for service in catalog["services"] if service["name"] == "mock-database"
    )
    small = next(plan for plan in database["plans"] if plan["name"] == "small")
    create = small["schemas"]["service_instance"]["create"]["parameters"]
    assert create["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert "storage_gb" in create["properties"]
    assert "$ref" not in str(small["schemas"])
