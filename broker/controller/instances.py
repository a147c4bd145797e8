"""ServiceInstance: provision, poll, update, deprovision and orphan mitigation.

The action is chosen as Service Catalog chooses it: an async operation in progress
is polled; a deleted instance (or one owing the broker an orphan-mitigation DELETE)
is deprovisioned; a provisioned one is updated when its generation changed; anything
else is provisioned. Reasons, messages and the error table (which failures are
terminal, retried, or start orphan mitigation) follow Service Catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.client import (
    BadRequest,
    BrokerError,
    BrokerTimeout,
    BrokerUnreachable,
    Gone,
    MalformedResponse,
    OriginatingIdentity,
    OSBClient,
    OSBClientError,
    UnexpectedResponse,
)
from broker.controller.conditions import epoch_of, rfc3339
from broker.controller.engine import AuthError, Controller
from broker.controller.go_json import go_json
from broker.controller.kinds import ObjectKey
from broker.controller.names import label_value
from broker.controller.parameters import ParameterError, build_parameters
from broker.controller.work import Work

__all__ = ["describe_class", "identity_of", "reconcile_instance"]

OM_MESSAGE = (
    "The instance provision call failed with an ambiguous error; attempting to deprovision the "
    "instance in order to mitigate an orphaned resource"
)
ASYNC = {
    "Provision": ("Provisioning", "The instance is being provisioned asynchronously"),
    "Update": ("UpdatingInstance", "The instance is being updated asynchronously"),
    "Deprovision": ("Deprovisioning", "The instance is being deprovisioned asynchronously"),
}
CLASS_STYLES = (
    ("clusterServiceClassExternalName", "clusterServicePlanExternalName", "externalName"),
    ("clusterServiceClassExternalID", "clusterServicePlanExternalID", "externalID"),
    ("clusterServiceClassName", "clusterServicePlanName", None),
)


@dataclass(frozen=True)
class Refs:
    cls: dict[str, Any]
    plan: dict[str, Any]
    broker: dict[str, Any]

    @property
    def class_description(self) -> str:
        return describe_class(self.cls)

    @property
    def broker_name(self) -> str:
        return str(self.broker["metadata"]["name"])


def describe_class(cls: dict[str, Any]) -> str:
    name, external = cls["metadata"]["name"], cls["spec"]["externalName"]
    return f'ClusterServiceClass (K8S: "{name}" ExternalName: "{external}")'


def describe_plan(plan: dict[str, Any]) -> str:
    name, external = plan["metadata"]["name"], plan["spec"]["externalName"]
    return f'ClusterServicePlan (K8S: "{name}" ExternalName: "{external}")'


def identity_of(spec: dict[str, Any]) -> OriginatingIdentity | None:
    """The originating identity header value of a spec's userInfo (kubernetes platform)."""
    user = spec.get("userInfo")
    if not user:
        return None
    value: dict[str, Any] = {"username": user.get("username", ""), "uid": user.get("uid", "")}
    if user.get("groups"):
        value["groups"] = list(user["groups"])
    if user.get("extra"):
        value["extra"] = dict(user["extra"])
    return OriginatingIdentity("kubernetes", value)


def reconcile_instance(controller: Controller, obj: dict[str, Any]) -> None:
    work = Work(controller, obj)
    if not work.status:
        work.status.update({"conditions": [], "deprovisionStatus": "NotRequired"})
        work.save()
    if work.status.get("asyncOpInProgress"):
        _poll(work)
    elif work.deleting or work.status.get("orphanMitigationInProgress"):
        _delete(work)
    elif work.status.get("provisionStatus") == "Provisioned":
        _update(work)
    else:
        _provision(work)


# --- shared steps -------------------------------------------------------------------------


def _processed(work: Work) -> bool:
    status = work.status
    return (
        int(status.get("observedGeneration", 0)) >= work.generation
        and (work.is_true("Ready") or work.is_true("Failed"))
        and not status.get("orphanMitigationInProgress")
    )


