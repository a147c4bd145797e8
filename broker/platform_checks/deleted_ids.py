"""DELETEs: they close orphan-mitigation windows, and the ids they delete are remembered
for ``id-reuse``.

A DELETE answered 200 costs one write, which remembers the id and looks whether an
orphan-mitigation window is open (the SQL stores do both in one statement); any other
DELETE a read for the window. The findings store keeps the newest
``remembered_ids`` deleted ids of each kind and forgets the oldest first, so the
memory of deleted ids stays bounded however long the broker runs.
"""

from __future__ import annotations

from broker.platform_checks.exchange import Exchange, Sighting, Sources
from broker.platform_checks.orphans import orphan_key, settle_pending

__all__ = ["deleting", "id_reuse", "remember_deleted"]


def _kind_and_id(exchange: Exchange) -> tuple[str, str | None]:
    if exchange.binding_id:
        return "binding", exchange.binding_id
    return "instance", exchange.instance_id


def deleting(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """Any DELETE of the resource is the orphan mitigation the spec asks for."""
    key = orphan_key(exchange)
    findings = sources.findings
    kind, resource_id = _kind_and_id(exchange)
    if exchange.status == 200 and resource_id is not None:
        pending = findings.remember_deleted(
            kind,
            resource_id,
            sources.remembered_ids,
            take=key,
        )
    else:
        # Read first: there is seldom a window, and a read costs less than a delete.
        pending = findings.watch_take(key) if findings.watch_get(key) else None
    settle_pending(sources, pending, exchange.time, found)


def remember_deleted(sources: Sources, exchange: Exchange) -> None:
    """An asynchronous delete finished: remember the id it deleted."""
    kind, resource_id = _kind_and_id(exchange)
    if resource_id is not None:
        sources.findings.remember_deleted(
            kind,
            resource_id,
            sources.remembered_ids,
        )


def id_reuse(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``id-reuse``: a created resource's id was not deleted before (one read)."""
    if exchange.status not in (201, 202):
        return
    kind, resource_id = _kind_and_id(exchange)
    if resource_id is None or not sources.findings.take_deleted(
        kind, resource_id, sources.remembered_ids
    ):
        return
    found.append(
        Sighting(
            "id-reuse",
            *exchange.ids,
            summary=f"reused the id of {kind} {resource_id}, deleted before",
        )
    )
