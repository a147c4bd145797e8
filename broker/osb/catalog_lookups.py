"""The offering and plan a request names, or that a stored resource was made with."""

from __future__ import annotations

from broker.catalog.model import Catalog, Plan, Service
from broker.catalog.source import CatalogSource
from broker.osb.errors import BadRequest

__all__ = ["requested_plan", "stored_plan"]


def requested_plan(catalog: Catalog, service_id: str, plan_id: str) -> tuple[Service, Plan]:
    """The offering and plan a request names, or 400 naming what is unknown."""
    service = catalog.service(service_id)
    if service is None:
        raise BadRequest(f"service_id {service_id!r} is not in the catalog")
    plan = catalog.plan(plan_id)
    if plan is None or plan.service_id != service.id:
        raise BadRequest(
            f"plan_id {plan_id!r} is not a plan of service {service.name!r} ({service.id})"
        )
    return service, plan


def stored_plan(catalogs: CatalogSource, plan_id: str) -> tuple[Service, Plan]:
    """Service and plan of a stored resource (plans removed since included)."""
    resolved = catalogs.resolve(plan_id)
    if resolved is None:
        raise BadRequest(f"plan {plan_id!r} of this resource is no longer known to the broker")
    return resolved
