"""``last_operation`` rules shared by instances and bindings.

- **A poll naming an operation the broker never issued** for the resource (a
  platform that polls with a fixed ``operation=provision``) is answered about the
  resource's current or last operation, and reported as ``operation-echo``
  (:func:`unissued_operation`). With ``BROKER_STRICT=true`` it is a 400.
- **After an asynchronous delete finished**, polls answer ``succeeded`` for a while
  (the plan's ``gone_after``: one poll by default) and 410 Gone after that: clients
  that wait for ``succeeded`` see it, and 410 (which the spec also allows) follows.
- **A resource that does not exist** (never made, deleted synchronously, or gone
  past the delete's ``gone_after``) answers 404 from 2.16 on, and 410 Gone before
  (:func:`broker.osb.versions.missing_resource_poll_status`) — never the state of
  an old operation, such as the ``succeeded`` of its provision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broker.catalog.model import Finish
from broker.osb.errors import BadRequest, Gone, NotFound, OSBError
from broker.osb.finding_hook import FindingRecorder
from broker.osb.outcome import Outcome
from broker.osb.versions import Version, missing_resource_poll_status
from broker.storage.base import Put
from broker.storage.protocols import StateStore
from broker.storage.records import OperationRecord

__all__ = [
    "OPERATION_ECHO",
    "deleted_by",
    "delete_finished",
    "gone_after_payload",
    "last_operation_outcome",
    "missing_resource",
    "polled_operation",
    "unissued_operation",
]

OPERATION_ECHO = "operation-echo"
# Payload keys of a delete's operation record.
GONE_AFTER = "gone_after"
SUCCEEDED_ANSWERS = "succeeded_answers"


def unissued_operation(
    sent: str, operation: OperationRecord | None, instance_id: str, binding_id: str | None
) -> str | None:
    """``operation-echo`` when ``sent`` (the poll's ``operation``) names no operation
    the broker issued for this instance (``binding_id`` ``None``) or binding.

    ``operation`` is the record stored under ``sent``, if any. Returns the rule id,
    or ``None`` when the poll names one of the resource's own operations.
    """
    if (
        operation is not None
        and operation.instance_id == instance_id
        and (operation.binding_id or None) == binding_id
    ):
        return None
    return OPERATION_ECHO


def polled_operation(
    store: StateStore,
    findings: FindingRecorder,
    *,
    strict: bool,
    version: Version,
    what: str,
    exists: bool,
    instance_id: str,
    binding_id: str | None,
    operation_id: str | None,
) -> OperationRecord | None:
    """The operation a ``last_operation`` poll of ``what`` is answered about.

    The one named by ``operation_id`` if the broker issued it for this instance
    (``binding_id`` ``None``) or binding, else the resource's newest one. A poll naming
    an operation never issued is reported as ``operation-echo`` when the resource
    exists or existed (``exists``, or an operation of it is found); with ``strict`` it
    is refused instead: 400, or the missing-resource error when the resource is gone.
    """
    operation = None
    rule = None
    if operation_id is not None:
        operation = store.get_operation(operation_id)
        rule = unissued_operation(operation_id, operation, instance_id, binding_id)
        if rule is not None and strict:
            if not exists:
                raise missing_resource(version, what)
            raise BadRequest(f"operation {operation_id!r} is not an operation of {what}")
        if rule is not None:
            operation = None
    if operation is None:
        operation = store.latest_operation(instance_id, binding_id)
    # Reported only about a resource that exists or existed: a poll of one the broker
    # never knew is answered 404/410 and is nothing more.
    if rule is not None and (exists or operation is not None):
        findings.record(
            rule,
            instance_id=instance_id,
            binding_id=binding_id,
            summary=f"polled last_operation of {what} with operation "
            f"{operation_id!r}, which the broker never returned for it",
        )
    return operation


def deleted_by(operation: OperationRecord | None, kind: str) -> bool:
    """Whether ``operation`` is a ``kind`` (deprovision, unbind) that succeeded."""
    return operation is not None and operation.type == kind and operation.state == "succeeded"


def missing_resource(version: Version, what: str) -> OSBError:
    """The error for a poll of ``what`` ("instance X"), which does not exist."""
    if missing_resource_poll_status(version) == 404:
        return NotFound(f"{what} does not exist")
    return Gone(f"{what} does not exist")


def gone_after_payload(gone_after: Finish) -> dict[str, Any]:
    """What a delete's operation record keeps of the plan's ``gone_after``."""
    return {GONE_AFTER: {"kind": gone_after.kind, "amount": gone_after.amount}}


def delete_finished(
    store: StateStore, clock: Callable[[], float], operation: OperationRecord, what: str
) -> None:
    """Answer a poll of a finished, successful delete: return to answer ``succeeded``,
    or raise :class:`Gone` once the plan's ``gone_after`` has passed.

    A record without ``gone_after`` (made before the knob existed) is gone at once.
    """
    gone_after = operation.payload.get(GONE_AFTER) or {"kind": "polls", "amount": 0}
    kind, amount = gone_after["kind"], gone_after["amount"]
    answered = int(operation.payload.get(SUCCEEDED_ANSWERS, 0))
    if kind == "seconds":
        still = clock() - (operation.finished_at or operation.started_at) < amount
    else:
        still = kind == "never" or answered < amount
    if not still:
        raise Gone(f"{what} was deleted")
    if kind == "polls":
        counted = {**operation.payload, SUCCEEDED_ANSWERS: answered + 1}
        store.apply([Put(operation.evolve(payload=counted))])


def last_operation_outcome(operation: OperationRecord) -> Outcome:
    """The answer to a poll about ``operation`` (``Retry-After`` while it runs)."""
    body: dict[str, Any] = {"state": operation.state}
    if operation.description:
        body["description"] = operation.description
    if operation.instance_usable is not None:
        body["instance_usable"] = operation.instance_usable
    if operation.update_repeatable is not None:
        body["update_repeatable"] = operation.update_repeatable
    retry_after = operation.retry_after if operation.state == "in progress" else None
    return Outcome("done", body, retry_after=retry_after)
