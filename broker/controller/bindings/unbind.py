"""Unbinding (on deletion, or as a binding's orphan mitigation): the Secret goes first,
then the broker is called; 410 counts as done; failures are retried."""

from __future__ import annotations

from typing import Any

from broker.controller.bindings.credentials_secret import delete_owned_secret, delete_secret_named
from broker.controller.bindings.lookups import catalog_refs, instance_name, instance_of
from broker.controller.bindings.outcomes import (
    BINDING_RETRY_TIMEOUT,
    clear_operation,
    wait_and_retry,
)
from broker.controller.broker_access import AuthError, CallFailed
from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.references import describe_entry
from broker.controller.objects.store import State
from broker.controller.work import Work

__all__ = [
    "nudge_instance",
    "unbind",
]


def unbind(work: Work) -> None:
    status = work.status
    mitigating = bool(status.get("orphanMitigationInProgress"))
    if work.deleting and not work.has_finalizer:
        return
    if status.get("unbindStatus") == "Failed":
        work.settle()
        work.save()
        return
    binding = work.obj
    if not mitigating and status.get("unbindStatus") in (None, "", "NotRequired", "Succeeded"):
        work.also(lambda state: delete_owned_secret(state, binding))
        work.also(lambda state: nudge_instance(state, binding))
        work.drop_finalizer()
        work.save()
        return
    # The Secret named by the binding goes first, whoever owns it (as Service Catalog
    # does), and the in-flight status is saved before the broker is called.
    work.also(lambda state: delete_secret_named(state, binding))
    if mitigating and not work.deleting:
        status.setdefault("operationStartTime", rfc3339(work.now))
    elif status.get("currentOperation") != "Unbind":
        status["currentOperation"] = "Unbind"
        status["operationStartTime"] = rfc3339(work.now)
    work.condition(
        "Ready",
        "False",
        "UnbindingRequestInFlight",
        "Unbind request for ServiceBinding in-flight to Broker",
    )
    work.save()
    if work.gone:
        return
    instance = instance_of(work)
    if instance is None:
        wait_and_retry(
            work,
            "ReferencesNonexistentInstance",
            f'References a non-existent ServiceInstance "{instance_name(work)}"',
        )
        return
    if (instance.get("status") or {}).get("asyncOpInProgress"):
        wait_and_retry(
            work,
            "ErrorAsyncOperationInProgress",
            f'trying to unbind to ServiceInstance "{instance_name(work)}" '
            "that has ongoing asynchronous operation",
        )
        return
    plan_id = ((instance.get("status") or {}).get("externalProperties") or {}).get(
        "clusterServicePlanExternalID"
    )
    refs = catalog_refs(work, instance)
    if plan_id is None or refs is None:
        wait_and_retry(
            work,
            "UnbindingRequestInFlight",
            "Unbind request for ServiceBinding in-flight to Broker",
        )
        return
    cls, _, broker = refs
    try:
        work.machinery.connect(broker).unbind(
            instance["spec"]["externalID"],
            work.spec["externalID"],
            cls["spec"]["externalID"],
            plan_id,
            user=work.spec.get("userInfo"),
        )
    except (AuthError, CallFailed) as exc:
        _unbind_failed(
            work,
            f'Error unbinding from ServiceInstance "{instance_name(work)}" '
            f"of {describe_entry(cls)} "
            f'at ClusterServiceBroker "{broker["metadata"]["name"]}": {exc}',
        )
        return
    status["unbindStatus"] = "Succeeded"
    status.pop("externalProperties", None)
    clear_operation(work)
    if mitigating:
        status["orphanMitigationInProgress"] = False
        work.condition(
            "Ready",
            "False",
            "OrphanMitigationSuccessful",
            "Orphan mitigation was completed successfully",
            "Normal",
        )
        work.settle()
        work.save()
        return
    work.condition(
        "Ready", "False", "UnboundSuccessfully", "The binding was deleted successfully", "Normal"
    )
    work.also(lambda state: nudge_instance(state, binding))
    work.drop_finalizer()
    work.save()


def _unbind_failed(work: Work, message: str) -> None:
    """Retried by the work queue; past the retry window the binding is stuck (``Failed``)."""
    work.condition("Ready", "Unknown", "UnbindCallFailed", message, "Warning")
    if not work.operation_too_old():
        work.requeue()
        work.save()
        return
    if work.status.get("orphanMitigationInProgress"):
        failed = f"Orphan mitigation failed: {BINDING_RETRY_TIMEOUT}"
        work.condition("Ready", "Unknown", "OrphanMitigationFailed", failed, "Warning")
    else:
        work.retry_timeout_condition(BINDING_RETRY_TIMEOUT)
    for name in ("currentOperation", "operationStartTime", "inProgressProperties"):
        work.status.pop(name, None)
    work.status["unbindStatus"] = "Failed"
    work.settle()
    work.save()


def nudge_instance(state: State, binding: dict[str, Any]) -> None:
    """An instance waiting for its bindings to go can try again now."""
    key = ObjectKey(
        "ServiceInstance", binding["metadata"]["namespace"], binding["spec"]["instanceRef"]["name"]
    )
    if state.get(key) is not None:
        state.schedule(key).pop("due", None)
