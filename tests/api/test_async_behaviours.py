"""Per-plan asynchronous behaviour declared in YAML: polls, seconds, manual, never, failed.

Time is a hand-moved clock (``create_app(clock=...)``): nothing here sleeps except
one short real-time check that the default clock is the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from broker.web.runtime import runtime_of
from tests.support.clock import FakeClock
from tests.support.osb import OSB, Answer, expect_error

TIMED = """
services:
  - name: timed
    description: Operations bounded by maximum_polling_duration
    bindable: true
    plans:
      - name: slow-but-bounded
        description: Would finish after 30 s but may only take 5 s
        maximum_polling_duration: 5
        mockbroker:
          provision: {mode: async, finish: {seconds: 30}}
          bind: {mode: async, finish: {seconds: 30}}
      - name: quick
        description: Finishes after 0.2 s of wall-clock time
        maximum_polling_duration: 60
        mockbroker:
          provision: {mode: async, finish: {seconds: 0.2}}
"""


@pytest.fixture
def app(settings: Settings, clock: FakeClock, tmp_path: Path) -> Flask:
    timed = tmp_path / "timed.yaml"
    timed.write_text(TIMED)
    return create_app(settings.replace(catalogs=(*settings.catalogs, timed)), clock=clock)


def start(osb: OSB, operation: str, plan: str, name: str) -> tuple[Answer, Callable[[], Answer]]:
    """Start ``operation`` on a fresh mock-async resource; return the 202 and a poller."""
    instance = f"{name}-i"
    binding = f"{name}-b"
    service_id, plan_id = osb.ids("mock-async", plan)
    if operation == "provision":
        answer = osb.provision(instance, "mock-async", plan, accepts_incomplete=True)
        return answer, lambda: osb.last_operation(instance, answer.json["operation"])
    # Everything else needs a ready instance on the plan: create it on the sync plan
    # and move it over (the sync plan's update is synchronous).
    assert osb.provision(instance, "mock-async", "sync").status == 201
    moved = osb.patch(
        f"/v2/service_instances/{instance}", {"service_id": service_id, "plan_id": plan_id}
    )
    assert moved.status == 200
    if operation == "update":
        answer = osb.patch(
            f"/v2/service_instances/{instance}",
            {"service_id": service_id, "parameters": {"size": 2}},
            query={"accepts_incomplete": "true"},
        )
    elif operation == "deprovision":
        answer = osb.deprovision(instance, "mock-async", plan, accepts_incomplete=True)
    elif operation == "bind":
        answer = osb.bind(instance, binding, "mock-async", plan, accepts_incomplete=True)
        return answer, lambda: osb.last_operation(instance, answer.json["operation"], binding)
    else:
        # A ready binding to delete (bound asynchronously where the plan insists).
        bound = osb.bind(
            instance, binding, "mock-async", plan, accepts_incomplete=plan == "async-only"
        )
        if bound.status == 202:
            assert osb.poll(instance, bound.json["operation"], binding).json["state"] == "succeeded"
        store = runtime_of(osb.client.application).store
        assert store.get_binding(binding).state == "ready"  # type: ignore[union-attr]
        answer = osb.unbind(instance, binding, "mock-async", plan, accepts_incomplete=True)
        return answer, lambda: osb.last_operation(instance, answer.json["operation"], binding)
    return answer, lambda: osb.last_operation(instance, answer.json["operation"])


def final_state(answer: Answer, poll: Callable[[], Answer]) -> str:
    """The state a finished operation reports; for a finished deprovision/unbind,
    "succeeded" once (the default gone_after) and 410 Gone on the poll after it."""
    if answer.status == 410:
        return "gone"
    state: str = answer.json["state"]
    if state == "succeeded" and poll().status == 410:
        return "succeeded, then gone"
    return state


SUCCESS = {
    "provision": "succeeded",
    "update": "succeeded",
    "bind": "succeeded",
    "deprovision": "succeeded, then gone",
    "unbind": "succeeded, then gone",
}
OPERATIONS = list(SUCCESS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_polls_plan_reports_in_progress_for_exactly_two_polls(osb: OSB, operation: str) -> None:
    answer, poll = start(osb, operation, "polls", f"polls-{operation}")
    assert answer.status == 202
    for _ in range(2):
        in_progress = poll()
        assert in_progress.json == {"state": "in progress", "description": "Working on it"}
    assert final_state(poll(), poll) == SUCCESS[operation]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_seconds_plan_finishes_when_the_time_has_passed_however_often_it_is_polled(
    osb: OSB, clock: FakeClock, operation: str
) -> None:
    answer, poll = start(osb, operation, "seconds", f"seconds-{operation}")
    assert answer.status == 202
    for _ in range(10):
        assert poll().json["state"] == "in progress"
    clock.advance(1.9)
    assert poll().json["state"] == "in progress"
    clock.advance(0.1)
    assert final_state(poll(), poll) == SUCCESS[operation]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_manual_plan_waits_until_told(
    osb: OSB, admin: OSB, clock: FakeClock, operation: str
) -> None:
    answer, poll = start(osb, operation, "manual", f"manual-{operation}")
    for _ in range(10):
        clock.advance(3600)
        assert poll().json == {"state": "in progress", "description": "Waiting for the admin API"}
    told = admin.post(f"/admin/operations/{answer.json['operation']}", {"state": "succeeded"})
    assert told.status == 200
    assert final_state(poll(), poll) == SUCCESS[operation]


def test_a_manual_operation_can_be_failed_with_a_description(
    osb: OSB, admin: OSB, store: Store
) -> None:
    answer, poll = start(osb, "provision", "manual", "manual-fail")
    told = admin.post(
        f"/admin/operations/{answer.json['operation']}",
        {"state": "failed", "description": "Quota exceeded"},
    )
    assert told.status == 200
    assert poll().json == {"state": "failed", "description": "Quota exceeded"}
    assert store.get_instance("manual-fail-i").state == "failed"  # type: ignore[union-attr]


def test_a_manual_operation_finishes_only_once(osb: OSB, admin: OSB) -> None:
    answer, _ = start(osb, "provision", "manual", "manual-once")
    path = f"/admin/operations/{answer.json['operation']}"
    assert admin.post(path, {"state": "succeeded"}).status == 200
    expect_error(admin.post(path, {"state": "failed"}), 409, "Conflict")
    expect_error(
        admin.post("/admin/operations/no-such-operation", {"state": "succeeded"}), 404, "NotFound"
    )


@pytest.mark.parametrize("operation", ["provision", "update", "bind"])
def test_the_never_plan_fails_once_its_maximum_polling_duration_has_passed(
    osb: OSB, clock: FakeClock, operation: str
) -> None:
    answer, poll = start(osb, operation, "never", f"never-{operation}")
    for _ in range(5):
        clock.advance(1.9)
        assert poll().json["state"] == "in progress"
    clock.advance(0.5)
    final = poll()
    assert final.json["state"] == "failed"
    assert "maximum_polling_duration" in final.json["description"]
    # And it stays failed.
    clock.advance(100)
    assert poll().json == final.json


def test_an_operation_past_maximum_polling_duration_reports_failed(
    osb: OSB, clock: FakeClock
) -> None:
    created = osb.provision("mpd-1", "timed", "slow-but-bounded", accepts_incomplete=True)
    clock.advance(4.9)
    assert osb.last_operation("mpd-1").json["state"] == "in progress"
    clock.advance(0.1)
    final = osb.last_operation("mpd-1", created.json["operation"])
    assert final.json == {
        "state": "failed",
        "description": "provision did not finish within maximum_polling_duration (5 s)",
    }
    expect_error(osb.get("/v2/service_instances/mpd-1"), 404)


def test_a_bind_past_maximum_polling_duration_reports_failed_and_hands_out_nothing(
    osb: OSB, clock: FakeClock
) -> None:
    osb.provision("mpd-2", "timed", "slow-but-bounded", accepts_incomplete=True)
    clock.advance(31)  # past the deadline too: the provision fails
    assert osb.last_operation("mpd-2").json["state"] == "failed"
    osb.deprovision("mpd-2", "timed", "slow-but-bounded")
    # A plan whose provision is sync but bind is bounded: provision again, synchronously.
    assert osb.provision("mpd-2", "timed", "slow-but-bounded").status == 201
    bound = osb.bind("mpd-2", "mpd-2-a", "timed", "slow-but-bounded", accepts_incomplete=True)
    clock.advance(6)
    assert osb.last_operation("mpd-2", bound.json["operation"], "mpd-2-a").json["state"] == "failed"
    binding = runtime_of(osb.client.application).store.get_binding("mpd-2-a")
    assert binding is not None and binding.state == "failed" and binding.response == {}


@pytest.mark.parametrize(
    "operation, description",
    [
        ("provision", "The mock cloud ran out of capacity"),
        ("update", "Update rejected by the mock cloud"),
        ("deprovision", "Deletion blocked by the mock cloud"),
        ("bind", "Could not create the user"),
    ],
)
def test_the_failing_plan_ends_failed_with_its_description(
    osb: OSB, operation: str, description: str
) -> None:
    answer, poll = start(osb, operation, "failing", f"failing-{operation}")
    assert poll().json["state"] == "in progress"
    final = poll()
    assert final.json["state"] == "failed"
    assert final.json["description"] == description


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_async_only_plan_answers_202_with_accepts_incomplete(osb: OSB, operation: str) -> None:
    answer, poll = start(osb, operation, "async-only", f"only-{operation}")
    assert answer.status == 202
    assert poll().json["state"] == "in progress"
    assert final_state(poll(), poll) == SUCCESS[operation]


def test_the_sync_plan_never_goes_async(osb: OSB) -> None:
    assert osb.provision("sync-1", "mock-async", "sync", accepts_incomplete=True).status == 201
    assert (
        osb.bind("sync-1", "sync-1-b", "mock-async", "sync", accepts_incomplete=True).status == 201
    )
    unbound = osb.unbind("sync-1", "sync-1-b", "mock-async", "sync", accepts_incomplete=True)
    assert unbound.status == 200
    assert osb.deprovision("sync-1", "mock-async", "sync", accepts_incomplete=True).status == 200


def test_the_default_clock_is_the_wall_clock(settings: Settings, tmp_path: Path) -> None:
    timed = tmp_path / "timed.yaml"
    timed.write_text(TIMED)
    osb = OSB(create_app(settings.replace(catalogs=(timed,))).test_client())
    osb.provision("wall-1", "timed", "quick", accepts_incomplete=True)
    assert osb.last_operation("wall-1").json["state"] == "in progress"
    time.sleep(0.25)
    assert osb.last_operation("wall-1").json["state"] == "succeeded"