def _start_generation(work: Work) -> None:
    if work.status.get("observedGeneration") != work.generation:
        work.drop_condition("Failed")
    work.status["observedGeneration"] = work.generation


def _retry(
    work: Work, reason: str, message: str, operation: str = "provision", *, bounded: bool = True
) -> None:
    """A failure tried again after a backoff; ``bounded`` ones end with the retry window."""
    work.condition("Ready", "False", reason, message, "Warning")
    delay = work.failed_once()
    if bounded and work.retries_exhausted():
        _retry_timeout(work)
        return
    work.event(
        "Warning",
        "RetryBackoff",
        f"Delaying {operation} retry, next attempt will be after {rfc3339(work.now + delay)}",
    )
    work.save()


def _retry_timeout(work: Work) -> None:
    work.condition(
        "Failed",
        "True",
        "ErrorReconciliationRetryTimeout",
        "Stopping reconciliation retries because too much time has elapsed",
        "Warning",
    )
    operation = work.status.get("currentOperation")
    if operation == "Provision" and work.status.get("deprovisionStatus") == "Required":
        _start_orphan_mitigation(
            work,
            "ErrorReconciliationRetryTimeout",
            "Stopping reconciliation retries because too much time has elapsed",
        )
        return
    if operation == "Deprovision":
        work.status["deprovisionStatus"] = "Failed"
    _clear_operation(work)
    work.settle()
    work.save()


def _resolve(work: Work) -> Refs | None:
    """Find (and record) the class, plan and broker; sets Ready=False and answers None if not."""
    state = work.state
    spec = work.spec
    class_field, plan_field, attribute = next(style for style in CLASS_STYLES if style[0] in spec)
    class_ref = (spec.get("clusterServiceClassRef") or {}).get("name")
    if class_ref:
        cls = state.get(ObjectKey("ClusterServiceClass", "", class_ref))
        candidates = [cls] if cls is not None else []
    else:
        candidates = [
            found
            for found in state.list("ClusterServiceClass")
            if (found["metadata"]["name"] if attribute is None else found["spec"].get(attribute))
            == spec[class_field]
        ]
    given = f'{{{class_field[0].upper()}{class_field[1:]}:"{spec[class_field]}"}}'
    if len(candidates) != 1:
        _retry(
            work,
            "ReferencesNonexistentServiceClass",
            "The instance references a ClusterServiceClass that does not exist. "
            f"References a non-existent ClusterServiceClass {given} "
            f"or there is more than one (found: {len(candidates)})",
            bounded=False,
        )
        return None
    cls = candidates[0]
    plan_ref = (spec.get("clusterServicePlanRef") or {}).get("name")
    if plan_ref:
        plan = state.get(ObjectKey("ClusterServicePlan", "", plan_ref))
        plans = [plan] if plan is not None else []
    else:
        plans = [
            found
            for found in state.list("ClusterServicePlan")
            if found["spec"]["clusterServiceClassRef"]["name"] == cls["metadata"]["name"]
            and found["spec"].get("clusterServiceBrokerName")
            == cls["spec"].get("clusterServiceBrokerName")
            and (found["metadata"]["name"] if attribute is None else found["spec"].get(attribute))
            == spec.get(plan_field)
        ]
    if len(plans) != 1:
        wanted = f'{{{plan_field[0].upper()}{plan_field[1:]}:"{spec.get(plan_field)}"}}'
        _retry(
            work,
            "ReferencesNonexistentServicePlan",
            "The instance references a ClusterServicePlan that does not exist. "
            f"References a non-existent ClusterServicePlan {wanted} "
            f"on ClusterServiceClass {cls['metadata']['name']} {given} "
            f"or there is more than one (found: {len(plans)})",
            bounded=False,
        )
        return None
    plan = plans[0]
    broker_name = cls["spec"].get("clusterServiceBrokerName")
    broker = state.get(ObjectKey("ClusterServiceBroker", "", str(broker_name)))
    if broker is None:
        _retry(
            work,
            "ReferencesNonexistentBroker",
            f'The instance references a non-existent broker "{broker_name}"',
            bounded=False,
        )
        return None
    if not class_ref or not plan_ref:
        work.set_spec(
            clusterServiceClassRef={"name": cls["metadata"]["name"]},
            clusterServicePlanRef={"name": plan["metadata"]["name"]},
        )
        work.set_label(
            "servicecatalog.k8s.io/spec.clusterServiceClassRef.name",
            label_value(cls["metadata"]["name"]),
        )
        work.set_label(
            "servicecatalog.k8s.io/spec.clusterServicePlanRef.name",
            label_value(plan["metadata"]["name"]),
        )
    work.status["userSpecifiedClassName"] = f"ClusterServiceClass/{spec[class_field]}"
    work.status["userSpecifiedPlanName"] = str(spec.get(plan_field, ""))
    return Refs(cls, plan, broker)


