"""DELETE …/service_bindings/:id: sync, async, repeats, halting a running bind."""

from __future__ import annotations

from typing import Any

import pytest

from broker.storage import Store
from tests.support.osb import OSB, expect_error

PATH = "/v2/service_instances/{}/service_bindings/{}"


def test_a_synchronous_unbind_answers_200_with_an_empty_object(osb: OSB, store: Store) -> None:
    osb.provision("ub-1", "mock-database", "small")
    osb.bind("ub-1", "ub-1-a", "mock-database", "small")
    answer = osb.unbind("ub-1", "ub-1-a", "mock-database", "small")
    assert (answer.status, answer.json) == (200, {})
    assert store.get_binding("ub-1-a") is None
    assert store.get_instance("ub-1") is not None


def test_a_repeated_unbind_answers_410(osb: OSB) -> None:
    osb.provision("ub-2", "mock-database", "small")
    osb.bind("ub-2", "ub-2-a", "mock-database", "small")
    osb.unbind("ub-2", "ub-2-a", "mock-database", "small")
    expect_error(osb.unbind("ub-2", "ub-2-a", "mock-database", "small"), 410, "Gone", "ub-2-a")


def test_an_unbind_of_an_unknown_binding_answers_410(osb: OSB) -> None:
    osb.provision("ub-3", "mock-database", "small")
    expect_error(osb.unbind("ub-3", "ub-none", "mock-database", "small"), 410, "Gone")
    expect_error(osb.unbind("ub-none", "ub-none", "mock-database", "small"), 410, "Gone")


def test_an_unbind_through_another_instance_answers_410_and_keeps_the_binding(
    osb: OSB, store: Store
) -> None:
    osb.provision("ub-4", "mock-database", "small")
    osb.provision("ub-5", "mock-database", "small")
    osb.bind("ub-4", "ub-4-a", "mock-database", "small")
    expect_error(osb.unbind("ub-5", "ub-4-a", "mock-database", "small"), 410, "Gone")
    assert store.get_binding("ub-4-a") is not None


@pytest.mark.parametrize(
    "query", [{}, {"plan_id": "p"}, {"service_id": "s"}, {"service_id": "", "plan_id": "p"}]
)
def test_an_unbind_without_service_id_and_plan_id_answers_400(
    osb: OSB, store: Store, query: dict[str, Any]
) -> None:
    osb.provision("ub-6", "mock-database", "small")
    osb.bind("ub-6", "ub-6-a", "mock-database", "small")
    answer = osb.delete(PATH.format("ub-6", "ub-6-a"), query=query)
    expect_error(
        answer, 400, "BadRequest", "service_id" if not query.get("service_id") else "plan_id"
    )
    assert store.get_binding("ub-6-a") is not None


# --- asynchronous ---------------------------------------------------------------------


def test_an_async_unbind_answers_202_then_succeeded_once_then_410(osb: OSB, store: Store) -> None:
    osb.provision("ub-10", "mock-async", "polls")
    osb.bind("ub-10", "ub-10-a", "mock-async", "polls")
    answer = osb.unbind("ub-10", "ub-10-a", "mock-async", "polls", accepts_incomplete=True)
    assert answer.status == 202
    assert set(answer.json) == {"operation"}
    operation = answer.json["operation"]
    assert osb.last_operation("ub-10", operation, "ub-10-a").json["state"] == "in progress"
    assert osb.last_operation("ub-10", operation, "ub-10-a").json["state"] == "in progress"
    finished = osb.last_operation("ub-10", operation, "ub-10-a")
    assert (finished.status, finished.json) == (200, {"state": "succeeded"})
    assert store.get_binding("ub-10-a") is None
    expect_error(osb.last_operation("ub-10", operation, "ub-10-a"), 410, "Gone")
    expect_error(osb.last_operation("ub-10", None, "ub-10-a"), 410, "Gone")


