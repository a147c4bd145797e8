"""ServiceBinding: bind, write the credentials Secret, unbind, orphan mitigation.

Bindings are synchronous, as in Service Catalog with its async-binding gate off.
Any HTTP error status of a bind is terminal (``Failed=True``); a 5xx, an unexpected
2xx or a timeout also starts orphan mitigation. Unbinding deletes the Secret first,
then calls the broker; a 410 counts as done.
"""

from __future__ import annotations

import uuid
from typing import Any

from broker.client import (
    BrokerError,
    BrokerTimeout,
    BrokerUnreachable,
    MalformedResponse,
    OSBClientError,
    UnexpectedResponse,
)
from broker.controller.conditions import epoch_of, rfc3339
from broker.controller.engine import AuthError, Controller
from broker.controller.go_json import go_json
from broker.controller.instances import describe_class, identity_of
from broker.controller.kinds import CATALOG_VERSION, ObjectKey
from broker.controller.parameters import ParameterError, build_parameters
from broker.controller.secret_data import SecretDataError, secret_data
from broker.controller.store import State
from broker.controller.work import Work

__all__ = ["reconcile_binding"]


def reconcile_binding(controller: Controller, obj: dict[str, Any]) -> None:
    work = Work(controller, obj)
    if not work.status:
        work.status.update({"conditions": [], "unbindStatus": "NotRequired"})
        work.save()
    if work.deleting or work.status.get("orphanMitigationInProgress"):
        _unbind(work)
    else:
        _bind(work)


def _instance(work: Work) -> dict[str, Any] | None:
    return work.state.get(
        ObjectKey("ServiceInstance", work.namespace, work.spec["instanceRef"]["name"])
    )


def _instance_name(work: Work) -> str:
    return f"{work.namespace}/{work.spec['instanceRef']['name']}"


def _wait(work: Work, reason: str, message: str, *, bounded: bool = False) -> None:
    work.condition("Ready", "False", reason, message, "Warning")
    work.failed_once()
    if bounded and work.retries_exhausted():
        work.condition(
            "Failed",
            "True",
            "ErrorReconciliationRetryTimeout",
            "Stopping reconciliation retries because too much time has elapsed",
            "Warning",
        )
        work.status["reconciledGeneration"] = work.generation
        _clear_operation(work)
        work.settle()
    work.save()


def _clear_operation(work: Work) -> None:
    for name in ("currentOperation", "operationStartTime", "inProgressProperties"):
        work.status.pop(name, None)


