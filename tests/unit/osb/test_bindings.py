"""Binding rules and the instance-then-binding lock order, without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from broker.osb import BrokerParts, RequestInfo, ServiceBroker
from broker.osb.errors import ConcurrencyError, NotFound
from broker.osb.locking import locked
from broker.storage.memory import MemoryStore
from tests.unit.osb.conftest import plan_named, provision_body


class RecordingStore(MemoryStore):
    """A memory store that notes which locks are taken, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.taken: list[str] = []

    def lock(self, key: str) -> AbstractContextManager[None]:
        self.taken.append(key)
        return super().lock(key)


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    yield RecordingStore()


def test_locks_are_taken_instance_first_then_binding() -> None:
    store = RecordingStore()
    with locked(store, "i-1", "b-1"):
        pass
    assert store.taken == ["instance:i-1", "binding:b-1"]


def test_a_bind_holds_the_instance_lock_then_the_binding_lock(
    broker: ServiceBroker, parts: BrokerParts, store: RecordingStore
) -> None:
    service, plan = plan_named(parts, "mock-async", "sync")
    broker.provision("i-1", provision_body(service, plan), RequestInfo())
    store.taken.clear()
    answer = broker.bind(
        "i-1", "b-1", {"service_id": service.id, "plan_id": plan.id}, RequestInfo()
    )
    assert answer.kind == "created"
    assert "credentials" in answer.body
    assert store.taken == ["instance:i-1", "binding:b-1"]


def test_a_bind_to_a_missing_instance_is_not_found(
    broker: ServiceBroker, parts: BrokerParts, store: RecordingStore
) -> None:
    service, plan = plan_named(parts, "mock-async", "sync")
    with pytest.raises(NotFound):
        broker.bind("i-0", "b-1", {"service_id": service.id, "plan_id": plan.id}, RequestInfo())
    assert store.get_binding("b-1") is None


def test_a_bind_while_the_instance_is_provisioning_is_refused(
    broker: ServiceBroker, parts: BrokerParts
) -> None:
    service, plan = plan_named(parts, "mock-async", "polls")
    broker.provision("i-1", provision_body(service, plan), RequestInfo(accepts_incomplete=True))
    with pytest.raises(ConcurrencyError):
        broker.bind(
            "i-1",
            "b-1",
            {"service_id": service.id, "plan_id": plan.id},
            RequestInfo(accepts_incomplete=True),
        )
