"""Instance rules through ServiceBroker with the memory store: no HTTP."""

from __future__ import annotations

import pytest

from broker.osb import BrokerParts, RequestInfo, ServiceBroker
from broker.osb.errors import BadRequest, Conflict, Gone, MaintenanceInfoConflict
from broker.storage.memory import MemoryStore
from tests.support.clock import FakeClock
from tests.unit.osb.conftest import plan_named, provision_body

ASYNC = RequestInfo(accepts_incomplete=True)


def test_a_sync_provision_is_created_then_identical(
    broker: ServiceBroker, parts: BrokerParts, store: MemoryStore
) -> None:
    service, plan = plan_named(parts, "mock-database", "small")
    body = provision_body(service, plan)
    first = broker.provision("i-1", body, RequestInfo())
    assert first.kind == "created"
    assert first.body["dashboard_url"] == "http://broker.test/dashboard/instances/i-1"
    assert broker.provision("i-1", body, RequestInfo()).kind == "identical"
    stored = store.get_instance("i-1")
    assert stored is not None and stored.state == "ready"


def test_a_provision_with_other_attributes_conflicts(
    broker: ServiceBroker, parts: BrokerParts
) -> None:
    service, plan = plan_named(parts, "mock-async", "sync")
    broker.provision("i-1", provision_body(service, plan), RequestInfo())
    with pytest.raises(Conflict):
        broker.provision("i-1", provision_body(service, plan, space_guid="other"), RequestInfo())


def test_a_refused_provision_writes_nothing(
    broker: ServiceBroker, parts: BrokerParts, store: MemoryStore
) -> None:
    service, plan = plan_named(parts, "mock-database", "small")
    body = provision_body(service, plan, maintenance_info={"version": "0.0.1"})
    with pytest.raises(MaintenanceInfoConflict):
        broker.provision("i-1", body, RequestInfo())
    with pytest.raises(BadRequest, match="not in the catalog"):
        broker.provision("i-1", {**body, "service_id": "nope"}, RequestInfo())
    assert store.get_instance("i-1") is None
    assert store.list_operations(10) == []


def test_an_async_provision_advances_only_when_polled(
    broker: ServiceBroker, parts: BrokerParts, store: MemoryStore, clock: FakeClock
) -> None:
    service, plan = plan_named(parts, "mock-async", "polls")
    accepted = broker.provision("i-1", provision_body(service, plan), ASYNC)
    assert accepted.kind == "accepted"
    clock.advance(3600)  # time alone finishes nothing: only polls count
    stored = store.get_instance("i-1")
    assert stored is not None and stored.state == "provisioning"
    states = [broker.last_operation("i-1", None).body["state"] for _ in range(3)]
    assert states == ["in progress", "in progress", "succeeded"]
    stored = store.get_instance("i-1")
    assert stored is not None and stored.state == "ready"


def test_a_deprovision_of_an_unknown_instance_is_gone(broker: ServiceBroker) -> None:
    with pytest.raises(Gone):
        broker.deprovision("missing", {}, RequestInfo())


def test_a_sync_deprovision_removes_the_instance_and_its_bindings(
    broker: ServiceBroker, parts: BrokerParts, store: MemoryStore
) -> None:
    service, plan = plan_named(parts, "mock-async", "sync")
    body = provision_body(service, plan)
    broker.provision("i-1", body, RequestInfo())
    broker.bind("i-1", "b-1", {"service_id": service.id, "plan_id": plan.id}, RequestInfo())
    assert broker.deprovision("i-1", {}, RequestInfo()).kind == "done"
    assert store.get_instance("i-1") is None
    assert store.get_binding("b-1") is None
