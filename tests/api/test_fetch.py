"""GET /v2/service_instances/:id and GET …/service_bindings/:id."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.app import create_app
from broker.config import Settings
from tests.support.osb import OSB, expect_error

LABELLED = """
services:
  - name: labelled
    description: Instances carry metadata
    bindable: true
    instances_retrievable: true
    plans:
      - name: gold
        description: Labelled instances
        maintenance_info: {version: "2.0.1"}
        mockbroker:
          instance_metadata:
            labels: {tier: gold}
            attributes: {region: eu-mock-1}
"""


@pytest.fixture
def labelled(settings: Settings, tmp_path: Path) -> OSB:
    catalog = tmp_path / "labelled.yaml"
    catalog.write_text(LABELLED)
    return OSB(create_app(settings.replace(catalogs=(catalog,))).test_client())


# --- instances ---------------------------------------------------------------------------


def test_a_fetched_instance_has_ids_dashboard_and_parameters(osb: OSB) -> None:
    osb.provision(
        "f-1",
        "mock-database",
        "small",
        parameters={"storage_gb": 3},
        maintenance_info={"version": "1.2.0"},
    )
    service_id, plan_id = osb.ids("mock-database", "small")
    answer = osb.get("/v2/service_instances/f-1")
    assert answer.status == 200
    assert answer.json == {
        "service_id": service_id,
        "plan_id": plan_id,
        "dashboard_url": "http://127.0.0.1:8080/dashboard/instances/f-1",
        "parameters": {"storage_gb": 3},
        "maintenance_info": {"version": "1.2.0"},
    }


def test_a_fetched_instance_carries_its_metadata(labelled: OSB) -> None:
    created = labelled.provision("f-2", "labelled", "gold")
    metadata = {"labels": {"tier": "gold"}, "attributes": {"region": "eu-mock-1"}}
    assert created.json["metadata"] == metadata
    assert labelled.get("/v2/service_instances/f-2").json["metadata"] == metadata


def test_the_service_and_plan_hints_are_accepted(osb: OSB) -> None:
    osb.provision("f-3", "mock-database", "small")
    service_id, plan_id = osb.ids("mock-database", "small")
    answer = osb.get(
        "/v2/service_instances/f-3", query={"service_id": service_id, "plan_id": plan_id}
    )
    assert answer.status == 200


def test_an_empty_hint_answers_400(osb: OSB) -> None:
    osb.provision("f-4", "mock-database", "small")
    expect_error(
        osb.get("/v2/service_instances/f-4", query={"service_id": ""}),
        400,
        "BadRequest",
        "service_id",
    )


def test_an_unknown_instance_answers_404(osb: OSB) -> None:
    expect_error(osb.get("/v2/service_instances/f-none"), 404, "NotFound")


def test_an_instance_still_being_provisioned_answers_404(osb: OSB) -> None:
    osb.provision("f-5", "mock-async", "polls", accepts_incomplete=True)
    expect_error(osb.get("/v2/service_instances/f-5"), 404, "NotFound")
    osb.poll("f-5")
    assert osb.get("/v2/service_instances/f-5").status == 200


def test_an_instance_whose_provision_failed_answers_404(osb: OSB) -> None:
    osb.provision("f-6", "mock-async", "failing", accepts_incomplete=True)
    osb.poll("f-6")
    expect_error(osb.get("/v2/service_instances/f-6"), 404, "NotFound")


def test_an_instance_being_updated_answers_422_concurrency_error(osb: OSB) -> None:
    osb.provision("f-7", "mock-database", "large")
    service_id, _ = osb.ids("mock-database", "large")
    osb.patch(
        "/v2/service_instances/f-7",
        {"service_id": service_id, "parameters": {"storage_gb": 2}},
        query={"accepts_incomplete": "true"},
    )
    expect_error(osb.get("/v2/service_instances/f-7"), 422, "ConcurrencyError")
    osb.poll("f-7")
    assert osb.get("/v2/service_instances/f-7").json["parameters"] == {"storage_gb": 2}


def test_an_instance_of_a_service_without_instances_retrievable_cannot_be_fetched(osb: OSB) -> None:
    osb.provision("f-8", "mock-log-drain", "default")
    expect_error(osb.get("/v2/service_instances/f-8"), 400, "BadRequest", "instances_retrievable")


# --- bindings --------------------------------------------------------------------------


def test_a_fetched_binding_has_the_credentials_and_parameters_it_was_created_with(osb: OSB) -> None:
    osb.provision("f-10", "mock-database", "small")
    created = osb.bind("f-10", "f-10-a", "mock-database", "small", parameters={"role": "read-only"})
    answer = osb.get("/v2/service_instances/f-10/service_bindings/f-10-a")
    assert answer.status == 200
    assert answer.json == {**created.json, "parameters": {"role": "read-only"}}


def test_an_unknown_binding_answers_404(osb: OSB) -> None:
    osb.provision("f-11", "mock-database", "small")
    expect_error(osb.get("/v2/service_instances/f-11/service_bindings/none"), 404, "NotFound")
    expect_error(osb.get("/v2/service_instances/none/service_bindings/none"), 404, "NotFound")


def test_a_binding_fetched_through_another_instance_answers_404(osb: OSB) -> None:
    osb.provision("f-12", "mock-database", "small")
    osb.provision("f-13", "mock-database", "small")
    osb.bind("f-12", "f-12-a", "mock-database", "small")
    expect_error(osb.get("/v2/service_instances/f-13/service_bindings/f-12-a"), 404, "NotFound")


def test_a_binding_still_being_created_answers_404(osb: OSB) -> None:
    osb.provision("f-14", "mock-async", "polls")
    osb.bind("f-14", "f-14-a", "mock-async", "polls", accepts_incomplete=True)
    expect_error(osb.get("/v2/service_instances/f-14/service_bindings/f-14-a"), 404, "NotFound")


def test_a_binding_of_a_service_without_bindings_retrievable_cannot_be_fetched(osb: OSB) -> None:
    osb.provision("f-15", "mock-log-drain", "default")
    osb.bind("f-15", "f-15-a", "mock-log-drain", "default")
    answer = osb.get("/v2/service_instances/f-15/service_bindings/f-15-a")
    expect_error(answer, 400, "BadRequest", "bindings_retrievable")