def test_a_repeated_async_unbind_answers_202_with_the_same_operation(osb: OSB) -> None:
    osb.provision("ub-11", "mock-async", "polls")
    osb.bind("ub-11", "ub-11-a", "mock-async", "polls")
    first = osb.unbind("ub-11", "ub-11-a", "mock-async", "polls", accepts_incomplete=True)
    again = osb.unbind("ub-11", "ub-11-a", "mock-async", "polls", accepts_incomplete=True)
    assert (first.status, again.status) == (202, 202)
    assert again.json == first.json
    expect_error(osb.unbind("ub-11", "ub-11-a", "mock-async", "polls"), 422, "AsyncRequired")


def test_a_bind_while_unbinding_answers_422_concurrency_error(osb: OSB) -> None:
    osb.provision("ub-12", "mock-async", "polls")
    osb.bind("ub-12", "ub-12-a", "mock-async", "polls")
    osb.unbind("ub-12", "ub-12-a", "mock-async", "polls", accepts_incomplete=True)
    answer = osb.bind("ub-12", "ub-12-a", "mock-async", "polls", accepts_incomplete=True)
    expect_error(answer, 422, "ConcurrencyError")


def test_an_async_only_unbind_answers_422_async_required(osb: OSB, store: Store) -> None:
    osb.provision("ub-13", "mock-async", "async-only", accepts_incomplete=True)
    osb.poll("ub-13")
    osb.bind("ub-13", "ub-13-a", "mock-async", "async-only", accepts_incomplete=True)
    osb.poll("ub-13", binding_id="ub-13-a")
    expect_error(osb.unbind("ub-13", "ub-13-a", "mock-async", "async-only"), 422, "AsyncRequired")
    assert store.get_binding("ub-13-a").state == "ready"  # type: ignore[union-attr]


def test_a_failed_binding_can_always_be_unbound(osb: OSB, store: Store) -> None:
    osb.provision("ub-14", "mock-async", "sync")
    osb.change_plan("ub-14", "mock-async", "failing")
    osb.bind("ub-14", "ub-14-a", "mock-async", "failing", accepts_incomplete=True)
    assert osb.poll("ub-14", binding_id="ub-14-a").json["state"] == "failed"
    answer = osb.unbind("ub-14", "ub-14-a", "mock-async", "failing", accepts_incomplete=True)
    assert (answer.status, answer.json) == (200, {})
    assert store.get_binding("ub-14-a") is None


# --- an unbind during a running bind ---------------------------------------------------


def test_a_sync_unbind_during_a_bind_halts_it_and_the_bind_poll_finds_nothing(
    osb: OSB, store: Store
) -> None:
    osb.provision("ub-20", "mock-async", "polls")
    created = osb.bind("ub-20", "ub-20-a", "mock-async", "polls", accepts_incomplete=True)
    answer = osb.unbind("ub-20", "ub-20-a", "mock-async", "polls")
    assert (answer.status, answer.json) == (200, {})
    assert store.get_binding("ub-20-a") is None
    # The binding does not exist: 404 (2.16+), not the state of its halted bind.
    final = osb.last_operation("ub-20", created.json["operation"], "ub-20-a")
    expect_error(final, 404, "NotFound", "ub-20-a")
    osb.last_operation("ub-20", created.json["operation"], "ub-20-a")
    assert store.get_binding("ub-20-a") is None


def test_an_async_unbind_during_a_bind_halts_it_and_last_operation_follows_the_unbind(
    osb: OSB, store: Store
) -> None:
    osb.provision("ub-21", "mock-async", "polls")
    created = osb.bind("ub-21", "ub-21-a", "mock-async", "polls", accepts_incomplete=True)
    deleting = osb.unbind("ub-21", "ub-21-a", "mock-async", "polls", accepts_incomplete=True)
    assert deleting.status == 202
    assert (
        osb.last_operation("ub-21", created.json["operation"], "ub-21-a").json["state"] == "failed"
    )
    assert osb.last_operation("ub-21", None, "ub-21-a").json["state"] == "in progress"
    assert osb.last_operation("ub-21", None, "ub-21-a").json["state"] == "in progress"
    assert osb.last_operation("ub-21", None, "ub-21-a").json == {"state": "succeeded"}
    expect_error(osb.last_operation("ub-21", None, "ub-21-a"), 410, "Gone")
    binding = store.get_binding("ub-21-a")
    assert binding is None
    expect_error(osb.get(PATH.format("ub-21", "ub-21-a")), 404)
