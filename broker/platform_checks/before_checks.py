"""Checks that need the broker's state as it is *before* the request changes it.

They run after the ``/v2`` request checks and before the view, on an
:class:`~.exchange.Exchange` without an answer yet (``status`` None). Each reads
one thing: an instance's bindings (deprovision), the instance (a plan change),
the predecessor binding (a rotation).
"""

from __future__ import annotations

from broker.platform_checks.exchange import Exchange, Sighting, Sources

__all__ = ["deprovision_with_bindings", "plan_not_updateable", "predecessor_binding"]


def deprovision_with_bindings(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``deprovision-with-bindings``: an instance is deprovisioned once it has no bindings."""
    instance_id = exchange.instance_id
    if instance_id is None:
        return
    live = [b for b in sources.store.bindings_of(instance_id) if not b.abandoned]
    if live:
        names = ", ".join(b.id for b in live[:5])
        found.append(
            Sighting(
                "deprovision-with-bindings",
                instance_id,
                summary=f"deprovisioned an instance that still had {len(live)} binding(s): {names}",
            )
        )


def plan_not_updateable(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``plan-not-updateable``: a plan change only from a plan that allows it."""
    plan_id = (exchange.body or {}).get("plan_id")
    instance_id, version = exchange.instance_id, exchange.version
    if not isinstance(plan_id, str) or instance_id is None or version is None:
        return
    instance = sources.store.get_instance(instance_id)
    if instance is None or instance.plan_id == plan_id:
        return
    current = sources.lookup(instance.plan_id)
    if current is None:
        return
    service, plan = current
    # A plan's own plan_updateable exists from 2.15 on; before, the offering's decides.
    if version >= (2, 15):
        updateable = plan.plan_updateable
    else:
        updateable = bool(service.doc.get("plan_updateable", False))
    if not updateable:
        found.append(
            Sighting(
                "plan-not-updateable",
                instance_id,
                summary=f"asked to change plan {plan.name!r} (not plan_updateable) to {plan_id}",
            )
        )


def predecessor_binding(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``predecessor-binding``: a rotation names a live binding of the same instance."""
    predecessor = (exchange.body or {}).get("predecessor_binding_id")
    if not isinstance(predecessor, str):
        return
    record = sources.store.get_binding(predecessor)
    expired = (
        record is not None and record.expires_at is not None and record.expires_at <= exchange.time
    )
    if record is None or record.instance_id != exchange.instance_id or expired:
        found.append(Sighting("predecessor-binding", *exchange.ids))
