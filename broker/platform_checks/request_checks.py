"""Checks of one request on its own: headers, body, and the catalog entry it names.

Each check appends what it finds to ``found``. They run only where
:mod:`.routes` put them: for an operation and a version whose rules they enforce.
Only :func:`fetch_instance` reads the broker's state (one instance record).
"""

from __future__ import annotations

from broker.catalog.model import Plan
from broker.platform_checks.exchange import Exchange, Sighting, Sources

__all__ = [
    "IDENTITY_PROPERTIES",
    "bind_not_bindable",
    "binding_not_rotatable",
    "context_identity",
    "context_platform",
    "delete_without_ids",
    "fetch_instance",
    "identity_properties",
]

# What the profile requires in the originating identity's value, by platform.
IDENTITY_PROPERTIES = {
    "kubernetes": ("username", "uid", "groups", "extra"),
    "cloudfoundry": ("user_id",),
}


def identity_properties(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``identity-properties``: the profile's properties in the originating identity."""
    required = IDENTITY_PROPERTIES.get(exchange.identity_platform or "")
    if required is None:
        return
    value = exchange.identity_value or {}
    missing = [name for name in required if name not in value]
    if missing:
        found.append(
            Sighting(
                "identity-properties",
                *exchange.ids,
                summary=f"sent a {exchange.identity_platform} originating identity without "
                f"{', '.join(missing)}",
            )
        )


def _context_platform(exchange: Exchange) -> str | None:
    """context.platform as sent ("" when the context has none); None without a context."""
    context = exchange.body.get("context") if exchange.body else None
    if not isinstance(context, dict):
        return None
    platform = context.get("platform")
    return platform if isinstance(platform, str) else ""


def context_platform(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``context-platform``: a context names its platform."""
    if _context_platform(exchange) == "":
        found.append(Sighting("context-platform", *exchange.ids))


def context_identity(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``identity-platform-mismatch``: the identity's platform is context.platform."""
    identity = exchange.identity_platform
    if identity is None:
        return
    platform = _context_platform(exchange)
    if platform and identity != platform:
        found.append(
            Sighting(
                "identity-platform-mismatch",
                *exchange.ids,
                summary=f"sent originating identity platform {identity!r} with "
                f"context.platform {platform!r}",
            )
        )


def _bound_plan(sources: Sources, exchange: Exchange) -> Plan | None:
    plan_id = (exchange.body or {}).get("plan_id")
    resolved = sources.lookup(plan_id) if isinstance(plan_id, str) else None
    return resolved[1] if resolved is not None else None


def bind_not_bindable(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``bind-not-bindable``: the plan bound is bindable."""
    plan = _bound_plan(sources, exchange)
    if plan is not None and not plan.bindable:
        found.append(
            Sighting(
                "bind-not-bindable",
                *exchange.ids,
                summary=f"bound plan {plan.name!r}, which is not bindable",
            )
        )


def binding_not_rotatable(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``binding-not-rotatable``: a rotation (predecessor_binding_id) of a rotatable plan."""
    if not isinstance((exchange.body or {}).get("predecessor_binding_id"), str):
        return
    plan = _bound_plan(sources, exchange)
    if plan is not None and not plan.binding_rotatable:
        found.append(
            Sighting(
                "binding-not-rotatable",
                *exchange.ids,
                summary=f"rotated a binding of plan {plan.name!r}, which is not binding_rotatable",
            )
        )


def fetch_instance(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``get-not-retrievable``: the offering of a fetched instance allows fetching."""
    service_id = exchange.query.get("service_id")
    service = None
    if exchange.instance_id is not None:
        instance = sources.store.get_instance(exchange.instance_id)
        if instance is not None:
            resolved = sources.lookup(instance.plan_id)
            service = resolved[0] if resolved else None
    if service is None and service_id:
        plan_id = exchange.query.get("plan_id")
        resolved = sources.lookup(plan_id) if plan_id else None
        service = resolved[0] if resolved and resolved[0].id == service_id else None
    if service is None or service.instances_retrievable:
        return
    found.append(
        Sighting(
            "get-not-retrievable",
            exchange.instance_id,
            summary=f"fetched an instance of {service.name!r}, which is not instances_retrievable",
        )
    )


def delete_without_ids(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``delete-without-ids``: a DELETE names the offering and the plan."""
    query = exchange.query
    missing = [name for name in ("service_id", "plan_id") if not query.get(name)]
    if missing:
        found.append(
            Sighting(
                "delete-without-ids",
                *exchange.ids,
                summary=f"sent a {exchange.operation} request without {' and '.join(missing)}",
            )
        )