def _client(work: Work, refs: Refs) -> OSBClient | None:
    try:
        return work.controller.client_for(refs.broker)
    except AuthError as exc:
        _retry(
            work,
            "ErrorGettingAuthCredentials",
            f"Error getting broker auth credentials: {exc}",
            bounded=False,
        )
        return None


def _properties(work: Work, refs: Refs) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(inProgressProperties, parameters to send), or None after setting ErrorWithParameters."""
    try:
        parameters = build_parameters(work.state, work.namespace, work.spec)
    except ParameterError as exc:
        raw = go_json(work.spec.get("parameters") or {})
        _retry(
            work, "ErrorWithParameters", f"failed to prepare parameters {raw}: {exc}", bounded=False
        )
        return None
    properties: dict[str, Any] = {
        "clusterServicePlanExternalName": refs.plan["spec"]["externalName"],
        "clusterServicePlanExternalID": refs.plan["spec"]["externalID"],
    }
    if parameters.values:
        properties["parameters"] = parameters.redacted
        properties["parameterChecksum"] = parameters.checksum
    if work.spec.get("userInfo"):
        properties["userInfo"] = work.spec["userInfo"]
    return properties, parameters.values


def _context(work: Work) -> dict[str, Any]:
    return {
        "platform": "kubernetes",
        "namespace": work.namespace,
        "clusterid": work.state.cluster_id,
        "instance_name": work.name,
    }


def _namespace_uid(work: Work) -> str | None:
    found = work.state.get(ObjectKey("Namespace", "", work.namespace))
    return str(found["metadata"]["uid"]) if found is not None else None


def _clear_operation(work: Work) -> None:
    for name in ("currentOperation", "operationStartTime", "inProgressProperties", "lastOperation"):
        work.status.pop(name, None)
    work.status["asyncOpInProgress"] = False


def _begin(
    work: Work, operation: str, properties: dict[str, Any], reason: str, message: str
) -> None:
    status = work.status
    if status.get("currentOperation") != operation:
        status["currentOperation"] = operation
        status["operationStartTime"] = rfc3339(work.now)
    status["inProgressProperties"] = properties
    work.condition("Ready", "False", reason, message)
    work.save()


def _go_async(work: Work, operation: str | None, retry_after: float | None) -> None:
    status = work.status
    status["asyncOpInProgress"] = True
    if operation:
        status["lastOperation"] = operation
    else:
        status.pop("lastOperation", None)
    reason, message = ASYNC[str(status["currentOperation"])]
    work.condition("Ready", "False", reason, message, "Normal")
    work.schedule["polls"] = 0
    work.due_in(work.controller.settings.poll_delay(0, retry_after))
    work.save()


def _http_detail(refs: Refs, verb: str, error: OSBClientError) -> str:
    return (
        f"Error {verb} ServiceInstance of {refs.class_description} at ClusterServiceBroker "
        f'"{refs.broker_name}": {_status_text(error)}'
    )


def _status_text(error: OSBClientError) -> str:
    if isinstance(error, BrokerError):
        return f"{error.summary()}; ResponseError: <nil>"
    if isinstance(error, UnexpectedResponse):
        return (
            f"Status: {error.status}; ErrorMessage: <nil>; Description: {error}; "
            "ResponseError: <nil>"
        )
    return str(error)


# --- provision -----------------------------------------------------------------------------


def _provision(work: Work) -> None:
    if _processed(work):
        work.settle()
        work.save()
        return
    _start_generation(work)
    refs = _resolve(work)
    if refs is None:
        return
    for entry, describe in ((refs.cls, describe_class), (refs.plan, describe_plan)):
        if entry.get("status", {}).get("removedFromBrokerCatalog"):
            reason = (
                "ReferencesDeletedServiceClass"
                if entry is refs.cls
                else "ReferencesDeletedServicePlan"
            )
            _retry(work, reason, f"{describe(entry)} has been deleted; cannot provision.")
            return
    client = _client(work, refs)
    prepared = _properties(work, refs) if client is not None else None
    space = _namespace_uid(work)
    if client is None or prepared is None:
        return
    properties, parameters = prepared
    if space is None:
        _retry(
            work,
            "ErrorFindingNamespaceForInstance",
            f'namespaces "{work.namespace}" not found',
            bounded=False,
        )
        return
    if work.retries_exhausted():
        _retry_timeout(work)
        return
    work.status["deprovisionStatus"] = "Required"
    _begin(
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
            context=_context(work),
            parameters=parameters or None,
            accepts_incomplete=True,
            identity=identity_of(work.spec),
        )
    except BadRequest as exc:
        message = _http_detail(refs, "provisioning", exc)
        work.condition("Ready", "False", "ProvisionCallFailed", message, "Warning")
        work.condition("Failed", "True", "ClusterServiceBrokerReturnedFailure", message)
        work.status["deprovisionStatus"] = "NotRequired"
        _clear_operation(work)
        work.settle()
        work.save()
        return
    except BrokerTimeout as exc:
        message = (
            "Communication with the ClusterServiceBroker timed out; "
            f"operation will be retried: {exc}"
        )
        _ambiguous(work, "ErrorCallingProvision", message)
        return
    except BrokerUnreachable as exc:
        _provision_retry(
            work,
            "ErrorCallingProvision",
            "The provision call failed and will be retried: "
            f"Error communicating with broker for provisioning: {exc}",
        )
        return
    except (BrokerError, UnexpectedResponse) as exc:
        message = _http_detail(refs, "provisioning", exc)
        status = exc.status
        if (
            200 < status < 300
            or status >= 500
            or (isinstance(exc, MalformedResponse) and status != 200)
        ):
            _ambiguous(work, "ProvisionCallFailed", message)
        else:
            _provision_retry(work, "ProvisionCallFailed", message)
        return
    if answer.dashboard_url:
        work.status["dashboardURL"] = answer.dashboard_url
    if answer.is_async:
        _go_async(work, answer.operation, answer.retry_after)
        return
    _provisioned(work)


def _provision_retry(work: Work, reason: str, message: str) -> None:
    # The broker surely created nothing: no orphan to mitigate, no deprovision needed.
    work.status["deprovisionStatus"] = "NotRequired"
    _retry(work, reason, message)


def _ambiguous(work: Work, reason: str, message: str) -> None:
    """A provision whose outcome is unknown: mitigate a possible orphan, then retry."""
    work.condition("Ready", "False", reason, message, "Warning")
    work.failed_once()
    if not work.controller.settings.orphan_mitigation:
        work.status["deprovisionStatus"] = "Required"
        work.save()
        return
    _start_orphan_mitigation(work, reason, message)


def _start_orphan_mitigation(work: Work, reason: str, message: str) -> None:
    status = work.status
    work.event("Warning", "StartingInstanceOrphanMitigation", OM_MESSAGE)
    work.condition("OrphanMitigation", "True", reason, message)
    work.condition("Ready", "False", "StartingInstanceOrphanMitigation", OM_MESSAGE)
    status["orphanMitigationInProgress"] = True
    status["asyncOpInProgress"] = False
    status.pop("lastOperation", None)
    status.setdefault("operationStartTime", rfc3339(work.now))
    work.schedule.pop("due", None)
    work.save()
    if not work.gone:
        _delete(work)


def _provisioned(work: Work) -> None:
    status = work.status
    status["externalProperties"] = status.get("inProgressProperties")
    status["provisionStatus"] = "Provisioned"
    status["reconciledGeneration"] = status.get("observedGeneration", work.generation)
    _clear_operation(work)
    work.condition(
        "Ready",
        "True",
        "ProvisionedSuccessfully",
        "The instance was provisioned successfully",
        "Normal",
    )
    work.settle()
    _nudge_bindings(work)
    work.save()


def _nudge_bindings(work: Work) -> None:
    namespace, name = work.namespace, work.name

    def nudge(state: Any) -> None:
        for binding in state.list("ServiceBinding", namespace):
            if binding["spec"]["instanceRef"]["name"] == name:
                state.schedule(
                    ObjectKey("ServiceBinding", namespace, binding["metadata"]["name"])
                ).pop("due", None)

    work.also(nudge)


# --- update ----------------------------------------------------------------------------------


def _update(work: Work) -> None:
    if _processed(work):
        work.settle()
        work.save()
        return
    _start_generation(work)
    refs = _resolve(work)
    if refs is None:
        return
    external = work.status.get("externalProperties") or {}
    plan_changes = refs.plan["spec"]["externalID"] != external.get("clusterServicePlanExternalID")
    if plan_changes:
        for entry, describe in ((refs.cls, describe_class), (refs.plan, describe_plan)):
            if entry.get("status", {}).get("removedFromBrokerCatalog"):
                reason = (
                    "ReferencesDeletedServiceClass"
                    if entry is refs.cls
                    else "ReferencesDeletedServicePlan"
                )
                _retry(
                    work, reason, f"{describe(entry)} has been deleted; cannot provision.", "update"
                )
                return
    client = _client(work, refs)
    prepared = _properties(work, refs) if client is not None else None
    if client is None or prepared is None:
        return
    properties, parameters = prepared
    if work.retries_exhausted():
        _retry_timeout(work)
        return
    _begin(
        work,
        "Update",
        properties,
        "UpdateInstanceRequestInFlight",
        "Update request for ServiceInstance in-flight to Broker",
    )
    if work.gone:
        return
    changed_parameters = properties.get("parameterChecksum") != external.get("parameterChecksum")
    try:
        answer = client.update(
            work.spec["externalID"],
            refs.cls["spec"]["externalID"],
            plan_id=refs.plan["spec"]["externalID"] if plan_changes else None,
            parameters=(parameters or {}) if changed_parameters else None,
            context=_context(work),
            previous_values={
                "plan_id": external.get("clusterServicePlanExternalID"),
                "service_id": refs.cls["spec"]["externalID"],
            },
            accepts_incomplete=True,
            identity=identity_of(work.spec),
        )
    except BadRequest as exc:
        message = (
            "ServiceBroker returned a failure for update call; update will not be retried: "
            f"{_http_detail(refs, 'updating', exc)}"
        )
        work.condition("Ready", "False", "UpdateInstanceCallFailed", message, "Warning")
        work.condition("Failed", "True", "UpdateInstanceCallFailed", message)
        _clear_operation(work)
        work.settle()
        work.save()
        return
    except BrokerUnreachable as exc:
        _retry(
            work,
            "ErrorCallingUpdateInstance",
            "The update call failed and will be retried: Error "
            f"communicating with broker for updating: {exc}",
            "update",
        )
        return
    except (BrokerError, UnexpectedResponse) as exc:
        _retry(
            work,
            "UpdateInstanceCallFailed",
            "ServiceBroker returned a failure for update call; update "
            f"will be retried: {_http_detail(refs, 'updating', exc)}",
            "update",
        )
        return
    if answer.is_async:
        _go_async(work, answer.operation, answer.retry_after)
        return
    _updated(work)


def _updated(work: Work) -> None:
    status = work.status
    status["externalProperties"] = status.get("inProgressProperties")
    status["reconciledGeneration"] = status.get("observedGeneration", work.generation)
    _clear_operation(work)
    work.condition(
        "Ready",
        "True",
        "InstanceUpdatedSuccessfully",
        "The instance was updated successfully",
        "Normal",
    )
    work.settle()
    work.save()


# --- deprovision and orphan mitigation -------------------------------------------------------


def _bindings_of(work: Work) -> list[dict[str, Any]]:
    return [
        binding
        for binding in work.state.list("ServiceBinding", work.namespace)
        if binding["spec"]["instanceRef"]["name"] == work.name
    ]


def _delete_ids(work: Work) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(class, broker, plan id) for a DELETE, from the properties Service Catalog would use."""
    state, status, spec = work.state, work.status, work.spec
    cls = None
    class_ref = (spec.get("clusterServiceClassRef") or {}).get("name")
    if class_ref:
        cls = state.get(ObjectKey("ClusterServiceClass", "", class_ref))
    broker = None
    if cls is not None:
        broker = state.get(
            ObjectKey("ClusterServiceBroker", "", str(cls["spec"].get("clusterServiceBrokerName")))
        )
    if status.get("currentOperation") or status.get("orphanMitigationInProgress"):
        plan_id = (status.get("inProgressProperties") or {}).get("clusterServicePlanExternalID")
    elif status.get("provisionStatus") != "Provisioned":
        plan_ref = (spec.get("clusterServicePlanRef") or {}).get("name")
        plan = state.get(ObjectKey("ClusterServicePlan", "", plan_ref)) if plan_ref else None
        plan_id = plan["spec"]["externalID"] if plan is not None else None
    else:
        plan_id = (status.get("externalProperties") or {}).get("clusterServicePlanExternalID")
    return cls, broker, plan_id


