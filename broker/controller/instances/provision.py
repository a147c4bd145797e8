"""Provisioning a ServiceInstance, its failures classified as Service Catalog v0.3.1 does.

- HTTP 400: terminal (``Failed=True ClusterServiceBrokerReturnedFailure``), no retry.
- Any other HTTP status: retried with the backoff (1 s doubling to 20 min) and no time
  limit; a 5xx or an unexpected 2xx first mitigates a possible orphan (a DELETE).
- A timeout: orphan mitigation, then retried, with no time limit either.
- Other transport errors: retried until the reconciliation retry window (7 days) has
  passed since the operation started, then terminal ``ErrorReconciliationRetryTimeout``.
"""

from __future__ import annotations

from broker.controller.broker_access import CallFailed
from broker.controller.instances.deprovision import start_orphan_mitigation
from broker.controller.instances.operations import (
    already_processed,
    begin_operation,
    clear_async,
    clear_operation,
    go_async,
    operation_error,
    retry_after_backoff,
    start_generation,
)
from broker.controller.instances.request_content import (
    broker_connection,
    context_of,
    in_progress_properties,
    namespace_uid,
)
from broker.controller.instances.resolution import references_deleted, resolve
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State
from broker.controller.work import RETRY_TIMEOUT, Work

__all__ = ["provision_failed", "provision_instance", "provisioned"]


def provision_instance(work: Work) -> None:
    if already_processed(work):
        work.settle()
        work.save()
        return
    start_generation(work)
    refs = resolve(work)
    if refs is None or references_deleted(work, refs):
        return
    connection = broker_connection(work, refs)
    prepared = in_progress_properties(work, refs) if connection is not None else None
    if connection is None or prepared is None:
        return
    properties, parameters = prepared
    space = namespace_uid(work)
    if space is None:
        operation_error(
            work, "ErrorFindingNamespaceForInstance", f'namespaces "{work.namespace}" not found'
        )
        return
    work.status["deprovisionStatus"] = "Required"
    begin_operation(
        work,
        "Provision",
        properties,
        "ProvisionRequestInFlight",
        "Provision request for ServiceInstance in-flight to Broker",
    )
    if work.gone:
        return
    try:
        answer = connection.provision(
            work.spec["externalID"],
            refs.cls["spec"]["externalID"],
            refs.plan["spec"]["externalID"],
            organization_guid=work.state.cluster_id,
            space_guid=space,
            context=context_of(work),
            parameters=parameters or None,
            user=work.spec.get("userInfo"),
        )
    except CallFailed as exc:
        _call_failed(work, refs.http_detail("provisioning", exc), exc)
        return
    if answer.dashboard_url:
        work.status["dashboardURL"] = answer.dashboard_url
    if answer.is_async:
        go_async(work, answer.operation, answer.retry_after)
        return
    provisioned(work)


def _call_failed(work: Work, http_message: str, failure: CallFailed) -> None:
    if failure.answered:
        status = failure.status or 0
        mitigate = 200 < status < 300 or status >= 500 or (failure.malformed and status != 200)
        if failure.bad_request:
            failed = ("ClusterServiceBrokerReturnedFailure", http_message)
            provision_failed(work, ("ProvisionCallFailed", http_message), failed, mitigate)
        else:
            provision_failed(work, ("ProvisionCallFailed", http_message), None, mitigate)
        return
    if failure.timed_out:
        message = (
            "Communication with the ClusterServiceBroker timed out; "
            f"operation will be retried: {failure}"
        )
        provision_failed(work, ("ErrorCallingProvision", message), None, True)
        return
    message = (
        "The provision call failed and will be retried: "
        f"Error communicating with broker for provisioning: {failure}"
    )
    if work.operation_too_old():
        failed = ("ErrorReconciliationRetryTimeout", RETRY_TIMEOUT)
        provision_failed(work, ("ErrorCallingProvision", message), failed, False)
        return
    provision_failed(work, ("ErrorCallingProvision", message), None, False)


def provision_failed(
    work: Work,
    ready: tuple[str, str],
    failed: tuple[str, str] | None,
    mitigate: bool,
) -> None:
    """A failed provision: Ready (and, if terminal, Failed), then mitigation or a retry."""
    work.condition("Ready", "False", *ready, "Warning")
    if failed is not None:
        work.condition("Failed", "True", *failed, "Warning")
    if failed is None or mitigate:
        # Service Catalog's operation goes on (a retry, or orphan mitigation first).
        clear_async(work)
    else:
        clear_operation(work)
    if mitigate and work.machinery.settings.orphan_mitigation:
        start_orphan_mitigation(work, *ready)
        return
    work.status["deprovisionStatus"] = "Required" if mitigate else "NotRequired"
    if failed is not None:
        work.settle()
        work.save()
        return
    retry_after_backoff(work, "provision")


def provisioned(work: Work) -> None:
    status = work.status
    status["externalProperties"] = status.get("inProgressProperties")
    status["provisionStatus"] = "Provisioned"
    status["reconciledGeneration"] = status.get("observedGeneration", work.generation)
    clear_operation(work)
    work.condition(
        "Ready",
        "True",
        "ProvisionedSuccessfully",
        "The instance was provisioned successfully",
        "Normal",
    )
    work.settle()
    nudge_bindings(work)
    work.save()


def nudge_bindings(work: Work) -> None:
    namespace, name = work.namespace, work.name

    def nudge(state: State) -> None:
        for binding in state.list("ServiceBinding", namespace):
            if binding["spec"]["instanceRef"]["name"] == name:
                state.schedule(
                    ObjectKey("ServiceBinding", namespace, binding["metadata"]["name"])
                ).pop("due", None)

    work.also(nudge)
