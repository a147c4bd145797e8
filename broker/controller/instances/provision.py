"""Provisioning a ServiceInstance, classified as Service Catalog does: a 400 is terminal;
a 5xx, an unexpected 2xx or a timeout start orphan mitigation; other failures are retried."""

from __future__ import annotations

from broker.controller.broker_access import CallFailed
from broker.controller.instances.deprovision import start_orphan_mitigation
from broker.controller.instances.operations import (
    already_processed,
    begin_operation,
    clear_operation,
    go_async,
    retry_later,
    retry_timeout,
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
from broker.controller.work import Work

__all__ = ["provision_instance", "provisioned"]


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
    space = namespace_uid(work)
    if connection is None or prepared is None:
        return
    properties, parameters = prepared
    if space is None:
        retry_later(
            work,
            "ErrorFindingNamespaceForInstance",
            f'namespaces "{work.namespace}" not found',
            bounded=False,
        )
        return
    if work.retries_exhausted():
        retry_timeout(work)
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
        provision_failed(work, refs.http_detail("provisioning", exc), exc)
        return
    if answer.dashboard_url:
        work.status["dashboardURL"] = answer.dashboard_url
    if answer.is_async:
        go_async(work, answer.operation, answer.retry_after)
        return
    provisioned(work)


def provision_failed(work: Work, http_message: str, failure: CallFailed) -> None:
    """Service Catalog's provision error table: terminal, mitigated, or retried."""
    if failure.bad_request:
        work.condition("Ready", "False", "ProvisionCallFailed", http_message, "Warning")
        work.condition("Failed", "True", "ClusterServiceBrokerReturnedFailure", http_message)
        work.status["deprovisionStatus"] = "NotRequired"
        clear_operation(work)
        work.settle()
        work.save()
    elif failure.timed_out:
        message = (
            "Communication with the ClusterServiceBroker timed out; "
            f"operation will be retried: {failure}"
        )
        ambiguous(work, "ErrorCallingProvision", message)
    elif not failure.answered:
        provision_retry(
            work,
            "ErrorCallingProvision",
            "The provision call failed and will be retried: "
            f"Error communicating with broker for provisioning: {failure}",
        )
    elif (
        200 < (status := failure.status or 0) < 300
        or status >= 500
        or (failure.malformed and status != 200)
    ):
        ambiguous(work, "ProvisionCallFailed", http_message)
    else:
        provision_retry(work, "ProvisionCallFailed", http_message)


def provision_retry(work: Work, reason: str, message: str) -> None:
    # The broker surely created nothing: no orphan to mitigate, no deprovision needed.
    work.status["deprovisionStatus"] = "NotRequired"
    retry_later(work, reason, message)


def ambiguous(work: Work, reason: str, message: str) -> None:
    """A provision whose outcome is unknown: mitigate a possible orphan, then retry."""
    work.condition("Ready", "False", reason, message, "Warning")
    work.failed_once()
    if not work.machinery.settings.orphan_mitigation:
        work.status["deprovisionStatus"] = "Required"
        work.save()
        return
    start_orphan_mitigation(work, reason, message)


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
