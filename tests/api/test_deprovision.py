"""DELETE /v2/service_instances/:id: sync, async, repeats, halting a running provision."""

from __future__ import annotations

from typing import Any

import pytest

from broker.storage import Store
from tests.support.osb import OSB, expect_error


def test_a_synchronous_deprovision_answers_200_with_an_empty_object(osb: OSB, store: Store) -> None:
    osb.provision("d-1", "mock-database", "small")
    answer = osb.deprovision("d-1", "mock-database", "small")
    assert (answer.status, answer.json) == (200, {})
    assert store.get_instance("d-1") is None


def test_a_repeated_deprovision_answers_410(osb: OSB) -> None:
    osb.provision("d-2", "mock-database", "small")
    osb.deprovision("d-2", "mock-database", "small")
    expect_error(osb.deprovision("d-2", "mock-database", "small"), 410, "Gone", "d-2")


def test_a_deprovision_of_an_unknown_instance_answers_410(osb: OSB) -> None:
    expect_error(osb.deprovision("d-none", "mock-database", "small"), 410, "Gone")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"plan_id": "p"},
        {"service_id": "s"},
        {"service_id": "", "plan_id": "p"},
        {"service_id": "s", "plan_id": ""},
    ],
)
def test_a_deprovision_without_service_id_and_plan_id_answers_400(
    osb: OSB, store: Store, query: dict[str, Any]
) -> None:
    osb.provision("d-3", "mock-database", "small")
    answer = osb.delete("/v2/service_instances/d-3", query=query)
    missing = [name for name in ("service_id", "plan_id") if not query.get(name)]
    expect_error(answer, 400, "BadRequest", *missing)
    assert store.get_instance("d-3") is not None


def test_service_id_and_plan_id_are_required_even_for_an_unknown_instance(osb: OSB) -> None:
    expect_error(osb.delete("/v2/service_instances/d-none"), 400, "BadRequest")


def test_a_deprovision_removes_the_bindings_too(osb: OSB, store: Store) -> None:
    osb.provision("d-4", "mock-database", "small")
    osb.bind("d-4", "d-4-b1", "mock-database", "small")
    osb.bind("d-4", "d-4-b2", "mock-database", "small")
    assert osb.deprovision("d-4", "mock-database", "small").status == 200
    assert store.bindings_of("d-4") == []
    assert store.get_binding("d-4-b1") is None


# --- asynchronous ----------------------------------------------------------------------


def test_an_async_deprovision_answers_202_then_succeeded_once_then_410(
    osb: OSB, store: Store
) -> None:
    osb.provision("d-10", "mock-async", "polls")
    answer = osb.deprovision("d-10", "mock-async", "polls", accepts_incomplete=True)
    assert answer.status == 202
    assert set(answer.json) == {"operation"}
    assert store.get_instance("d-10").state == "deprovisioning"  # type: ignore[union-attr]
    operation = answer.json["operation"]
    assert osb.last_operation("d-10", operation).json["state"] == "in progress"
    assert osb.last_operation("d-10", operation).json["state"] == "in progress"
    # The poll that sees the delete finish answers succeeded (the default gone_after) ...
    finished = osb.last_operation("d-10", operation)
    assert (finished.status, finished.json) == (200, {"state": "succeeded"})
    assert store.get_instance("d-10") is None
    # ... and the next one 410 Gone, which stays.
    expect_error(osb.last_operation("d-10", operation), 410, "Gone")
    expect_error(osb.last_operation("d-10", operation), 410, "Gone")
    expect_error(osb.last_operation("d-10"), 410, "Gone")
    expect_error(osb.get("/v2/service_instances/d-10"), 404, "NotFound")


def test_a_repeated_async_deprovision_answers_202_with_the_same_operation(osb: OSB) -> None:
    osb.provision("d-11", "mock-async", "polls")
    first = osb.deprovision("d-11", "mock-async", "polls", accepts_incomplete=True)
    again = osb.deprovision("d-11", "mock-async", "polls", accepts_incomplete=True)
    assert (first.status, again.status) == (202, 202)
    assert again.json == first.json


def test_the_instance_stays_fetchable_until_the_async_deprovision_finishes(osb: OSB) -> None:
    osb.provision("d-12", "mock-async", "polls")
    osb.deprovision("d-12", "mock-async", "polls", accepts_incomplete=True)
    assert osb.get("/v2/service_instances/d-12").status == 200


