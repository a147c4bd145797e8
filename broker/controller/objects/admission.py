"""Create, update and delete objects the way the API server and Service Catalog's
webhooks would: defaults, immutable fields, denials, generations, finalizers.

Everything here runs inside one store write, so an ``apply`` of many documents is
all or nothing.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.kinds import FINALIZER, Kind, ObjectKey, key_of
from broker.controller.objects.references import CLASS_FIELDS, PLAN_FIELDS, PLAN_FOR_CLASS
from broker.controller.objects.store import State

__all__ = ["Denied", "Outcome", "admit", "collect_garbage", "delete_object"]


class Denied(ValueError):
    """The request is refused, with the message the real admission would give."""


@dataclass(frozen=True)
class Outcome:
    action: str  # created | configured | unchanged
    obj: dict[str, Any]
    note: str | None = None


def admit(
    state: State, kind: Kind, given: dict[str, Any], user: dict[str, Any], now: float
) -> Outcome:
    """Create or update ``given`` (a validated manifest) in ``state``."""
    key = key_of(given)
    if kind.namespaced:
        ensure_namespace(state, key.namespace, now)
    current = state.get(key)
    if current is None:
        return _create(state, kind, given, user, now)
    return _update(state, kind, current, given, user)


def ensure_namespace(state: State, name: str, now: float) -> dict[str, Any]:
    """Namespaces exist as soon as something is put into them (and carry a UID)."""
    key = ObjectKey("Namespace", "", name)
    found = state.get(key)
    if found is None:
        return state.put(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": _new_metadata({"name": name}, now),
                "status": {"phase": "Active"},
            }
        )
    return found


def _new_metadata(metadata: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        **metadata,
        "uid": str(uuid.uuid4()),
        "creationTimestamp": rfc3339(now),
        "generation": 1,
    }


def _create(
    state: State, kind: Kind, given: dict[str, Any], user: dict[str, Any], now: float
) -> Outcome:
    obj = copy.deepcopy(given)
    obj["metadata"] = _new_metadata(obj["metadata"], now)
    if kind.finalized:
        obj["metadata"]["finalizers"] = [FINALIZER]
    note = None
    if kind.name == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif kind.name == "ClusterServiceBroker":
        obj["spec"].setdefault("relistBehavior", "Duration")
        obj["spec"].setdefault("relistRequests", 0)
        obj["status"] = {}
    elif kind.name == "ServiceInstance":
        spec = obj["spec"]
        spec.pop("clusterServiceClassRef", None)
        spec.pop("clusterServicePlanRef", None)
        spec.setdefault("externalID", str(uuid.uuid4()))
        spec.setdefault("updateRequests", 0)
        spec["userInfo"] = user
        _default_plan(state, spec)
        obj["status"] = {}
    elif kind.name == "ServiceBinding":
        spec = obj["spec"]
        spec.setdefault("externalID", str(uuid.uuid4()))
        spec.setdefault("secretName", obj["metadata"]["name"])
        spec["userInfo"] = user
        _deny_binding_to_deleted_instance(state, obj)
        obj["status"] = {}
    elif kind.name == "Pod":
        note = (
            "stored, not run: mockbroker ctl runs no containers "
            "(see `ctl describe pod` for its volumes)"
        )
    return Outcome("created", state.put(obj), note)


def _update(
    state: State, kind: Kind, current: dict[str, Any], given: dict[str, Any], user: dict[str, Any]
) -> Outcome:
    name = f'{kind.name} "{key_of(current)}"'
    if current["metadata"].get("deletionTimestamp"):
        raise Denied(f"{name} is being deleted; wait until it is gone, then apply it again")
    updated = copy.deepcopy(current)
    metadata = updated["metadata"]
    for field in ("labels", "annotations"):
        if given["metadata"].get(field):
            metadata[field] = given["metadata"][field]
        else:
            metadata.pop(field, None)
    note = None
    if kind.name == "Secret":
        updated["data"], updated["type"] = given["data"], given["type"]
    elif kind.name == "Pod":
        updated["spec"] = given["spec"]
    elif kind.name == "ClusterServiceBroker":
        spec = copy.deepcopy(given["spec"])
        spec.setdefault("relistBehavior", "Duration")
        if not spec.get("relistRequests"):
            spec["relistRequests"] = current["spec"].get("relistRequests", 0)
        updated["spec"] = spec
    elif kind.name == "ServiceInstance":
        updated["spec"] = _updated_instance_spec(state, current, given["spec"], user)
    elif kind.name == "ServiceBinding":
        spec = copy.deepcopy(given["spec"])
        spec.setdefault("externalID", current["spec"]["externalID"])
        spec.setdefault("secretName", current["spec"]["secretName"])
        spec["userInfo"] = current["spec"].get("userInfo")
        if spec != current["spec"]:
            note = (
                "the spec of a ServiceBinding cannot change (as in Service Catalog): "
                "delete the binding and create it again"
            )
        updated["spec"] = current["spec"]
    if kind.name not in ("Secret", "Pod", "Namespace") and updated.get("spec") != current.get(
        "spec"
    ):
        metadata["generation"] = int(metadata.get("generation", 1)) + 1
    if updated == current:
        return Outcome("unchanged", current, note)
    return Outcome("configured", state.put(updated), note)


def _updated_instance_spec(
    state: State, current: dict[str, Any], given: dict[str, Any], user: dict[str, Any]
) -> dict[str, Any]:
    old: dict[str, Any] = current["spec"]
    spec = copy.deepcopy(given)
    spec.pop("clusterServiceClassRef", None)
    spec.pop("clusterServicePlanRef", None)
    for field in CLASS_FIELDS:
        if spec.get(field) != old.get(field):
            raise Denied(f"spec.{field}: Invalid value: {spec.get(field)!r}: field is immutable")
    if "externalID" in spec and spec["externalID"] != old.get("externalID"):
        raise Denied(f"spec.externalID: Invalid value: {spec['externalID']!r}: field is immutable")
    spec["externalID"] = old.get("externalID")
    if not any(field in spec for field in PLAN_FIELDS):
        for field in PLAN_FIELDS:
            if field in old:
                spec[field] = old[field]
    requests = spec.get("updateRequests") or 0
    if requests and requests < int(old.get("updateRequests", 0)):
        raise Denied(f"spec.updateRequests: Invalid value: {requests}: must not be decreased")
    spec["updateRequests"] = requests or int(old.get("updateRequests", 0))
    spec["userInfo"] = old.get("userInfo")
    plan_changed = any(spec.get(field) != old.get(field) for field in PLAN_FIELDS)
    if "clusterServiceClassRef" in old:
        spec["clusterServiceClassRef"] = old["clusterServiceClassRef"]
    if "clusterServicePlanRef" in old and not plan_changed:
        spec["clusterServicePlanRef"] = old["clusterServicePlanRef"]
    comparable = {key: value for key, value in spec.items() if key != "userInfo"}
    if comparable == {key: value for key, value in old.items() if key != "userInfo"}:
        return old
    if current.get("status", {}).get("currentOperation"):
        raise Denied("Another update for this service instance is in progress")
    if plan_changed:
        _check_plan_updatable(state, old)
    spec["userInfo"] = user
    return spec


def _check_plan_updatable(state: State, old: dict[str, Any]) -> None:
    ref = (old.get("clusterServiceClassRef") or {}).get("name")
    if not ref:
        return
    found = state.get(ObjectKey("ClusterServiceClass", "", ref))
    if found is not None and not found["spec"].get("planUpdatable", False):
        raise Denied(f"The Service Class {ref} does not allow plan changes.")


def _default_plan(state: State, spec: dict[str, Any]) -> None:
    """Fill the plan field when the class has exactly one plan, as the webhook does."""
    style = next(field for field in CLASS_FIELDS if field in spec)
    if PLAN_FOR_CLASS[style] in spec:
        return
    value = spec[style]
    classes = [
        found for found in state.list("ClusterServiceClass") if _class_matches(found, style, value)
    ]
    if len(classes) != 1:
        description = f'{{{style[0].upper() + style[1:]}:"{value}"}}'
        raise Denied(
            f"ClusterServiceClass {description} does not exist, can not figure out the "
            "default ClusterServicePlan."
        )
    found = classes[0]
    plans = [
        plan
        for plan in state.list("ClusterServicePlan")
        if plan["spec"]["clusterServiceClassRef"]["name"] == found["metadata"]["name"]
    ]
    if len(plans) != 1:
        raise Denied(
            f"ClusterServiceClass (K8S: {found['metadata']['name']} ExternalName: "
            f"{found['spec']['externalName']}) has more than one plan, PlanName must be specified"
        )
    plan = plans[0]
    spec[PLAN_FOR_CLASS[style]] = {
        "clusterServiceClassExternalName": plan["spec"]["externalName"],
        "clusterServiceClassExternalID": plan["spec"]["externalID"],
        "clusterServiceClassName": plan["metadata"]["name"],
    }[style]


def _class_matches(found: dict[str, Any], style: str, value: str) -> bool:
    if style == "clusterServiceClassName":
        return bool(found["metadata"]["name"] == value)
    field = "externalName" if style.endswith("ExternalName") else "externalID"
    return bool(found["spec"].get(field) == value)


def _deny_binding_to_deleted_instance(state: State, binding: dict[str, Any]) -> None:
    namespace = binding["metadata"]["namespace"]
    instance = state.get(
        ObjectKey("ServiceInstance", namespace, binding["spec"]["instanceRef"]["name"])
    )
    if instance is not None and instance["metadata"].get("deletionTimestamp"):
        raise Denied(
            f"ServiceBinding {namespace}/{binding['metadata']['name']} references a "
            f"ServiceInstance that is being deleted: {namespace}/{instance['metadata']['name']}"
        )


def delete_object(
    state: State, kind: Kind, key: ObjectKey, now: float, *, abandon: bool = False
) -> str:
    """Delete (or, with finalizers, mark for deletion); answers what happened."""
    found = state.get(key)
    if found is None:
        raise LookupError(f'{kind.resource} "{key.name}" not found')
    if kind.name == "Namespace":
        inside = [
            text
            for text in state.document["objects"]
            if ObjectKey.parse(text).namespace == key.name
        ]
        if inside:
            raise Denied(
                f'namespace "{key.name}" still holds {len(inside)} object(s); delete them first'
            )
    finalizers = found["metadata"].get("finalizers") or []
    if finalizers and not abandon:
        if not found["metadata"].get("deletionTimestamp"):
            found["metadata"]["deletionTimestamp"] = rfc3339(now)
            state.put(found)
            state.schedule(key).pop("due", None)
        return "marked"
    state.remove(key)
    collect_garbage(state)
    return "removed"


def collect_garbage(state: State) -> None:
    """Remove Secrets whose controlling ServiceBinding no longer exists (owner references)."""
    uids = {obj["metadata"]["uid"] for obj in state.list("ServiceBinding")}
    for secret in state.list("Secret"):
        owners = [
            ref for ref in secret["metadata"].get("ownerReferences") or [] if ref.get("controller")
        ]
        if owners and all(ref.get("uid") not in uids for ref in owners):
            state.remove(key_of(secret))
