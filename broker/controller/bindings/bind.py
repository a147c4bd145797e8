"""Binding: the checks before the call, the bind itself, the credentials Secret, and
what a failed bind leads to.

Bindings are synchronous, as in Service Catalog with its async-binding gate off.
Any HTTP error status of a bind is terminal (``Failed=True``); a 5xx, an unexpected
2xx or a timeout also starts orphan mitigation (an unbind).
"""

from __future__ import annotations

from typing import Any

from broker.controller.bindings.credentials_secret import check_secret_owner, write_secret
from broker.controller.bindings.lookups import catalog_refs, instance_name, instance_of
from broker.controller.bindings.outcomes import (
    BINDING_RETRY_TIMEOUT,
    clear_operation,
    wait_and_retry,
)
from broker.controller.bindings.secret_data import SecretDataError, secret_data
from broker.controller.bindings.unbind import unbind
from broker.controller.broker_access import AuthError, CallFailed
from broker.controller.go_encoding import go_json
from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.references import describe_entry
from broker.controller.request_parameters import ParameterError, build_parameters
from broker.controller.work import Work

__all__ = ["bind"]


def bind(work: Work) -> None:
    status = work.status
    if work.is_true("Failed") or status.get("reconciledGeneration") == work.generation:
        work.settle()
        work.save()
        return
    instance = instance_of(work)
    if instance is None:
        wait_and_retry(
            work,
            "ReferencesNonexistentInstance",
            f'References a non-existent ServiceInstance "{instance_name(work)}"',
        )
        return
    refs = catalog_refs(work, instance)
    if refs is None:
        wait_and_retry(
            work,
            "ErrorInstanceRefsUnresolved",
            "Binding cannot begin because ClusterServiceClass and "
            f'ClusterServicePlan references for ServiceInstance "{instance_name(work)}" '
            "have not been resolved yet",
        )
        return
    cls, plan, broker = refs
    bindable = (
        plan["spec"]["bindable"]
        if "bindable" in plan["spec"]
        else cls["spec"].get("bindable", False)
    )
    if not bindable:
        message = (
            f"References a non-bindable {describe_entry(cls)} and Plan "
            f'("{plan["spec"]["externalName"]}") combination'
        )
        work.condition("Ready", "False", "ErrorNonbindableServiceClass", message, "Warning")
        work.condition("Failed", "True", "ErrorNonbindableServiceClass", message)
        status["reconciledGeneration"] = work.generation
        work.settle()
        work.save()
        return
    if not (instance.get("status") or {}).get("conditions") or not _ready(instance):
        wait_and_retry(
            work,
            "ErrorInstanceNotReady",
            "Binding cannot begin because referenced ServiceInstance "
            f'"{instance_name(work)}" is not ready',
        )
        return
    try:
        parameters = build_parameters(work.state, work.namespace, work.spec)
    except ParameterError as exc:
        wait_and_retry(
            work,
            "ErrorWithParameters",
            f"failed to prepare parameters {go_json(work.spec.get('parameters') or {})}: {exc}",
        )
        return
    try:
        connection = work.machinery.connect(broker)
    except AuthError:
        # Service Catalog reports an unusable auth Secret on the broker, and retries.
        work.requeue()
        work.save()
        return
    namespace = work.state.get(ObjectKey("Namespace", "", work.namespace))
    properties: dict[str, Any] = {}
    if parameters.values:
        properties = {"parameters": parameters.redacted, "parameterChecksum": parameters.checksum}
    if work.spec.get("userInfo"):
        properties["userInfo"] = work.spec["userInfo"]
    if status.get("currentOperation") != "Bind":
        status["currentOperation"] = "Bind"
        status["operationStartTime"] = rfc3339(work.now)
    status["unbindStatus"] = "Required"
    status["inProgressProperties"] = properties
    work.condition(
        "Ready",
        "False",
        "BindingRequestInFlight",
        "Binding request for ServiceBinding in-flight to Broker",
    )
    work.save()
    if work.gone:
        return
    description = (
        f'ServiceBinding for ServiceInstance "{instance_name(work)}" of {describe_entry(cls)} at '
        f'ClusterServiceBroker "{broker["metadata"]["name"]}"'
    )
    try:
        credentials = connection.bind(
            instance["spec"]["externalID"],
            work.spec["externalID"],
            cls["spec"]["externalID"],
            plan["spec"]["externalID"],
            parameters=parameters.values or None,
            bind_resource={"app_guid": namespace["metadata"]["uid"]} if namespace else None,
            context={
                "platform": "kubernetes",
                "namespace": work.namespace,
                "clusterid": work.state.cluster_id,
                "instance_name": instance["metadata"]["name"],
            },
            user=work.spec.get("userInfo"),
        )
    except CallFailed as exc:
        _call_failed(work, exc, description)
        return
    status["externalProperties"] = properties
    try:
        data = secret_data(work.state, credentials, work.spec.get("secretTransforms") or [])
        check_secret_owner(work.state, work.obj)
    except SecretDataError as exc:
        _injection_failed(work, str(exc))
        return
    work.also(lambda state: write_secret(state, work.obj, data, work.now))
    clear_operation(work)
    status["reconciledGeneration"] = work.generation
    work.condition("Ready", "True", "InjectedBindResult", "Injected bind result", "Normal")
    work.settle()
    work.save()