def _delete(work: Work) -> None:
    status = work.status
    if work.deleting and status.get("orphanMitigationInProgress"):
        # The user deleted the instance during orphan mitigation: a normal deprovision takes over.
        status["orphanMitigationInProgress"] = False
        work.drop_condition("OrphanMitigation")
    mitigating = bool(status.get("orphanMitigationInProgress"))
    if work.deleting and not work.has_finalizer:
        return
    if status.get("deprovisionStatus") == "Failed":
        work.settle()
        work.save()
        return
    if not mitigating and status.get("deprovisionStatus") in (None, "", "NotRequired", "Succeeded"):
        work.drop_finalizer()
        work.save()
        return
    if not mitigating and _bindings_of(work):
        work.condition(
            "Ready",
            "False",
            "DeprovisionBlockedByExistingCredentials",
            "All associated ServiceBindings must be removed before this ServiceInstance can be "
            "deleted",
            "Warning",
        )
        work.due_in(work.controller.settings.retry_max)
        work.save()
        return
    cls, broker, plan_id = _delete_ids(work)
    if cls is None or broker is None or plan_id is None:
        what = (
            "ClusterServiceClass"
            if cls is None
            else "broker"
            if broker is None
            else "ClusterServicePlan"
        )
        _deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Error deprovisioning: the {what} of this instance cannot be found",
            mitigating,
        )
        return
    refs = Refs(cls, {"spec": {"externalID": plan_id}}, broker)
    try:
        client = work.controller.client_for(broker)
    except AuthError as exc:
        _deprovision_failed(
            work,
            "ErrorGettingAuthCredentials",
            f"Error getting broker auth credentials: {exc}",
            mitigating,
        )
        return
    if not mitigating and status.get("currentOperation") != "Deprovision":
        status["currentOperation"] = "Deprovision"
        status["operationStartTime"] = rfc3339(work.now)
        status.setdefault(
            "inProgressProperties",
            status.get("externalProperties") or {"clusterServicePlanExternalID": plan_id},
        )
        work.condition(
            "Ready",
            "False",
            "DeprovisionRequestInFlight",
            "Deprovision request for ServiceInstance in-flight to Broker",
        )
        work.save()
        if work.gone:
            return
    try:
        answer = client.deprovision(
            work.spec["externalID"],
            cls["spec"]["externalID"],
            plan_id,
            accepts_incomplete=True,
            identity=identity_of(work.spec),
        )
    except BrokerError as exc:
        _deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Deprovision call failed; received error response from broker: {_status_text(exc)}",
            mitigating,
        )
        return
    except OSBClientError as exc:
        _deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Error deprovisioning, {refs.class_description} at "
            f'ClusterServiceBroker "{refs.broker_name}": {exc}',
            mitigating,
        )
        return
    if answer.is_async:
        _go_async_delete(work, answer.operation, answer.retry_after)
        return
    _deprovisioned(work)