@pytest.mark.parametrize("query", [False, "false"])
def test_an_async_only_deprovision_answers_422_async_required(
    osb: OSB, store: Store, query: Any
) -> None:
    osb.provision("d-13", "mock-async", "async-only", accepts_incomplete=True)
    osb.poll("d-13")
    service_id, plan_id = osb.ids("mock-async", "async-only")
    params = {"service_id": service_id, "plan_id": plan_id}
    if query:
        params["accepts_incomplete"] = query
    answer = osb.delete("/v2/service_instances/d-13", query=params)
    expect_error(answer, 422, "AsyncRequired")
    assert store.get_instance("d-13").state == "ready"  # type: ignore[union-attr]


def test_a_deprovision_while_updating_answers_422_concurrency_error(osb: OSB, store: Store) -> None:
    osb.provision("d-14", "mock-database", "large")
    service_id, _ = osb.ids("mock-database", "large")
    osb.patch(
        "/v2/service_instances/d-14",
        {"service_id": service_id, "parameters": {"storage_gb": 2}},
        query={"accepts_incomplete": "true"},
    )
    expect_error(
        osb.deprovision("d-14", "mock-database", "large", accepts_incomplete=True),
        422,
        "ConcurrencyError",
    )
    assert store.get_instance("d-14").state == "updating"  # type: ignore[union-attr]


def test_a_failed_async_deprovision_keeps_the_instance_and_says_it_is_usable(
    osb: OSB, store: Store
) -> None:
    osb.provision("d-15", "mock-async", "sync")
    osb.change_plan("d-15", "mock-async", "failing")
    answer = osb.deprovision("d-15", "mock-async", "failing", accepts_incomplete=True)
    final = osb.poll("d-15", answer.json["operation"])
    assert final.json == {
        "state": "failed",
        "description": "Deletion blocked by the mock cloud",
        "instance_usable": True,
    }
    assert store.get_instance("d-15").state == "ready"  # type: ignore[union-attr]
    assert osb.get("/v2/service_instances/d-15").status == 200


def test_a_failed_sync_deprovision_answers_an_error_and_keeps_the_instance(
    osb: OSB, store: Store
) -> None:
    osb.provision("d-16", "mock-async", "sync")
    osb.change_plan("d-16", "mock-async", "failing")
    answer = osb.deprovision("d-16", "mock-async", "failing")
    assert answer.status == 500
    assert answer.json["description"] == "Deletion blocked by the mock cloud"
    assert answer.json["instance_usable"] is True
    assert "update_repeatable" not in answer.json
    assert store.get_instance("d-16") is not None


def test_a_failed_provision_can_be_deprovisioned(osb: OSB, store: Store) -> None:
    osb.provision("d-17", "mock-async", "failing", accepts_incomplete=True)
    assert osb.poll("d-17").json["state"] == "failed"
    assert osb.deprovision("d-17", "mock-async", "failing").status == 200
    assert store.get_instance("d-17") is None


# --- a deprovision during a running provision -----------------------------------------


def test_a_sync_deprovision_during_a_provision_halts_it_and_the_create_poll_finds_nothing(
    osb: OSB, store: Store
) -> None:
    created = osb.provision("d-20", "mock-async", "polls", accepts_incomplete=True)
    answer = osb.deprovision("d-20", "mock-async", "polls")
    assert (answer.status, answer.json) == (200, {})
    assert store.get_instance("d-20") is None
    # The instance does not exist: 404 (2.16+), not the state of its halted provision.
    expect_error(osb.last_operation("d-20", created.json["operation"]), 404, "NotFound", "d-20")
    # Polling on does not bring the instance back.
    osb.last_operation("d-20", created.json["operation"])
    assert store.get_instance("d-20") is None
    expect_error(osb.get("/v2/service_instances/d-20"), 404)


def test_an_async_deprovision_during_a_provision_halts_it_and_last_operation_follows_the_delete(
    osb: OSB, store: Store
) -> None:
    created = osb.provision("d-21", "mock-async", "polls", accepts_incomplete=True)
    deleting = osb.deprovision("d-21", "mock-async", "polls", accepts_incomplete=True)
    assert deleting.status == 202
    assert deleting.json["operation"] != created.json["operation"]
    assert osb.last_operation("d-21", created.json["operation"]).json["state"] == "failed"
    assert osb.last_operation("d-21").json["state"] == "in progress"
    assert osb.last_operation("d-21").json["state"] == "in progress"
    assert osb.last_operation("d-21").json == {"state": "succeeded"}
    expect_error(osb.last_operation("d-21"), 410, "Gone")
    assert store.get_instance("d-21") is None