def _refs(
    work: Work, instance: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    spec = instance["spec"]
    class_ref = (spec.get("clusterServiceClassRef") or {}).get("name")
    plan_ref = (spec.get("clusterServicePlanRef") or {}).get("name")
    cls = work.state.get(ObjectKey("ClusterServiceClass", "", class_ref)) if class_ref else None
    plan = work.state.get(ObjectKey("ClusterServicePlan", "", plan_ref)) if plan_ref else None
    if cls is None or plan is None:
        return None
    broker = work.state.get(
        ObjectKey("ClusterServiceBroker", "", str(cls["spec"].get("clusterServiceBrokerName")))
    )
    if broker is None:
        return None
    return cls, plan, broker


# --- bind ------------------------------------------------------------------------------------


def _bind(work: Work) -> None:
    status = work.status
    if work.is_true("Failed") or status.get("reconciledGeneration") == work.generation:
        work.settle()
        work.save()
        return
    instance = _instance(work)
    if instance is None:
        _wait(
            work,
            "ReferencesNonexistentInstance",
            f'References a non-existent ServiceInstance "{_instance_name(work)}"',
        )
        return
    refs = _refs(work, instance)
    if refs is None:
        _wait(
            work,
            "ErrorInstanceRefsUnresolved",
            "Binding cannot begin because ClusterServiceClass and "
            f'ClusterServicePlan references for ServiceInstance "{_instance_name(work)}" '
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
            f"References a non-bindable {describe_class(cls)} and Plan "
            f'("{plan["spec"]["externalName"]}") combination'
        )
        work.condition("Ready", "False", "ErrorNonbindableServiceClass", message, "Warning")
        work.condition("Failed", "True", "ErrorNonbindableServiceClass", message)
        status["reconciledGeneration"] = work.generation
        work.settle()
        work.save()
        return
    if not (instance.get("status") or {}).get("conditions") or not _ready(instance):
        _wait(
            work,
            "ErrorInstanceNotReady",
            "Binding cannot begin because referenced ServiceInstance "
            f'"{_instance_name(work)}" is not ready',
        )
        return
    try:
        parameters = build_parameters(work.state, work.namespace, work.spec)
    except ParameterError as exc:
        _wait(
            work,
            "ErrorWithParameters",
            f"failed to prepare parameters {go_json(work.spec.get('parameters') or {})}: {exc}",
        )
        return
    try:
        client = work.controller.client_for(broker)
    except AuthError as exc:
        _wait(work, "ErrorGettingAuthCredentials", f"Error getting broker auth credentials: {exc}")
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
        f'ServiceBinding for ServiceInstance "{_instance_name(work)}" of {describe_class(cls)} at '
        f'ClusterServiceBroker "{broker["metadata"]["name"]}"'
    )
    try:
        answer = client.bind(
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
            identity=identity_of(work.spec),
        )
    except BrokerTimeout as exc:
        _bind_failed(
            work,
            "BindCallFailed",
            "BindCallFailed",
            "Communication with the ServiceBroker timed out; "
            f"Bind operation will not be retried: {exc}",
            mitigate=True,
        )
        return
    except BrokerUnreachable as exc:
        _wait(work, "BindCallFailed", f"Error creating {description}: {exc}", bounded=True)
        return
    except (BrokerError, UnexpectedResponse) as exc:
        detail = exc.summary() if isinstance(exc, BrokerError) else f"Status: {exc.status}; {exc}"
        ambiguous = (
            exc.status >= 500
            or (200 < exc.status < 300)
            or (isinstance(exc, MalformedResponse) and exc.status != 200)
        )
        _bind_failed(
            work,
            "BindCallFailed",
            "ServiceBindingReturnedFailure",
            f"ServiceBroker returned failure; bind operation will not be retried: {detail}",
            mitigate=ambiguous,
        )
        return
    status["externalProperties"] = properties
    try:
        data = secret_data(
            work.state, answer.credentials or {}, work.spec.get("secretTransforms") or []
        )
        _check_secret_owner(work.state, work.obj)
    except SecretDataError as exc:
        _injection_failed(work, str(exc))
        return
    work.also(lambda state: _write_secret(state, work.obj, data, work.now))
    _clear_operation(work)
    status["reconciledGeneration"] = work.generation
    work.condition("Ready", "True", "InjectedBindResult", "Injected bind result", "Normal")
    work.settle()
    work.save()


def _ready(instance: dict[str, Any]) -> bool:
    for found in instance["status"]["conditions"]:
        if found.get("type") == "Ready":
            return bool(found.get("status") == "True")
    return False


def _injection_failed(work: Work, detail: str) -> None:
    message = f"Error injecting bind result: {detail}"
    work.condition("Ready", "False", "ErrorInjectingBindResult", message, "Warning")
    work.failed_once()
    if _too_old(work):
        _bind_failed(
            work, "ErrorInjectingBindResult", "ErrorInjectingBindResult", message, mitigate=True
        )
        return
    work.save()


def _too_old(work: Work) -> bool:
    started = epoch_of(work.status.get("operationStartTime"))
    return started > 0 and work.now - started > work.controller.settings.retry_duration


def _bind_failed(
    work: Work, ready_reason: str, failed_reason: str, message: str, *, mitigate: bool
) -> None:
    work.condition("Ready", "False", ready_reason, message, "Warning")
    work.condition("Failed", "True", failed_reason, message)
    work.status["reconciledGeneration"] = work.generation
    if mitigate and work.controller.settings.orphan_mitigation:
        work.condition(
            "Ready",
            "False",
            "ServiceBindingNeedsOrphanMitigation",
            "Starting orphan mitigation",
            "Warning",
        )
        work.status["orphanMitigationInProgress"] = True
        work.schedule.pop("due", None)
        work.save()
        if not work.gone:
            _unbind(work)
        return
    _clear_operation(work)
    work.settle()
    work.save()


# --- the Secret ---------------------------------------------------------------------------------


