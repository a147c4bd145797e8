"""PATCH /v2/service_instances/:id: parameters, plan changes, context, maintenance_info."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from broker.web.runtime import runtime_of
from tests.support.osb import OSB, Answer, expect_error

ASYNC = {"accepts_incomplete": "true"}


def patch(
    osb: OSB, instance_id: str, service: str = "mock-database", query: Any = None, **fields: Any
) -> Answer:
    service_id, _ = osb.ids(service, "sync" if service == "mock-async" else "small")
    return osb.patch(
        f"/v2/service_instances/{instance_id}", {"service_id": service_id, **fields}, query=query
    )


def plan_id(osb: OSB, plan: str, service: str = "mock-database") -> str:
    return osb.ids(service, plan)[1]


def on_plan(osb: OSB, instance_id: str, plan: str) -> None:
    """A ready mock-async instance on ``plan``, moved there from the sync plan."""
    assert osb.provision(instance_id, "mock-async", "sync").status == 201
    moved = osb.change_plan(instance_id, "mock-async", plan)
    assert moved.status == 200, moved.text


def test_an_update_of_parameters_answers_200_and_is_stored(osb: OSB, store: Store) -> None:
    osb.provision("u-1", "mock-database", "small", parameters={"storage_gb": 5})
    answer = patch(osb, "u-1", parameters={"storage_gb": 10, "extensions": ["pg_trgm"]})
    assert answer.status == 200
    assert set(answer.json) <= {"dashboard_url", "metadata"}
    assert osb.get("/v2/service_instances/u-1").json["parameters"] == {
        "storage_gb": 10,
        "extensions": ["pg_trgm"],
    }


def test_an_update_without_changes_answers_200_and_changes_nothing(osb: OSB, store: Store) -> None:
    osb.provision("u-2", "mock-database", "small", parameters={"storage_gb": 5})
    before = store.get_instance("u-2")
    assert patch(osb, "u-2").status == 200
    after = store.get_instance("u-2")
    assert after is not None and before is not None
    assert (after.plan_id, after.parameters, after.context) == (
        before.plan_id,
        before.parameters,
        before.context,
    )


def test_partial_parameters_are_merged_into_the_stored_ones(osb: OSB) -> None:
    osb.provision("u-3", "mock-database", "small", parameters={"storage_gb": 5, "version": "15"})
    patch(osb, "u-3", parameters={"storage_gb": 6})
    assert osb.get("/v2/service_instances/u-3").json["parameters"] == {
        "storage_gb": 6,
        "version": "15",
    }


def test_a_plan_declaring_replace_replaces_the_parameters(osb: OSB) -> None:
    osb.provision("u-4", "mock-database", "frozen", parameters={"a": 1, "b": 2})
    patch(osb, "u-4", parameters={"c": 3})
    assert osb.get("/v2/service_instances/u-4").json["parameters"] == {"c": 3}


def test_an_update_of_an_unknown_instance_answers_404(osb: OSB) -> None:
    expect_error(patch(osb, "u-none", parameters={}), 404, "NotFound", "u-none")


def test_an_update_naming_another_service_answers_400(osb: OSB, store: Store) -> None:
    osb.provision("u-5", "mock-database", "small")
    answer = patch(osb, "u-5", "mock-async", parameters={"storage_gb": 2})
    expect_error(answer, 400, "BadRequest", "service_id")
    assert store.get_instance("u-5").parameters == {}  # type: ignore[union-attr]


# --- plan changes --------------------------------------------------------------------


def test_a_plan_change_is_applied_when_the_plan_is_updateable(osb: OSB) -> None:
    osb.provision("u-10", "mock-database", "small")
    assert patch(osb, "u-10", plan_id=plan_id(osb, "large")).status == 200
    assert osb.get("/v2/service_instances/u-10").json["plan_id"] == plan_id(osb, "large")


def test_a_plan_change_from_a_plan_that_is_not_updateable_answers_422(
    osb: OSB, store: Store
) -> None:
    osb.provision("u-11", "mock-database", "frozen")
    answer = patch(osb, "u-11", plan_id=plan_id(osb, "small"), parameters={"x": 1})
    expect_error(answer, 422, None, "plan_updateable")
    instance = store.get_instance("u-11")
    assert instance is not None
    assert (instance.plan_id, instance.parameters) == (plan_id(osb, "frozen"), {})


def test_naming_the_current_plan_is_not_a_plan_change(osb: OSB) -> None:
    osb.provision("u-12", "mock-database", "frozen")
    assert patch(osb, "u-12", plan_id=plan_id(osb, "frozen"), parameters={"x": 1}).status == 200


def test_a_plan_change_to_an_unknown_plan_answers_400(osb: OSB) -> None:
    osb.provision("u-13", "mock-database", "small")
    expect_error(patch(osb, "u-13", plan_id="no-such-plan"), 400, "BadRequest", "no-such-plan")


def test_a_plan_change_to_a_plan_of_another_service_answers_400(osb: OSB) -> None:
    osb.provision("u-14", "mock-database", "small")
    expect_error(patch(osb, "u-14", plan_id=plan_id(osb, "sync", "mock-async")), 400, "BadRequest")


def test_previous_values_do_not_change_anything(osb: OSB) -> None:
    osb.provision("u-15", "mock-database", "small")
    answer = patch(
        osb, "u-15", previous_values={"plan_id": plan_id(osb, "large"), "service_id": "x"}
    )
    assert answer.status == 200
    assert osb.get("/v2/service_instances/u-15").json["plan_id"] == plan_id(osb, "small")


# --- context ---------------------------------------------------------------------------


def test_a_context_only_update_is_applied_when_allowed(osb: OSB, store: Store) -> None:
    osb.provision(
        "u-20", "mock-database", "small", context={"platform": "kubernetes", "namespace": "a"}
    )
    new_context = {"platform": "kubernetes", "namespace": "a", "instance_name": "renamed"}
    assert patch(osb, "u-20", context=new_context).status == 200
    assert store.get_instance("u-20").context == new_context  # type: ignore[union-attr]


def test_a_context_only_update_answers_422_when_not_allowed(osb: OSB, store: Store) -> None:
    osb.provision(
        "u-21", "mock-async", "sync", context={"platform": "kubernetes", "namespace": "a"}
    )
    answer = patch(osb, "u-21", "mock-async", context={"platform": "kubernetes", "namespace": "b"})
    expect_error(answer, 422, None, "allow_context_updates")
    assert store.get_instance("u-21").context["namespace"] == "a"  # type: ignore[union-attr]


def test_an_unchanged_context_is_no_context_only_update(osb: OSB) -> None:
    context = {"platform": "kubernetes", "namespace": "a"}
    osb.provision("u-22", "mock-async", "sync", context=context)
    assert patch(osb, "u-22", "mock-async", context=context).status == 200


def test_a_context_sent_with_parameters_is_applied_without_allow_context_updates(
    osb: OSB, store: Store
) -> None:
    osb.provision(
        "u-23", "mock-async", "sync", context={"platform": "kubernetes", "namespace": "a"}
    )
    new_context = {"platform": "kubernetes", "namespace": "b"}
    assert patch(osb, "u-23", "mock-async", context=new_context, parameters={"x": 1}).status == 200
    assert store.get_instance("u-23").context == new_context  # type: ignore[union-attr]


# --- maintenance_info ------------------------------------------------------------------


def test_a_maintenance_info_mismatch_answers_422_maintenance_info_conflict(
    osb: OSB, store: Store
) -> None:
    osb.provision("u-30", "mock-database", "small")
    answer = patch(osb, "u-30", maintenance_info={"version": "1.3.0"}, parameters={"storage_gb": 2})
    expect_error(answer, 422, "MaintenanceInfoConflict", "1.3.0")
    assert store.get_instance("u-30").parameters == {}  # type: ignore[union-attr]


def test_a_matching_maintenance_info_is_stored(osb: OSB) -> None:
    osb.provision("u-31", "mock-database", "small")
    assert patch(osb, "u-31", maintenance_info={"version": "1.2.0"}).status == 200
    assert osb.get("/v2/service_instances/u-31").json["maintenance_info"] == {"version": "1.2.0"}


def test_maintenance_info_is_checked_against_the_target_plan(osb: OSB) -> None:
    osb.provision("u-32", "mock-database", "small")
    answer = patch(
        osb, "u-32", plan_id=plan_id(osb, "frozen"), maintenance_info={"version": "1.2.0"}
    )
    expect_error(answer, 422, "MaintenanceInfoConflict", "frozen")


# --- asynchronous updates ---------------------------------------------------------------


def test_an_async_update_answers_202_and_applies_on_success(osb: OSB) -> None:
    osb.provision("u-40", "mock-database", "large")
    answer = patch(osb, "u-40", query=ASYNC, parameters={"storage_gb": 20})
    assert answer.status == 202
    assert answer.json["operation"]
    assert osb.poll("u-40", answer.json["operation"]).json["state"] == "succeeded"
    assert osb.get("/v2/service_instances/u-40").json["parameters"] == {"storage_gb": 20}


def test_an_async_plan_change_applies_only_when_it_succeeds(osb: OSB, store: Store) -> None:
    osb.provision("u-41", "mock-database", "large")
    answer = patch(osb, "u-41", query=ASYNC, plan_id=plan_id(osb, "small"))
    assert store.get_instance("u-41").plan_id == plan_id(osb, "large")  # type: ignore[union-attr]
    osb.poll("u-41", answer.json["operation"])
    assert store.get_instance("u-41").plan_id == plan_id(osb, "small")  # type: ignore[union-attr]


def test_an_identical_update_repeat_while_in_progress_answers_202_with_the_same_operation(
    osb: OSB,
) -> None:
    osb.provision("u-42", "mock-database", "large")
    first = patch(osb, "u-42", query=ASYNC, parameters={"storage_gb": 20})
    again = patch(osb, "u-42", query=ASYNC, parameters={"storage_gb": 20})
    assert (first.status, again.status) == (202, 202)
    assert again.json["operation"] == first.json["operation"]


def test_another_update_while_one_is_in_progress_answers_422_concurrency_error(osb: OSB) -> None:
    osb.provision("u-43", "mock-database", "large")
    patch(osb, "u-43", query=ASYNC, parameters={"storage_gb": 20})
    expect_error(
        patch(osb, "u-43", query=ASYNC, parameters={"storage_gb": 21}), 422, "ConcurrencyError"
    )


def test_an_update_while_provisioning_answers_422_concurrency_error(osb: OSB) -> None:
    osb.provision("u-44", "mock-database", "large", accepts_incomplete=True)
    expect_error(patch(osb, "u-44", parameters={"storage_gb": 3}), 422, "ConcurrencyError")


def test_an_update_while_deprovisioning_answers_422_concurrency_error(osb: OSB) -> None:
    osb.provision("u-45", "mock-async", "polls")
    osb.deprovision("u-45", "mock-async", "polls", accepts_incomplete=True)
    expect_error(patch(osb, "u-45", "mock-async", parameters={"x": 1}), 422, "ConcurrencyError")


@pytest.mark.parametrize("query", [None, {"accepts_incomplete": "false"}])
def test_an_async_only_update_answers_422_async_required(osb: OSB, query: Any) -> None:
    osb.provision("u-46", "mock-async", "async-only", accepts_incomplete=True)
    osb.poll("u-46")
    answer = patch(osb, "u-46", "mock-async", query=query, parameters={"x": 1})
    expect_error(answer, 422, "AsyncRequired")


# --- failures ----------------------------------------------------------------------------


def test_a_failed_async_update_reports_usable_and_repeatable_and_changes_nothing(
    osb: OSB, store: Store
) -> None:
    on_plan(osb, "u-50", "failing")
    answer = patch(osb, "u-50", "mock-async", query=ASYNC, parameters={"x": 1})
    assert answer.status == 202
    final = osb.poll("u-50", answer.json["operation"])
    assert final.json == {
        "state": "failed",
        "description": "Update rejected by the mock cloud",
        "instance_usable": True,
        "update_repeatable": False,
    }
    instance = store.get_instance("u-50")
    assert instance is not None and instance.state == "ready" and instance.parameters == {}


def test_a_failed_sync_update_answers_the_declared_error_with_usable_and_repeatable(
    osb: OSB, store: Store
) -> None:
    on_plan(osb, "u-51", "failing-sync")
    answer = patch(osb, "u-51", "mock-async", parameters={"x": 1})
    assert answer.status == 422
    assert answer.json["description"] == "Updates are not possible right now"
    assert answer.json["instance_usable"] is True
    assert answer.json["update_repeatable"] is True
    assert store.get_instance("u-51").parameters == {}  # type: ignore[union-attr]


def test_an_update_repeat_while_in_progress_without_accepts_incomplete_answers_422(
    osb: OSB,
) -> None:
    osb.provision("u-47", "mock-database", "large")
    patch(osb, "u-47", query=ASYNC, parameters={"storage_gb": 20})
    expect_error(patch(osb, "u-47", parameters={"storage_gb": 20}), 422, "AsyncRequired")


def test_a_sync_update_whose_new_dashboard_url_cannot_be_rendered_answers_500_and_changes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = tmp_path / "namespaced.yaml"
    catalog.write_text(
        yaml.safe_dump(
            {
                "services": [
                    {
                        "name": "namespaced",
                        "description": "Its second plan's dashboard needs a namespace",
                        "bindable": False,
                        "plan_updateable": True,
                        "plans": [
                            {"name": "anywhere", "description": "No dashboard"},
                            {
                                "name": "kubernetes",
                                "description": "A dashboard per namespace",
                                "mockbroker": {"dashboard_url": "https://dash.test/${namespace}"},
                            },
                        ],
                    }
                ]
            }
        )
    )
    app = create_app(settings.replace(catalogs=(catalog,)))
    osb = OSB(app.test_client())
    store = runtime_of(app).store
    cloud_foundry = {"platform": "cloudfoundry", "organization_guid": "org-1"}
    assert osb.provision("u-60", "namespaced", "anywhere", context=cloud_foundry).status == 201
    before = store.get_instance("u-60")

    answer = osb.change_plan("u-60", "namespaced", "kubernetes")

    assert answer.status == 500, answer.json
    assert answer.json["error"] == "BackendError"
    assert "cannot render a catalog template" in answer.json["description"]
    assert store.get_instance("u-60") == before
