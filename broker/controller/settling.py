"""Which objects are still changing, and which of them no wait will settle: what
``ctl reconcile --wait`` waits for, and when it stops waiting early.

An object is settled when Service Catalog would leave it alone: Ready or Failed for
its generation with nothing in flight, or gone. An unsettled object is *stuck* when
only a change by the user can move it on, although Service Catalog goes on retrying:

- a ServiceInstance whose class or plan is in no Ready broker's catalog (a typo), or
  whose parameters cannot be built;
- a ClusterServiceBroker whose catalog fetch failed twice in a row (the first try and
  the retry a second later: the broker is down, refuses the credentials, or answers
  garbage) or whose catalog cannot be synced;
- a ServiceBinding to an instance that does not exist, with broken parameters, or
  whose Secret cannot be written (a Secret of that name it does not own, a credential
  key a Secret cannot hold).

An object waiting on a stuck one (an instance on its broker, a binding on its
instance, a deletion on bindings), or a binding to an instance that failed, is
*blocked*. When everything unsettled is stuck or
blocked, waiting is pointless and ``--wait`` says why at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from broker.controller.objects.conditions import condition, is_true
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.references import CLASS_STYLES
from broker.controller.objects.store import State

__all__ = ["Unsettled", "hopeless", "unsettled"]

UNRESOLVED = {
    "ReferencesNonexistentServiceClass",
    "ReferencesNonexistentServicePlan",
    "ReferencesNonexistentBroker",
}
BINDING_STUCK = {
    "ReferencesNonexistentInstance": "the instance does not exist",
    "ErrorInjectingBindResult": "the credentials cannot be written into the Secret",
}
# Failed catalog fetches in a row after which a broker counts as down.
BROKER_FAILURES = 2


@dataclass(frozen=True)
class Unsettled:
    kind: str
    name: str  # namespace/name, or name
    state: str  # the printer's status: lastConditionState
    message: str  # the Ready condition's message, if any
    stuck: str | None = None  # why waiting will not help
    blocked_by: str | None = None  # the stuck object it waits for

    def __str__(self) -> str:
        text = f"{self.kind} {self.name}: {self.state}"
        if self.message:
            text += f": {self.message}"
        if self.stuck and self.stuck != self.message:
            text += f" ({self.stuck})"
        if self.blocked_by:
            text += f" (waits for {self.blocked_by})"
        return text


def unsettled(state: State, baseline: dict[str, int] | None = None) -> list[Unsettled]:
    """Every object still changing, with whether it is stuck or blocked.

    ``baseline`` holds each object's failure count when the wait began: only failures
    since then make a broker count as down.
    """
    found: dict[tuple[str, str], Unsettled] = {}
    for kind in ("ClusterServiceBroker", "ServiceInstance", "ServiceBinding"):
        for obj in state.list(kind):
            status = obj.get("status") or {}
            reason = _unsettled_reason(kind, obj)
            if reason is None:
                continue
            ready = condition(status, "Ready") or {}
            entry = Unsettled(
                kind,
                _name(obj),
                reason,
                str(ready.get("message") or ""),
                _stuck(state, kind, obj, baseline or {}),
            )
            found[(kind, entry.name)] = entry
    _block(state, found)
    return list(found.values())


def hopeless(waiting: list[Unsettled]) -> bool:
    """Nothing unsettled can move on without the user: each is stuck, or waits for
    something stuck or failed."""
    return bool(waiting) and all(entry.stuck or entry.blocked_by for entry in waiting)


def _name(obj: dict[str, Any]) -> str:
    metadata = obj["metadata"]
    return "/".join(filter(None, [metadata.get("namespace"), metadata["name"]]))


def _unsettled_reason(kind: str, obj: dict[str, Any]) -> str | None:
    status = obj.get("status") or {}
    if status.get("deprovisionStatus") == "Failed" or status.get("unbindStatus") == "Failed":
        return None  # stuck for good: Service Catalog does nothing more with it
    if obj["metadata"].get("deletionTimestamp"):
        return "being deleted"
    ready, failed = is_true(status, "Ready"), is_true(status, "Failed")
    generation = int(obj["metadata"].get("generation", 1))
    if kind == "ClusterServiceBroker":
        done = (ready or failed) and status.get("reconciledGeneration") == generation
    elif kind == "ServiceInstance":
        done = (
            (ready or failed)
            and status.get("observedGeneration") == generation
            and not status.get("currentOperation")
            and not status.get("orphanMitigationInProgress")
        )
    else:
        done = (
            (ready or failed)
            and status.get("reconciledGeneration") == generation
            and not status.get("orphanMitigationInProgress")
        )
    if done:
        return None
    return str(status.get("lastConditionState") or "not processed yet")


def _reason(obj: dict[str, Any]) -> str:
    found = condition(obj.get("status") or {}, "Ready")
    return str(found.get("reason")) if found and found.get("status") != "True" else ""


def _stuck(state: State, kind: str, obj: dict[str, Any], baseline: dict[str, int]) -> str | None:
    if obj["metadata"].get("deletionTimestamp"):
        return None
    reason = _reason(obj)
    if kind == "ClusterServiceBroker":
        key = _key(obj)
        failures = int(state.peek_schedule(key).get("failures", 0)) - baseline.get(str(key), 0)
        if reason == "ErrorSyncingCatalog" or (
            reason == "ErrorFetchingCatalog" and failures >= BROKER_FAILURES
        ):
            return "the broker's catalog cannot be fetched"
        return None
    if reason == "ErrorWithParameters":
        return "the parameters cannot be built"
    if kind == "ServiceBinding":
        return BINDING_STUCK.get(reason)
    if reason in UNRESOLVED and all(
        is_true(broker.get("status") or {}, "Ready")
        for broker in state.list("ClusterServiceBroker")
    ):
        return _not_in_catalog(state, obj["spec"])
    return None


def _not_in_catalog(state: State, spec: dict[str, Any]) -> str:
    """Why an instance's class or plan is in no catalog, with the closest names there are."""
    class_field, plan_field, attribute = next(
        (style for style in CLASS_STYLES if style[0] in spec), CLASS_STYLES[0]
    )
    classes = state.list("ClusterServiceClass")

    def named(entry: dict[str, Any]) -> str:
        return str(entry["metadata"]["name"] if attribute is None else entry["spec"][attribute])

    wanted = str(spec.get(class_field, ""))
    matches = [entry for entry in classes if named(entry) == wanted]
    if len(matches) != 1:
        return f"no broker's catalog has this class{_did_you_mean(wanted, map(named, classes))}"
    plans = [
        plan
        for plan in state.list("ClusterServicePlan")
        if plan["spec"]["clusterServiceClassRef"]["name"] == matches[0]["metadata"]["name"]
    ]
    wanted = str(spec.get(plan_field, ""))
    return f"the class has no such plan{_did_you_mean(wanted, map(named, plans))}"


