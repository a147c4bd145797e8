"""The OSB rules put together over the memory store and the bundled catalogs: no HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker.app import load_configured_catalog
from broker.catalog.model import Plan, Service
from broker.catalog.source import CatalogSource
from broker.config import Settings
from broker.credentials.registry import BackendRegistry
from broker.faults.schemas import fault_rule_problems
from broker.osb import BrokerParts, ServiceBroker
from broker.storage.memory import MemoryStore
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    yield MemoryStore()


@pytest.fixture
def parts(store: MemoryStore, clock: FakeClock) -> BrokerParts:
    settings = Settings(credential_seed="unit")
    registry = BackendRegistry(settings)
    catalogs = CatalogSource(
        load_configured_catalog(settings, registry),
        store,
        backend_problems=registry.option_problems,
        fault_problems=fault_rule_problems,
        backend_names=registry.names,
    )
    return BrokerParts.assemble(
        catalogs,
        store,
        registry,
        base_url="http://broker.test",
        credential_seed="unit",
        clock=clock,
    )


@pytest.fixture
def broker(parts: BrokerParts) -> ServiceBroker:
    return ServiceBroker(parts)


def plan_named(parts: BrokerParts, service: str, plan: str) -> tuple[Service, Plan]:
    found = parts.catalogs.catalog.service_named(service)
    assert found is not None, service
    chosen = parts.catalogs.catalog.find_plan(found, plan)
    assert chosen is not None, plan
    return found, chosen


def provision_body(service: Service, plan: Plan, **extra: object) -> dict[str, object]:
    return {
        "service_id": service.id,
        "plan_id": plan.id,
        "organization_guid": "org",
        "space_guid": "space",
        **extra,
    }
