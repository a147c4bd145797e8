"""``ctl get`` tables: the printer columns of each kind, in kubectl's layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broker.controller.objects.conditions import epoch_of
from broker.controller.objects.kinds import Kind
from broker.controller.objects.references import CLASS_FIELDS, PLAN_FIELDS
from broker.controller.objects.secret_volumes import SecretVolumes

__all__ = ["age", "render_table"]

Column = tuple[str, Callable[[dict[str, Any]], str]]


def age(stamp: object, now: float) -> str:
    """kubectl's short age: 45s, 3m12s, 17m, 5h, 2d."""
    seconds = int(max(0.0, now - epoch_of(stamp))) if epoch_of(stamp) else 0
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _status(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("lastConditionState") or "")


def _spec(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda obj: _text((obj.get("spec") or {}).get(name))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _instance_class(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    if status.get("userSpecifiedClassName"):
        return str(status["userSpecifiedClassName"])
    spec = obj["spec"]
    for field in CLASS_FIELDS:
        if field in spec:
            return f"ClusterServiceClass/{spec[field]}"
    return ""


def _instance_plan(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    if status.get("userSpecifiedPlanName"):
        return str(status["userSpecifiedPlanName"])
    spec = obj["spec"]
    for field in PLAN_FIELDS:
        if field in spec:
            return str(spec[field])
    return ""


def _columns(kind: Kind, volumes: SecretVolumes) -> tuple[list[Column], list[Column]]:
    """(normal columns after NAME, extra columns of -o wide)."""
    if kind.name == "Namespace":
        return [("STATUS", lambda obj: _text((obj.get("status") or {}).get("phase", "Active")))], []
    if kind.name == "Secret":
        return [
            ("TYPE", lambda obj: _text(obj.get("type"))),
            ("DATA", lambda obj: str(len(obj.get("data") or {}))),
        ], [
            (
                "FOLDER",
                lambda obj: str(
                    volumes.folder(obj["metadata"]["namespace"], obj["metadata"]["name"])
                ),
            )
        ]
    if kind.name == "Pod":
        return [
            ("STATUS", lambda obj: "Stored"),
            ("SECRET-VOLUMES", lambda obj: _pod_volumes(obj, volumes)),
        ], []
    if kind.name == "ClusterServiceBroker":
        return [("URL", _spec("url")), ("STATUS", _status)], [("RELIST", _spec("relistBehavior"))]
    if kind.name == "ClusterServiceClass":
        return [
            ("EXTERNAL-NAME", _spec("externalName")),
            ("BROKER", _spec("clusterServiceBrokerName")),
        ], [
            ("EXTERNAL-ID", _spec("externalID")),
            ("BINDABLE", _spec("bindable")),
            ("DESCRIPTION", _spec("description")),
        ]
    if kind.name == "ClusterServicePlan":
        return [
            ("EXTERNAL-NAME", _spec("externalName")),
            ("BROKER", _spec("clusterServiceBrokerName")),
            ("CLASS", lambda obj: _text(obj["spec"]["clusterServiceClassRef"]["name"])),
        ], [
            ("EXTERNAL-ID", _spec("externalID")),
            ("FREE", _spec("free")),
            ("DESCRIPTION", _spec("description")),
        ]
    if kind.name == "ServiceInstance":
        return [("CLASS", _instance_class), ("PLAN", _instance_plan), ("STATUS", _status)], [
            ("EXTERNAL-ID", _spec("externalID")),
            ("DASHBOARD", lambda obj: _text((obj.get("status") or {}).get("dashboardURL"))),
        ]
    return [
        ("SERVICE-INSTANCE", lambda obj: _text(obj["spec"]["instanceRef"]["name"])),
        ("SECRET-NAME", _spec("secretName")),
        ("STATUS", _status),
    ], [("EXTERNAL-ID", _spec("externalID"))]


def _pod_volumes(pod: dict[str, Any], volumes: SecretVolumes) -> str:
    names = [
        volume["secret"].get("secretName", "")
        for volume in pod["spec"].get("volumes") or []
        if isinstance(volume, dict) and isinstance(volume.get("secret"), dict)
    ]
    ready = [name for name in names if volumes.read(pod["metadata"]["namespace"], name) is not None]
    return f"{len(ready)}/{len(names)}"


def render_table(
    kind: Kind,
    objects: list[dict[str, Any]],
    *,
    wide: bool,
    all_namespaces: bool,
    now: float,
    volumes: SecretVolumes,
) -> str:
    normal, extra = _columns(kind, volumes)
    columns: list[Column] = [("NAME", lambda obj: str(obj["metadata"]["name"]))]
    if all_namespaces and kind.namespaced:
        columns.insert(0, ("NAMESPACE", lambda obj: str(obj["metadata"]["namespace"])))
    columns += normal + [("AGE", lambda obj: age(obj["metadata"].get("creationTimestamp"), now))]
    if wide:
        columns += extra
    rows = [[title for title, _ in columns]] + [
        [cell(obj) for _, cell in columns] for obj in objects
    ]
    widths = [max(len(row[index]) for row in rows) for index in range(len(columns))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