def _go_async_delete(work: Work, operation: str | None, retry_after: float | None) -> None:
    status = work.status
    status["asyncOpInProgress"] = True
    if operation:
        status["lastOperation"] = operation
    reason, message = ASYNC["Deprovision"]
    work.condition("Ready", "False", reason, message, "Normal")
    work.schedule["polls"] = 0
    work.due_in(work.controller.settings.poll_delay(0, retry_after))
    work.save()


def _deprovision_failed(work: Work, reason: str, message: str, mitigating: bool) -> None:
    work.condition("Ready", "Unknown", reason, message, "Warning")
    delay = work.failed_once()
    if _operation_too_old(work):
        work.status["deprovisionStatus"] = "Failed"
        if mitigating:
            work.condition(
                "Ready",
                "Unknown",
                "OrphanMitigationFailed",
                f"Orphan mitigation failed: {message}",
                "Warning",
            )
        else:
            work.condition(
                "Failed",
                "True",
                "ErrorReconciliationRetryTimeout",
                "Stopping reconciliation retries because too much time has elapsed",
                "Warning",
            )
        work.settle()
    else:
        work.event(
            "Warning",
            "RetryBackoff",
            f"Delaying deprovision retry, next attempt will be after {rfc3339(work.now + delay)}",
        )
    work.save()


