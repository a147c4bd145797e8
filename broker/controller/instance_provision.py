"""Provisioning a ServiceInstance, classified as Service Catalog does: a 400 is terminal;
a 5xx, an unexpected 2xx or a timeout start orphan mitigation; other failures are retried."""

from __future__ import annotations

from typing import Any

from broker.client import (
    BadRequest,
    BrokerError,
    BrokerTimeout,
    BrokerUnreachable,
    MalformedResponse,
    UnexpectedResponse,
)
from broker.controller.instance_deletion import start_orphan_mitigation
from broker.controller.instance_steps import (
    already_processed,
    begin_operation,
    broker_client,
    clear_operation,
    context_of,
    go_async,
    http_detail,
    identity_of,
    in_progress_properties,
    namespace_uid,
    references_deleted,
    resolve,
    retry_later,
    retry_timeout,
    start_generation,
)
from broker.controller.kinds import ObjectKey
from broker.controller.work import Work

__all__ = [
    "ambiguous",
    "nudge_bindings",
    "provision_instance",
    "provision_retry",
    "provisioned",
]


def provision_instance(work: Work) -> None:
    if already_processed(work):
        work.settle()
        work.save()
        return
    start_generation(work)
    refs = resolve(work)
    if refs is None or references_deleted(work, refs):
        return
    client = broker_client(work, refs)
    prepared = in_progress_properties(work, refs) if client is not None else None
    space = namespace_uid(work)
    if client is None or prepared is None:
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
        answer = client.provision(
            work.spec["externalID"],
            refs.cls["spec"]["externalID"],
            refs.plan["spec"]["externalID"],
            organization_guid=work.state.cluster_id,
            space_guid=space,
            context=context_of(work),
            parameters=parameters or None,
            accepts_incomplete=True,
            identity=identity_of(work.spec),
        )
    except BadRequest as exc:
        message = http_detail(refs, "provisioning", exc)
        work.condition("Ready", "False", "ProvisionCallFailed", message, "Warning")
        work.condition("Failed", "True", "ClusterServiceBrokerReturnedFailure", message)
        work.status["deprovisionStatus"] = "NotRequired"
        clear_operation(work)
        work.settle()
        work.save()
        return
    except BrokerTimeout as exc:
        message = (
            "Communication with the ClusterServiceBroker timed out; "
            f"operation will be retried: {exc}"
        )
        ambiguous(work, "ErrorCallingProvision", message)
        return
    except BrokerUnreachable as exc:
        provision_retry(
            work,
            "ErrorCallingProvision",
            "The provision call failed and will be retried: "
            f"Error communicating with broker for provisioning: {exc}",
        )
        return
    except (BrokerError, UnexpectedResponse) as exc:
        message = http_detail(refs, "provisioning", exc)
        status = exc.status
        if (
            200 < status < 300
            or status >= 500
            or (isinstance(exc, MalformedResponse) and status != 200)
        ):
            ambiguous(work, "ProvisionCallFailed", message)
        else:
            provision_retry(work, "ProvisionCallFailed", message)
        return
    if answer.dashboard_url:
        work.status["dashboardURL"] = answer.dashboard_url
    if answer.is_async:
        go_async(work, answer.operation, answer.retry_after)
        return
    provisioned(work)


def provision_retry(work: Work, reason: str, message: str) -> None:
    # The broker surely created nothing: no orphan to mitigate, no deprovision needed.
    work.status["deprovisionStatus"] = "NotRequired"
    retry_later(work, reason, message)


def ambiguous(work: Work, reason: str, message: str) -> None:
    """A provision whose outcome is unknown: mitigate a possible orphan, then retry."""
    work.condition("Ready", "False", reason, message, "Warning")
    work.failed_once()
    if not work.controller.settings.orphan_mitigation:
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

    def nudge(state: Any) -> None:
        for binding in state.list("ServiceBinding", namespace):
            if binding["spec"]["instanceRef"]["name"] == name:
                state.schedule(
                    ObjectKey("ServiceBinding", namespace, binding["metadata"]["name"])
                ).pop("due", None)

    work.also(nudge)