def _did_you_mean(wanted: str, names: Any) -> str:
    close = difflib.get_close_matches(wanted, sorted(set(names)), n=3, cutoff=0.75)
    return f"; did you mean {' or '.join(repr(name) for name in close)}?" if close else ""


def _key(obj: dict[str, Any]) -> ObjectKey:
    metadata = obj["metadata"]
    return ObjectKey(str(obj["kind"]), str(metadata.get("namespace") or ""), metadata["name"])


def _block(state: State, found: dict[tuple[str, str], Unsettled]) -> None:
    """Mark what waits on a stuck (or blocked, or failed) object as blocked by it."""

    def holding(kind: str, name: str) -> str | None:
        entry = found.get((kind, name))
        if entry is not None and (entry.stuck or entry.blocked_by):
            return f"{kind} {name}"
        return None

    stuck_brokers = [
        name
        for (kind, name), entry in found.items()
        if kind == "ClusterServiceBroker" and entry.stuck
    ]
    for kind in ("ServiceInstance", "ServiceBinding", "ServiceInstance"):
        for obj in state.list(kind):
            key = (kind, _name(obj))
            entry = found.get(key)
            if entry is None or entry.stuck or entry.blocked_by:
                continue
            blocker = _blocker(state, kind, obj, stuck_brokers, holding)
            if blocker is not None:
                found[key] = Unsettled(
                    entry.kind, entry.name, entry.state, entry.message, None, blocker
                )


def _blocker(
    state: State, kind: str, obj: dict[str, Any], stuck_brokers: list[str], holding: Any
) -> str | None:
    spec, namespace = obj["spec"], obj["metadata"].get("namespace", "")
    if kind == "ServiceInstance":
        if obj["metadata"].get("deletionTimestamp"):
            for binding in state.list("ServiceBinding", namespace):
                if binding["spec"]["instanceRef"]["name"] == obj["metadata"]["name"]:
                    found: str | None = holding("ServiceBinding", _name(binding))
                    if found:
                        return found
            return None
        ref = (spec.get("clusterServiceClassRef") or {}).get("name")
        cls = state.get(ObjectKey("ClusterServiceClass", "", ref)) if ref else None
        broker = cls["spec"].get("clusterServiceBrokerName") if cls else None
        if broker in stuck_brokers or (broker is None and stuck_brokers):
            return f"ClusterServiceBroker {broker or stuck_brokers[0]}"
        return None
    instance_name = f"{namespace}/{spec['instanceRef']['name']}"
    instance = state.get(ObjectKey("ServiceInstance", namespace, spec["instanceRef"]["name"]))
    if instance is not None and is_true(instance.get("status") or {}, "Failed"):
        return f"ServiceInstance {instance_name}, which failed"
    result: str | None = holding("ServiceInstance", instance_name)
    return result