def _deprovisioned(work: Work) -> None:
    status = work.status
    mitigating = bool(status.get("orphanMitigationInProgress"))
    status.pop("externalProperties", None)
    status["provisionStatus"] = "NotProvisioned"
    status["deprovisionStatus"] = "Succeeded"
    _clear_operation(work)
    if mitigating:
        status["orphanMitigationInProgress"] = False
        work.drop_condition("OrphanMitigation")
        work.condition(
            "Ready",
            "False",
            "OrphanMitigationSuccessful",
            "Orphan mitigation was completed successfully",
            "Normal",
        )
        if work.is_true("Failed"):
            work.settle()
        else:
            # The provision failed in a retriable way: provision again after the backoff.
            delay = work.controller.settings.retry_delay(int(work.schedule.get("failures", 1)))
            work.due_in(delay)
            work.event(
                "Warning",
                "RetryBackoff",
                f"Delaying provision retry, next attempt will be after {rfc3339(work.now + delay)}",
            )
        work.save()
        return
    work.condition(
        "Ready",
        "False",
        "DeprovisionedSuccessfully",
        "The instance was deprovisioned successfully",
        "Normal",
    )
    work.drop_finalizer()
    work.save()


# --- polling -------------------------------------------------------------------------------


def _poll(work: Work) -> None:
    status = work.status
    deleting_op = status.get("currentOperation") == "Deprovision" or bool(
        status.get("orphanMitigationInProgress")
    )
    operation = "Deprovision" if deleting_op else str(status.get("currentOperation") or "Provision")
    cls, broker, _ = _delete_ids(work)
    plan_ref = (work.spec.get("clusterServicePlanRef") or {}).get("name")
    plan = work.state.get(ObjectKey("ClusterServicePlan", "", plan_ref)) if plan_ref else None
    plan_id = (
        plan["spec"]["externalID"]
        if plan is not None
        else (status.get("inProgressProperties") or {}).get("clusterServicePlanExternalID")
    )
    if cls is None or broker is None:
        _poll_later(
            work,
            "ErrorPollingLastOperation",
            "Error polling last operation: the class or broker of this instance cannot be found",
        )
        return
    if _operation_too_old(work):
        status["asyncOpInProgress"] = False
        if deleting_op:
            _deprovision_failed(
                work,
                "DeprovisionCallFailed",
                "The asynchronous deprovision did not finish in time",
                bool(status.get("orphanMitigationInProgress")),
            )
        else:
            _retry_timeout(work)
        return
    try:
        client = work.controller.client_for(broker)
        answer = client.last_operation(
            work.spec["externalID"],
            operation=status.get("lastOperation"),
            service_id=cls["spec"]["externalID"],
            plan_id=plan_id,
            identity=identity_of(work.spec),
        )
    except AuthError as exc:
        _poll_later(work, "ErrorPollingLastOperation", f"Error polling last operation: {exc}")
        return
    except Gone as exc:
        if deleting_op:
            _deprovisioned(work)
        else:
            _poll_later(work, "ErrorPollingLastOperation", f"Error polling last operation: {exc}")
        return
    except BadRequest as exc:
        _poll_terminal(work, operation, deleting_op, f"Error polling last operation: {exc}")
        return
    except OSBClientError as exc:
        _poll_later(work, "ErrorPollingLastOperation", f"Error polling last operation: {exc}")
        return
    if answer.state == "succeeded":
        status["asyncOpInProgress"] = False
        if deleting_op:
            _deprovisioned(work)
        elif operation == "Update":
            _updated(work)
        else:
            _provisioned(work)
    elif answer.state == "failed":
        _async_failed(
            work, operation, deleting_op, answer.description or "(no description provided)"
        )
    else:
        if answer.description and answer.state == "in progress":
            reason, message = ASYNC[operation]
            work.condition("Ready", "False", reason, f"{message} ({answer.description})", "Normal")
        polls = int(work.schedule.get("polls", 0)) + 1
        work.schedule["polls"] = polls
        work.due_in(work.controller.settings.poll_delay(polls, answer.retry_after))
        work.save()


