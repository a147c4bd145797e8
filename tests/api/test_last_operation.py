"""The two last_operation endpoints: states, the operation parameter, Retry-After, 404/410."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from tests.support.osb import OSB, expect_error


@pytest.fixture
def strict(settings: Settings) -> OSB:
    """A caller of a broker with BROKER_STRICT=true (the lenient answers are in
    test_lenient_polling)."""
    return OSB(create_app(settings.replace(strict=True)).test_client())


def test_last_operation_of_an_unknown_instance_answers_404(osb: OSB) -> None:
    expect_error(osb.last_operation("lo-none"), 404, "NotFound")
    expect_error(osb.last_operation("lo-none", "provision-123"), 404, "NotFound")


def test_last_operation_of_an_unknown_binding_answers_404(osb: OSB) -> None:
    osb.provision("lo-1", "mock-database", "small")
    expect_error(osb.last_operation("lo-1", None, "none"), 404, "NotFound")
    expect_error(osb.last_operation("lo-1", "bind-123", "none"), 404, "NotFound")


def test_last_operation_of_a_binding_of_another_instance_answers_404(osb: OSB) -> None:
    osb.provision("lo-2", "mock-database", "small")
    osb.provision("lo-3", "mock-database", "small")
    assert osb.bind("lo-2", "lo-2-a", "mock-database", "small").status == 201
    expect_error(osb.last_operation("lo-3", None, "lo-2-a"), 404, "NotFound")
    expect_error(osb.last_operation("lo-3", "bind-123", "lo-2-a"), 404, "NotFound")


def test_a_synchronously_created_instance_reports_succeeded(osb: OSB) -> None:
    osb.provision("lo-2", "mock-database", "small")
    assert osb.last_operation("lo-2").json == {"state": "succeeded"}


def test_the_state_is_remembered_after_completion(osb: OSB) -> None:
    created = osb.provision("lo-3", "mock-async", "polls", accepts_incomplete=True)
    operation = created.json["operation"]
    assert osb.poll("lo-3", operation).json["state"] == "succeeded"
    for _ in range(5):
        assert osb.last_operation("lo-3", operation).json["state"] == "succeeded"
        assert osb.last_operation("lo-3").json["state"] == "succeeded"


def test_a_failure_is_remembered_after_completion(osb: OSB) -> None:
    created = osb.provision("lo-4", "mock-async", "failing", accepts_incomplete=True)
    final = osb.poll("lo-4", created.json["operation"])
    for _ in range(3):
        assert osb.last_operation("lo-4", created.json["operation"]).json == final.json
    assert final.json == {"state": "failed", "description": "The mock cloud ran out of capacity"}


def test_the_operation_parameter_selects_an_older_operation(osb: OSB) -> None:
    created = osb.provision("lo-5", "mock-async", "polls", accepts_incomplete=True)
    osb.poll("lo-5")
    service_id, plan_id = osb.ids("mock-async", "polls")
    updating = osb.patch(
        "/v2/service_instances/lo-5",
        {"service_id": service_id, "parameters": {"a": 1}},
        query={"accepts_incomplete": "true"},
    )
    assert osb.last_operation("lo-5", created.json["operation"]).json["state"] == "succeeded"
    assert osb.last_operation("lo-5", updating.json["operation"]).json["state"] == "in progress"
    assert osb.last_operation("lo-5").json["state"] == "in progress"


def test_the_service_and_plan_hints_are_accepted(osb: OSB) -> None:
    created = osb.provision("lo-6", "mock-async", "polls", accepts_incomplete=True)
    service_id, plan_id = osb.ids("mock-async", "polls")
    answer = osb.get(
        "/v2/service_instances/lo-6/last_operation",
        query={
            "service_id": service_id,
            "plan_id": plan_id,
            "operation": created.json["operation"],
        },
    )
    assert answer.json["state"] == "in progress"


def test_in_strict_mode_an_operation_of_another_instance_answers_400(strict: OSB) -> None:
    first = strict.provision("lo-7", "mock-async", "polls", accepts_incomplete=True)
    strict.provision("lo-8", "mock-async", "polls", accepts_incomplete=True)
    expect_error(strict.last_operation("lo-8", first.json["operation"]), 400, "BadRequest")


def test_in_strict_mode_a_binding_operation_is_not_an_instance_operation(strict: OSB) -> None:
    strict.provision("lo-9", "mock-async", "polls")
    bound = strict.bind("lo-9", "lo-9-a", "mock-async", "polls", accepts_incomplete=True)
    expect_error(strict.last_operation("lo-9", bound.json["operation"]), 400, "BadRequest")
    answer = strict.last_operation("lo-9", bound.json["operation"], "lo-9-a")
    assert answer.json["state"] == "in progress"


def test_in_strict_mode_an_unknown_operation_of_a_known_instance_answers_400(
    strict: OSB,
) -> None:
    strict.provision("lo-10", "mock-async", "polls", accepts_incomplete=True)
    expect_error(
        strict.last_operation("lo-10", "no-such-operation"), 400, "BadRequest", "no-such-operation"
    )


def test_an_empty_operation_parameter_answers_400(osb: OSB) -> None:
    osb.provision("lo-11", "mock-async", "polls", accepts_incomplete=True)
    answer = osb.get("/v2/service_instances/lo-11/last_operation", query={"operation": ""})
    expect_error(answer, 400, "BadRequest", "operation")


def test_retry_after_is_sent_while_in_progress_and_not_after(osb: OSB) -> None:
    osb.provision("lo-12", "mock-async", "polls", accepts_incomplete=True)
    in_progress = osb.last_operation("lo-12")
    assert in_progress.json["state"] == "in progress"
    assert in_progress.headers["Retry-After"] == "1"
    final = osb.poll("lo-12")
    assert "Retry-After" not in final.headers


def test_retry_after_is_sent_on_binding_last_operation(osb: OSB) -> None:
    osb.provision("lo-13", "mock-async", "polls")
    osb.bind("lo-13", "lo-13-a", "mock-async", "polls", accepts_incomplete=True)
    assert osb.last_operation("lo-13", None, "lo-13-a").headers["Retry-After"] == "1"


def test_no_retry_after_when_the_plan_declares_none(osb: OSB) -> None:
    osb.provision("lo-14", "mock-async", "manual", accepts_incomplete=True)
    answer = osb.last_operation("lo-14")
    assert answer.json == {"state": "in progress", "description": "Waiting for the admin API"}
    assert "Retry-After" not in answer.headers


def test_operations_are_unique_opaque_strings(osb: OSB, store: Store) -> None:
    operations = set()
    for index in range(30):
        answer = osb.provision(f"lo-u-{index}", "mock-async", "polls", accepts_incomplete=True)
        operation = answer.json["operation"]
        assert isinstance(operation, str) and 0 < len(operation) <= 10_000
        assert f"lo-u-{index}" not in operation
        operations.add(operation)
    assert len(operations) == 30


def test_an_operation_with_reserved_characters_round_trips_percent_encoded(osb: OSB) -> None:
    created = osb.provision("lo-15", "mock-async", "polls", accepts_incomplete=True)
    operation = created.json["operation"]
    raw_path = f"/v2/service_instances/lo-15/last_operation?operation={quote(operation, safe='')}"
    assert osb.get(raw_path).json["state"] == "in progress"


def test_description_is_absent_or_non_empty(osb: OSB) -> None:
    osb.provision("lo-16", "mock-database", "large", accepts_incomplete=True)
    answer = osb.last_operation("lo-16")
    assert answer.json == {"state": "in progress"}


def test_instance_usable_and_update_repeatable_never_appear_for_provision_or_bind(osb: OSB) -> None:
    osb.provision("lo-17", "mock-async", "failing", accepts_incomplete=True)
    assert set(osb.poll("lo-17").json) == {"state", "description"}
    osb.provision("lo-18", "mock-async", "sync")
    osb.change_plan("lo-18", "mock-async", "failing")
    osb.bind("lo-18", "lo-18-a", "mock-async", "failing", accepts_incomplete=True)
    assert set(osb.poll("lo-18", None, "lo-18-a").json) == {"state", "description"}


def test_binding_last_operation_reports_the_binding_not_the_instance(osb: OSB) -> None:
    osb.provision("lo-19", "mock-async", "polls")
    osb.bind("lo-19", "lo-19-a", "mock-async", "polls")
    # A synchronously created binding has no operation: it simply exists.
    assert osb.last_operation("lo-19", None, "lo-19-a").json == {"state": "succeeded"}
    osb.bind("lo-19", "lo-19-b", "mock-async", "polls", accepts_incomplete=True)
    assert osb.last_operation("lo-19", None, "lo-19-b").json["state"] == "in progress"
    assert osb.last_operation("lo-19").json == {"state": "succeeded"}
