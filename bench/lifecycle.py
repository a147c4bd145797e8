"""The plan every lifecycle of the bench provisions, binds, unbinds and deprovisions."""

from __future__ import annotations

from bench.servers import BenchError
from broker.app import load_configured_catalog
from broker.catalog.model import Catalog
from broker.config import Settings
from broker.credentials.registry import BackendRegistry

__all__ = ["LIFECYCLE_PLAN", "LIFECYCLE_SERVICE", "lifecycle_ids"]

# A plan whose every operation is synchronous.
LIFECYCLE_SERVICE, LIFECYCLE_PLAN = "mock-async", "sync"


def lifecycle_ids(catalog: Catalog | None = None) -> tuple[str, str]:
    """The service and plan ids of the lifecycle plan (in the bundled catalogs by default)."""
    if catalog is None:
        catalog = load_configured_catalog(Settings(), BackendRegistry(Settings()))
    service = catalog.service_named(LIFECYCLE_SERVICE)
    plan = catalog.find_plan(service, LIFECYCLE_PLAN) if service is not None else None
    if plan is None:
        raise BenchError(f"the catalog lacks {LIFECYCLE_SERVICE}/{LIFECYCLE_PLAN}")
    return plan.service_id, plan.id