def _operation_too_old(work: Work) -> bool:
    started = epoch_of(work.status.get("operationStartTime"))
    return started > 0 and work.now - started > work.controller.settings.retry_duration


def _poll_later(work: Work, reason: str, message: str) -> None:
    work.condition("Ready", "False", reason, message, "Warning")
    polls = int(work.schedule.get("polls", 0)) + 1
    work.schedule["polls"] = polls
    work.due_in(work.controller.settings.poll_delay(polls, None))
    work.save()


def _poll_terminal(work: Work, operation: str, deleting_op: bool, message: str) -> None:
    status = work.status
    status["asyncOpInProgress"] = False
    if deleting_op:
        _deprovision_failed(
            work, "DeprovisionCallFailed", message, bool(status.get("orphanMitigationInProgress"))
        )
        return
    work.condition("Ready", "False", "ErrorPollingLastOperation", message, "Warning")
    work.condition("Failed", "True", "ErrorPollingLastOperation", message)
    if operation == "Provision":
        _start_orphan_mitigation(work, "ErrorPollingLastOperation", message)
        return
    _clear_operation(work)
    work.settle()
    work.save()


def _async_failed(work: Work, operation: str, deleting_op: bool, description: str) -> None:
    status = work.status
    status["asyncOpInProgress"] = False
    status.pop("lastOperation", None)
    if deleting_op:
        _deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Deprovision call failed: {description}",
            bool(status.get("orphanMitigationInProgress")),
        )
        return
    if operation == "Update":
        message = f"Update call failed: {description}"
        work.condition("Ready", "False", "UpdateInstanceCallFailed", message, "Warning")
        work.condition("Failed", "True", "UpdateInstanceCallFailed", message)
        _clear_operation(work)
        work.settle()
        work.save()
        return
    message = f"Provision call failed: {description}"
    work.condition("Ready", "False", "ProvisionCallFailed", message, "Warning")
    work.condition("Failed", "True", "ProvisionCallFailed", message)
    # Failed=True stays: after orphan mitigation the instance is not provisioned again.
    if work.controller.settings.orphan_mitigation:
        _start_orphan_mitigation(work, "ProvisionCallFailed", message)
    else:
        _clear_operation(work)
        work.settle()
        work.save()
