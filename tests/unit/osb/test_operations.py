"""Asynchronous operations: new, advance and finish, with a clock moved by hand."""

from __future__ import annotations

import pytest

from broker.catalog.model import Finish, OperationBehaviour
from broker.osb import BrokerParts, RequestInfo, ServiceBroker
from broker.osb.errors import Conflict
from tests.support.clock import FakeClock
from tests.unit.osb.conftest import plan_named, provision_body


def test_an_operation_finishing_by_seconds_needs_the_time_and_a_poll(
    parts: BrokerParts, clock: FakeClock
) -> None:
    _, plan = plan_named(parts, "mock-async", "seconds")
    behaviour = OperationBehaviour(mode="async", finish=Finish("seconds", 2))
    operation = parts.operations.new("provision", behaviour, plan, RequestInfo(), instance_id="x")
    polled = parts.operations.advance(operation)
    assert polled.state == "in progress" and polled.polls == 1
    clock.advance(2)
    assert parts.operations.advance(polled).state == "succeeded"


def test_a_fault_can_make_an_operation_never_finish(parts: BrokerParts) -> None:
    _, plan = plan_named(parts, "mock-async", "polls")
    info = RequestInfo(accepts_incomplete=True, async_result="never", fault="rule-1")
    operation = parts.operations.new("bind", plan.knobs.bind, plan, info, instance_id="x")
    assert operation.finish_kind == "never"
    assert operation.fault == "rule-1"
    for _ in range(5):
        operation = parts.operations.advance(operation)
    assert operation.state == "in progress"


def test_a_manual_operation_is_finished_by_test_control_once(
    broker: ServiceBroker, parts: BrokerParts
) -> None:
    service, plan = plan_named(parts, "mock-async", "manual")
    accepted = broker.provision(
        "i-1", provision_body(service, plan), RequestInfo(accepts_incomplete=True)
    )
    operation_id = accepted.body["operation"]
    assert broker.last_operation("i-1", operation_id).body["state"] == "in progress"
    finished = broker.finish_operation(operation_id, "failed", "told to fail")
    assert (finished.state, finished.description) == ("failed", "told to fail")
    with pytest.raises(Conflict):
        broker.finish_operation(operation_id, "succeeded")
    instance = parts.store.get_instance("i-1")
    assert instance is not None and instance.state == "failed"
