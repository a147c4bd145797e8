"""PUT /v2/service_instances/:id: new, identical repeat, conflicting repeat, async, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from broker.storage import Store
from tests.support.osb import OSB, expect_error


def body_for(
    osb: OSB, service: str = "mock-database", plan: str = "small", **fields: Any
) -> dict[str, Any]:
    return osb.provision_body(service, plan, **fields)


def test_a_new_synchronous_provision_answers_201_with_the_dashboard_url(
    osb: OSB, store: Store
) -> None:
    answer = osb.put("/v2/service_instances/p-1", body_for(osb))
    assert answer.status == 201
    assert answer.json == {"dashboard_url": "http://127.0.0.1:8080/dashboard/instances/p-1"}
    instance = store.get_instance("p-1")
    assert instance is not None and instance.state == "ready"


def test_a_repeated_identical_provision_answers_200_with_the_same_body(osb: OSB) -> None:
    body = body_for(osb, parameters={"storage_gb": 5})
    first = osb.put("/v2/service_instances/p-2", body)
    again = osb.put("/v2/service_instances/p-2", body)
    assert (first.status, again.status) == (201, 200)
    assert again.json == first.json


def test_a_repeat_with_another_context_is_still_identical(osb: OSB) -> None:
    # Platforms re-send context with cosmetic changes (annotations); not a new instance.
    osb.put(
        "/v2/service_instances/p-3",
        body_for(osb, context={"platform": "kubernetes", "namespace": "a"}),
    )
    again = osb.put(
        "/v2/service_instances/p-3",
        body_for(
            osb,
            context={
                "platform": "kubernetes",
                "namespace": "a",
                "instance_annotations": {"x": "y"},
            },
        ),
    )
    assert again.status == 200


@pytest.mark.parametrize(
    "change",
    [
        {"parameters": {"storage_gb": 6}},
        {"plan": "frozen"},
        {"service": "mock-async", "plan": "sync"},
        {"organization_guid": "org-2"},
        {"space_guid": "space-2"},
    ],
)
def test_a_repeat_with_different_attributes_answers_409_and_changes_nothing(
    osb: OSB, store: Store, change: dict[str, Any]
) -> None:
    osb.put("/v2/service_instances/p-4", body_for(osb, parameters={"storage_gb": 5}))
    before = store.get_instance("p-4")
    service, plan = change.pop("service", "mock-database"), change.pop("plan", "small")
    fields = {"parameters": {"storage_gb": 5}, **change}
    answer = osb.put("/v2/service_instances/p-4", body_for(osb, service, plan, **fields))
    expect_error(answer, 409, "Conflict", "p-4")
    assert store.get_instance("p-4") == before


def test_a_repeat_with_other_maintenance_info_answers_409(osb: OSB) -> None:
    osb.put("/v2/service_instances/p-5", body_for(osb))
    answer = osb.put(
        "/v2/service_instances/p-5", body_for(osb, maintenance_info={"version": "1.2.0"})
    )
    expect_error(answer, 409, "Conflict")


def test_an_unknown_service_answers_400(osb: OSB, store: Store) -> None:
    answer = osb.put("/v2/service_instances/p-6", body_for(osb, service_id="no-such-service"))
    expect_error(answer, 400, "BadRequest", "no-such-service")
    assert store.get_instance("p-6") is None


def test_an_unknown_plan_answers_400(osb: OSB, store: Store) -> None:
    answer = osb.put("/v2/service_instances/p-7", body_for(osb, plan_id="no-such-plan"))
    expect_error(answer, 400, "BadRequest", "no-such-plan")
    assert store.get_instance("p-7") is None


def test_a_plan_of_another_service_answers_400(osb: OSB, store: Store) -> None:
    _, other_plan = osb.ids("mock-async", "sync")
    answer = osb.put("/v2/service_instances/p-8", body_for(osb, plan_id=other_plan))
    expect_error(answer, 400, "BadRequest", other_plan)
    assert store.get_instance("p-8") is None


def test_services_and_plans_are_named_by_id_not_by_name(osb: OSB) -> None:
    answer = osb.put("/v2/service_instances/p-9", body_for(osb, service_id="mock-database"))
    expect_error(answer, 400, "BadRequest")


def test_the_request_attributes_are_stored(osb: OSB, store: Store) -> None:
    context = {
        "platform": "cloudfoundry",
        "organization_guid": "org-1",
        "space_guid": "space-1",
        "organization_name": "o",
        "space_name": "s",
        "instance_name": "db",
    }
    osb.put(
        "/v2/service_instances/p-10",
        body_for(
            osb,
            context=context,
            parameters={"storage_gb": 8},
            maintenance_info={"version": "1.2.0"},
        ),
    )
    instance = store.get_instance("p-10")
    assert instance is not None
    assert instance.context == context
    assert instance.parameters == {"storage_gb": 8}
    assert instance.maintenance_info == {"version": "1.2.0"}
    assert (instance.organization_guid, instance.space_guid) == ("org-1", "space-1")


# --- maintenance_info ------------------------------------------------------------------


def test_a_maintenance_info_mismatch_answers_422_maintenance_info_conflict(
    osb: OSB, store: Store
) -> None:
    answer = osb.put(
        "/v2/service_instances/p-11", body_for(osb, maintenance_info={"version": "2.0.0"})
    )
    expect_error(answer, 422, "MaintenanceInfoConflict", "2.0.0", "1.2.0")
    assert store.get_instance("p-11") is None


def test_maintenance_info_for_a_plan_without_one_answers_422(osb: OSB, store: Store) -> None:
    answer = osb.put(
        "/v2/service_instances/p-12",
        body_for(osb, plan="frozen", maintenance_info={"version": "1.0.0"}),
    )
    expect_error(answer, 422, "MaintenanceInfoConflict")
    assert store.get_instance("p-12") is None


def test_only_the_maintenance_info_version_matters(osb: OSB) -> None:
    body = body_for(osb, maintenance_info={"version": "1.2.0", "description": "whatever"})
    assert osb.put("/v2/service_instances/p-13", body).status == 201


# --- asynchronous provisioning ---------------------------------------------------------


def test_an_async_provision_answers_202_with_an_operation_and_the_dashboard_url(
    osb: OSB, store: Store
) -> None:
    answer = osb.put(
        "/v2/service_instances/p-20",
        body_for(osb, plan="large"),
        query={"accepts_incomplete": "true"},
    )
    assert answer.status == 202
    assert answer.json["dashboard_url"] == "http://127.0.0.1:8080/dashboard/instances/p-20"
    assert isinstance(answer.json["operation"], str) and answer.json["operation"]
    assert store.get_instance("p-20").state == "provisioning"  # type: ignore[union-attr]


def test_an_identical_repeat_while_in_progress_answers_202_with_the_same_operation(
    osb: OSB,
) -> None:
    body = body_for(osb, plan="large")
    first = osb.put("/v2/service_instances/p-21", body, query={"accepts_incomplete": "true"})
    again = osb.put("/v2/service_instances/p-21", body, query={"accepts_incomplete": "true"})
    assert (first.status, again.status) == (202, 202)
    assert again.json["operation"] == first.json["operation"]


def test_a_different_repeat_while_in_progress_answers_409(osb: OSB) -> None:
    osb.put(
        "/v2/service_instances/p-22",
        body_for(osb, plan="large"),
        query={"accepts_incomplete": "true"},
    )
    answer = osb.put(
        "/v2/service_instances/p-22",
        body_for(osb, plan="large", parameters={"storage_gb": 2}),
        query={"accepts_incomplete": "true"},
    )
    expect_error(answer, 409, "Conflict")


def test_an_identical_repeat_after_async_completion_answers_200(osb: OSB) -> None:
    body = body_for(osb, plan="large")
    osb.put("/v2/service_instances/p-23", body, query={"accepts_incomplete": "true"})
    assert osb.poll("p-23").json["state"] == "succeeded"
    again = osb.put("/v2/service_instances/p-23", body, query={"accepts_incomplete": "true"})
    assert again.status == 200
    assert "operation" not in again.json


def test_an_async_capable_plan_answers_201_without_accepts_incomplete(
    osb: OSB, store: Store
) -> None:
    answer = osb.put("/v2/service_instances/p-24", body_for(osb, plan="large"))
    assert answer.status == 201
    assert store.get_instance("p-24").state == "ready"  # type: ignore[union-attr]


@pytest.mark.parametrize("query", [None, {"accepts_incomplete": "false"}])
def test_an_async_only_plan_answers_422_async_required(osb: OSB, store: Store, query: Any) -> None:
    answer = osb.put(
        "/v2/service_instances/p-25", body_for(osb, "mock-async", "async-only"), query=query
    )
    expect_error(answer, 422, "AsyncRequired", "accepts_incomplete=true")
    assert store.get_instance("p-25") is None


def test_a_sync_plan_answers_201_even_with_accepts_incomplete(osb: OSB) -> None:
    answer = osb.put(
        "/v2/service_instances/p-26",
        body_for(osb, "mock-async", "sync"),
        query={"accepts_incomplete": "true"},
    )
    assert answer.status == 201
    assert "operation" not in answer.json


def test_a_provision_that_failed_can_be_provisioned_again(osb: OSB, store: Store) -> None:
    body = body_for(osb, "mock-async", "failing")
    first = osb.put("/v2/service_instances/p-27", body, query={"accepts_incomplete": "true"})
    assert osb.last_operation("p-27").json["state"] == "in progress"
    assert osb.last_operation("p-27").json["state"] == "failed"
    again = osb.put("/v2/service_instances/p-27", body, query={"accepts_incomplete": "true"})
    assert again.status == 202
    assert again.json["operation"] != first.json["operation"]
    assert store.get_instance("p-27").state == "provisioning"  # type: ignore[union-attr]


def test_a_provision_while_deprovisioning_answers_422_concurrency_error(osb: OSB) -> None:
    body = body_for(osb, "mock-async", "polls")
    osb.put("/v2/service_instances/p-28", body)
    osb.deprovision("p-28", "mock-async", "polls", accepts_incomplete=True)
    answer = osb.put("/v2/service_instances/p-28", body, query={"accepts_incomplete": "true"})
    expect_error(answer, 422, "ConcurrencyError")


def test_a_synchronous_failure_answers_the_declared_status_and_leaves_nothing(
    osb: OSB, store: Store
) -> None:
    answer = osb.put("/v2/service_instances/p-29", body_for(osb, "mock-async", "failing-sync"))
    expect_error(answer, 500, "ProvisionFailed", "The mock cloud is down")
    assert store.get_instance("p-29") is None


def test_a_repeat_while_in_progress_without_accepts_incomplete_answers_422_async_required(
    osb: OSB,
) -> None:
    # OSB: a broker MAY answer 202 only to a request with accepts_incomplete=true.
    body = body_for(osb, plan="large")
    first = osb.put("/v2/service_instances/p-30", body, query={"accepts_incomplete": "true"})
    expect_error(osb.put("/v2/service_instances/p-30", body), 422, "AsyncRequired")
    assert osb.last_operation("p-30", first.json["operation"]).json["state"] == "in progress"
