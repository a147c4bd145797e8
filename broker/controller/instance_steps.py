"""What every ServiceInstance operation shares: resolving the class, plan and broker,
building the request, recording the operation, and retrying with backoff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.client import (
    BrokerError,
    OriginatingIdentity,
    OSBClient,
    OSBClientError,
    UnexpectedResponse,
)
from broker.controller.conditions import rfc3339
from broker.controller.engine import AuthError
from broker.controller.go_json import go_json
from broker.controller.kinds import ObjectKey
from broker.controller.names import label_value
from broker.controller.parameters import ParameterError, build_parameters
from broker.controller.references import (
    CLASS_STYLES,
    broker_of,
    class_of,
    describe_entry,
    plan_of,
)
from broker.controller.work import Work

__all__ = [
    "ASYNC",
    "Refs",
    "already_processed",
    "begin_operation",
    "broker_client",
    "clear_operation",
    "context_of",
    "go_async",
    "http_detail",
    "identity_of",
    "in_progress_properties",
    "namespace_uid",
    "references_deleted",
    "resolve",
    "retry_later",
    "retry_timeout",
    "start_generation",
    "status_text",
]

ASYNC = {
    "Provision": ("Provisioning", "The instance is being provisioned asynchronously"),
    "Update": ("UpdatingInstance", "The instance is being updated asynchronously"),
    "Deprovision": ("Deprovisioning", "The instance is being deprovisioned asynchronously"),
}


@dataclass(frozen=True)
class Refs:
    cls: dict[str, Any]
    plan: dict[str, Any]
    broker: dict[str, Any]

    @property
    def class_description(self) -> str:
        return describe_entry(self.cls)

    @property
    def broker_name(self) -> str:
        return str(self.broker["metadata"]["name"])


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


def already_processed(work: Work) -> bool:
    status = work.status
    return (
        int(status.get("observedGeneration", 0)) >= work.generation
        and (work.is_true("Ready") or work.is_true("Failed"))
        and not status.get("orphanMitigationInProgress")
    )


def start_generation(work: Work) -> None:
    if work.status.get("observedGeneration") != work.generation:
        work.drop_condition("Failed")
    work.status["observedGeneration"] = work.generation


def retry_later(
    work: Work, reason: str, message: str, operation: str = "provision", *, bounded: bool = True
) -> None:
    """A failure tried again after a backoff; ``bounded`` ones end with the retry window."""
    work.condition("Ready", "False", reason, message, "Warning")
    delay = work.failed_once()
    if bounded and work.retries_exhausted():
        retry_timeout(work)
        return
    work.backoff_event(operation, delay)
    work.save()


def retry_timeout(work: Work) -> None:
    """The retry window has passed: a terminal Failed=True, the operation abandoned."""
    work.retry_timeout_condition()
    if work.status.get("currentOperation") == "Deprovision":
        work.status["deprovisionStatus"] = "Failed"
    clear_operation(work)
    work.settle()
    work.save()


def resolve(work: Work) -> Refs | None:
    """Find (and record) the class, plan and broker; sets Ready=False and answers None if not."""
    state = work.state
    spec = work.spec
    class_field, plan_field, attribute = next(style for style in CLASS_STYLES if style[0] in spec)
    class_ref = (spec.get("clusterServiceClassRef") or {}).get("name")
    if class_ref:
        cls = class_of(state, spec)
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
        retry_later(
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
        plan = plan_of(state, spec)
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
        retry_later(
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
    broker = broker_of(state, cls)
    if broker is None:
        retry_later(
            work,
            "ReferencesNonexistentBroker",
            "The instance references a non-existent broker "
            f'"{cls["spec"].get("clusterServiceBrokerName")}"',
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


def references_deleted(work: Work, refs: Refs, operation: str = "provision") -> bool:
    """Retry later (and answer True) if the class or plan has left the broker's catalog."""
    for entry in (refs.cls, refs.plan):
        if entry.get("status", {}).get("removedFromBrokerCatalog"):
            reason = (
                "ReferencesDeletedServiceClass"
                if entry is refs.cls
                else "ReferencesDeletedServicePlan"
            )
            message = f"{describe_entry(entry)} has been deleted; cannot provision."
            retry_later(work, reason, message, operation)
            return True
    return False


def broker_client(work: Work, refs: Refs) -> OSBClient | None:
    try:
        return work.controller.client_for(refs.broker)
    except AuthError as exc:
        retry_later(
            work,
            "ErrorGettingAuthCredentials",
            f"Error getting broker auth credentials: {exc}",
            bounded=False,
        )
        return None


def in_progress_properties(work: Work, refs: Refs) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(inProgressProperties, parameters to send), or None after setting ErrorWithParameters."""
    try:
        parameters = build_parameters(work.state, work.namespace, work.spec)
    except ParameterError as exc:
        raw = go_json(work.spec.get("parameters") or {})
        retry_later(
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


def context_of(work: Work) -> dict[str, Any]:
    return {
        "platform": "kubernetes",
        "namespace": work.namespace,
        "clusterid": work.state.cluster_id,
        "instance_name": work.name,
    }


def namespace_uid(work: Work) -> str | None:
    found = work.state.get(ObjectKey("Namespace", "", work.namespace))
    return str(found["metadata"]["uid"]) if found is not None else None


def clear_operation(work: Work) -> None:
    for name in ("currentOperation", "operationStartTime", "inProgressProperties", "lastOperation"):
        work.status.pop(name, None)
    work.status["asyncOpInProgress"] = False


def begin_operation(
    work: Work, operation: str, properties: dict[str, Any], reason: str, message: str
) -> None:
    status = work.status
    if status.get("currentOperation") != operation:
        status["currentOperation"] = operation
        status["operationStartTime"] = rfc3339(work.now)
    status["inProgressProperties"] = properties
    work.condition("Ready", "False", reason, message)
    work.save()


def go_async(work: Work, operation: str | None, retry_after: float | None) -> None:
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


def http_detail(refs: Refs, verb: str, error: OSBClientError) -> str:
    return (
        f"Error {verb} ServiceInstance of {refs.class_description} at ClusterServiceBroker "
        f'"{refs.broker_name}": {status_text(error)}'
    )


def status_text(error: OSBClientError) -> str:
    if isinstance(error, BrokerError):
        return f"{error.summary()}; ResponseError: <nil>"
    if isinstance(error, UnexpectedResponse):
        return (
            f"Status: {error.status}; ErrorMessage: <nil>; Description: {error}; "
            "ResponseError: <nil>"
        )
    return str(error)