def _owner(binding: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": CATALOG_VERSION,
        "kind": "ServiceBinding",
        "name": binding["metadata"]["name"],
        "uid": binding["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _secret_key(binding: dict[str, Any]) -> ObjectKey:
    return ObjectKey("Secret", binding["metadata"]["namespace"], binding["spec"]["secretName"])


def _controller_ref(secret: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (ref for ref in secret["metadata"].get("ownerReferences") or [] if ref.get("controller")),
        None,
    )


def _check_secret_owner(state: State, binding: dict[str, Any]) -> None:
    """A Secret of that name that this binding does not control is never overwritten."""
    existing = state.get(_secret_key(binding))
    if existing is None:
        return
    ref = _controller_ref(existing)
    if ref is None or ref.get("uid") != binding["metadata"]["uid"]:
        key = _secret_key(binding)
        shown = f"{{{ref.get('kind')} {ref.get('name')} {ref.get('uid')}}}" if ref else "nil"
        raise SecretDataError(
            f'Secret "{key.namespace}/{key.name}" is not owned by ServiceBinding, '
            f"controllerRef: {shown}"
        )


def _write_secret(state: State, binding: dict[str, Any], data: dict[str, str], now: float) -> None:
    _check_secret_owner(state, binding)
    key = _secret_key(binding)
    existing = state.get(key)
    if existing is None:
        existing = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": key.name,
                "namespace": key.namespace,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": rfc3339(now),
                "ownerReferences": [_owner(binding)],
            },
            "type": "Opaque",
        }
    existing["data"] = data
    state.put(existing)


def _delete_owned_secret(state: State, binding: dict[str, Any]) -> None:
    existing = state.get(_secret_key(binding))
    if existing is not None:
        ref = _controller_ref(existing)
        if ref is not None and ref.get("uid") == binding["metadata"]["uid"]:
            state.remove(_secret_key(binding))


# --- unbind -------------------------------------------------------------------------------------


def _unbind(work: Work) -> None:
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
        work.also(lambda state: _delete_owned_secret(state, binding))
        work.also(lambda state: _nudge_instance(state, binding))
        work.drop_finalizer()
        work.save()
        return
    # The Secret goes first, and the in-flight status is saved before the broker is called.
    work.also(lambda state: _delete_owned_secret(state, binding))
    if status.get("currentOperation") != "Unbind":
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
    instance = _instance(work)
    if instance is None:
        _unbind_retry(
            work,
            "ReferencesNonexistentInstance",
            f'References a non-existent ServiceInstance "{_instance_name(work)}"',
        )
        return
    if (instance.get("status") or {}).get("asyncOpInProgress"):
        _unbind_retry(
            work,
            "ErrorAsyncOperationInProgress",
            f'trying to unbind to ServiceInstance "{_instance_name(work)}" '
            "that has ongoing asynchronous operation",
        )
        return
    plan_id = ((instance.get("status") or {}).get("externalProperties") or {}).get(
        "clusterServicePlanExternalID"
    )
    refs = _refs(work, instance)
    if plan_id is None or refs is None:
        _unbind_retry(
            work,
            "UnbindingRequestInFlight",
            "Unbind request for ServiceBinding in-flight to Broker",
        )
        return
    cls, _, broker = refs
    try:
        client = work.controller.client_for(broker)
        client.unbind(
            instance["spec"]["externalID"],
            work.spec["externalID"],
            cls["spec"]["externalID"],
            plan_id,
            identity=identity_of(work.spec),
        )
    except (AuthError, OSBClientError) as exc:
        _unbind_failed(
            work,
            f'Error unbinding from ServiceInstance "{_instance_name(work)}" '
            f"of {describe_class(cls)} "
            f'at ClusterServiceBroker "{broker["metadata"]["name"]}": {exc}',
        )
        return
    status["unbindStatus"] = "Succeeded"
    status.pop("externalProperties", None)
    _clear_operation(work)
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
    work.also(lambda state: _nudge_instance(state, binding))
    work.drop_finalizer()
    work.save()


def _unbind_retry(work: Work, reason: str, message: str) -> None:
    work.condition("Ready", "False", reason, message, "Warning")
    work.failed_once()
    work.save()


def _unbind_failed(work: Work, message: str) -> None:
    work.condition("Ready", "Unknown", "UnbindCallFailed", message, "Warning")
    delay = work.failed_once()
    if _too_old(work):
        work.condition(
            "Failed",
            "True",
            "ErrorReconciliationRetryTimeout",
            "Stopping reconciliation retries because too much time has elapsed",
            "Warning",
        )
        work.status["unbindStatus"] = "Failed"
        work.settle()
    else:
        work.event(
            "Warning",
            "RetryBackoff",
            f"Delaying unbind retry, next attempt will be after {rfc3339(work.now + delay)}",
        )
    work.save()


def _nudge_instance(state: State, binding: dict[str, Any]) -> None:
    """An instance waiting for its bindings to go can try again now."""
    key = ObjectKey(
        "ServiceInstance", binding["metadata"]["namespace"], binding["spec"]["instanceRef"]["name"]
    )
    if state.get(key) is not None:
        state.schedule(key).pop("due", None)
