"""DELETEs: they close orphan-mitigation windows, and the ids they delete are remembered
for ``id-reuse``.

An id counts as deleted once a DELETE of it was answered 200 (or an asynchronous
delete finished: :func:`remember_deleted`). The state store keeps deleted ids
(:mod:`broker.storage.deleted_ids`), the newest ``remembered_ids`` of each kind.
A DELETE announces its delete before the broker acts (:func:`expect`), so the store
remembers the id in the very transaction that deletes the resource; once the answer
is known, :func:`deleting` lets it stand (200) or takes it back (any other answer, or
none). Only a 200 without a delete in the request (a fault rule's answer) costs a
write of its own. Every DELETE also reads whether an orphan-mitigation window is open.
"""

from __future__ import annotations

from broker.platform_checks.exchange import Exchange, Sighting, Sources
from broker.platform_checks.orphans import orphan_key, settle_pending
from broker.storage.deleted_ids import end_expected_delete, expect_delete

__all__ = ["deleting", "end_unsettled", "expect", "id_reuse", "remember_deleted"]


def _kind_and_id(exchange: Exchange) -> tuple[str, str | None]:
    return _deleted(exchange.instance_id, exchange.binding_id)


def _deleted(instance_id: str | None, binding_id: str | None) -> tuple[str, str | None]:
    if binding_id:
        return "binding", binding_id
    return "instance", instance_id


def expect(instance_id: str | None, binding_id: str | None) -> None:
    """Before a DELETE is carried out: the store is to remember the id it deletes."""
    kind, resource_id = _deleted(instance_id, binding_id)
    if resource_id is not None:
        expect_delete(kind, resource_id)


def deleting(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """Any DELETE of the resource is the orphan mitigation the spec asks for; one
    answered 200 deleted its id."""
    expected = end_expected_delete()
    remembered = expected.remembered if expected is not None else None
    if remembered is not None:
        sources.store.settle_deleted(
            remembered, sources.remembered_ids, stands=exchange.status == 200
        )
    elif exchange.status == 200:  # a 200 with no delete in the request (a fault rule's)
        remember_deleted(sources, exchange)
    findings = sources.findings
    key = orphan_key(exchange)
    # Read first: there is seldom a window, and a read costs less than a delete.
    pending = findings.watch_take(key) if findings.watch_get(key) else None
    settle_pending(sources, pending, exchange.time, found)


def end_unsettled(sources: Sources) -> None:
    """After a DELETE's checks: a delete they did not settle (they failed before
    :func:`deleting`) does not count, as nothing told the platform it happened."""
    expected = end_expected_delete()
    if expected is not None and expected.remembered is not None:
        sources.store.settle_deleted(expected.remembered, sources.remembered_ids, stands=False)


def remember_deleted(sources: Sources, exchange: Exchange) -> None:
    """The platform was told ``exchange``'s resource is deleted (an asynchronous delete
    finished, or a 200 the store's delete did not already remember): remember its id."""
    kind, resource_id = _kind_and_id(exchange)
    if resource_id is not None:
        store = sources.store
        store.settle_deleted(
            store.remember_deleted(kind, resource_id), sources.remembered_ids, stands=True
        )


def id_reuse(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """``id-reuse``: a created resource's id was not deleted before (one read)."""
    if exchange.status not in (201, 202):
        return
    kind, resource_id = _kind_and_id(exchange)
    if resource_id is None or not sources.store.take_deleted(
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