def _call_failed(work: Work, failure: CallFailed, description: str) -> None:
    if failure.answered:
        status = failure.status or 0
        mitigate = status >= 500 or (200 < status < 300) or (failure.malformed and status != 200)
        _bind_failed(
            work,
            "BindCallFailed",
            "ServiceBindingReturnedFailure",
            f"ServiceBroker returned failure; bind operation will not be retried: {failure}",
            mitigate=mitigate,
        )
    elif failure.timed_out:
        _bind_failed(
            work,
            None,
            "BindCallFailed",
            "Communication with the ServiceBroker timed out; "
            f"Bind operation will not be retried: {failure}",
            mitigate=True,
        )
    else:
        wait_and_retry(
            work, "BindCallFailed", f"Error creating {description}: {failure}", bounded=True
        )


def _ready(instance: dict[str, Any]) -> bool:
    for found in instance["status"]["conditions"]:
        if found.get("type") == "Ready":
            return bool(found.get("status") == "True")
    return False


def _injection_failed(work: Work, detail: str) -> None:
    """The broker bound but the Secret cannot be written: the bind is sent again (from the
    work queue) until the retry window has passed, then it is mitigated."""
    message = f"Error injecting bind result: {detail}"
    if work.operation_too_old():
        work.condition("Ready", "False", "ErrorInjectingBindResult", message, "Warning")
        _bind_failed(
            work,
            "ErrorInjectingBindResult",
            "ErrorReconciliationRetryTimeout",
            BINDING_RETRY_TIMEOUT,
            mitigate=True,
        )
        return
    work.condition("Ready", "False", "ErrorInjectingBindResult", message, "Warning")
    work.requeue()
    work.save()


def _bind_failed(
    work: Work, ready_reason: str | None, failed_reason: str, message: str, *, mitigate: bool
) -> None:
    """A terminal bind failure (``Failed=True``); a 5xx, 2xx or timeout also unbinds."""
    if ready_reason is not None:
        work.condition("Ready", "False", ready_reason, message, "Warning")
    work.condition("Failed", "True", failed_reason, message, "Warning")
    work.status["reconciledGeneration"] = work.generation
    if mitigate and work.machinery.settings.orphan_mitigation:
        work.condition(
            "Ready",
            "False",
            "ServiceBindingNeedsOrphanMitigation",
            "Starting orphan mitigation",
            "Warning",
        )
        work.status["orphanMitigationInProgress"] = True
        work.status["asyncOpInProgress"] = False
        work.status.pop("operationStartTime", None)
        work.schedule.pop("due", None)
        work.save()
        if not work.gone:
            unbind(work)
        return
    clear_operation(work)
    work.settle()
    work.save()
