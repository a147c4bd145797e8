"""``ctl describe``: kubectl's layout for custom resources, Secrets and Pods, plus Events."""

from __future__ import annotations

import base64
import re
from typing import Any

from broker.controller.ctl.tables import age
from broker.controller.objects.secret_volumes import SecretVolumes

__all__ = ["describe", "title"]

WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")
TOP = ("name", "namespace", "labels", "annotations")
INITIALISMS = {"uid": "UID", "url": "URL", "id": "ID"}


def title(key: str) -> str:
    """``clusterServiceClassExternalName`` → ``Cluster Service Class External Name``.

    ``externalID`` → ``External ID``, ``uid`` → ``UID``.
    """
    words = WORD.findall(key)
    if not words:
        return key
    return " ".join(INITIALISMS.get(word.lower(), word[0].upper() + word[1:]) for word in words)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def _mapping(out: list[str], data: dict[str, Any], indent: int) -> None:
    keys = sorted(data)
    scalars = [key for key in keys if not isinstance(data[key], (dict, list)) or not data[key]]
    width = max((len(title(key)) for key in scalars), default=0) + 3
    for key in keys:
        value = data[key]
        label = f"{' ' * indent}{title(key)}:"
        if isinstance(value, dict) and value:
            out.append(label)
            _mapping(out, value, indent + 2)
        elif isinstance(value, list) and value:
            out.append(label)
            for item in value:
                if isinstance(item, dict):
                    _mapping(out, item, indent + 2)
                else:
                    out.append(f"{' ' * (indent + 2)}{_scalar(item)}")
        else:
            shown = "" if isinstance(value, (dict, list)) else _scalar(value)
            out.append(f"{label.ljust(indent + width)}{shown}".rstrip())


def _header(obj: dict[str, Any], namespaced: bool) -> list[str]:
    metadata = obj["metadata"]
    lines = [f"{'Name:':<14}{metadata['name']}"]
    if namespaced:
        lines.append(f"{'Namespace:':<14}{metadata.get('namespace', '')}")
    for field in ("labels", "annotations"):
        entries = metadata.get(field) or {}
        label = f"{field.capitalize()}:"
        if not entries:
            lines.append(f"{label:<14}<none>")
        for index, (key, value) in enumerate(sorted(entries.items())):
            lines.append(f"{label if index == 0 else '':<14}{key}={value}")
    return lines


def _events(events: list[dict[str, Any]], now: float) -> list[str]:
    if not events:
        return ["Events:  <none>"]
    rows = [
        ["Type", "Reason", "Age", "From", "Message"],
        ["----", "------", "----", "----", "-------"],
    ]
    for event in events:
        count = int(event.get("count", 1))
        when = age(event.get("lastTimestamp"), now)
        if count > 1:
            when = f"{when} (x{count} over {age(event.get('firstTimestamp'), now)})"
        rows.append(
            [event["type"], event["reason"], when, event.get("source", ""), event["message"]]
        )
    widths = [max(len(row[index]) for row in rows) for index in range(4)]
    lines = ["Events:"]
    for row in rows:
        lines.append(
            "  "
            + "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
        )
    return lines


def describe(
    obj: dict[str, Any],
    *,
    namespaced: bool,
    events: list[dict[str, Any]],
    now: float,
    volumes: SecretVolumes,
) -> str:
    kind = obj["kind"]
    lines = _header(obj, namespaced)
    if kind == "Secret":
        lines += _secret(obj, volumes)
    elif kind == "Pod":
        lines += _pod(obj, volumes)
    else:
        lines.append(f"{'API Version:':<14}{obj['apiVersion']}")
        lines.append(f"{'Kind:':<14}{kind}")
        body: list[str] = []
        rest = {key: value for key, value in obj["metadata"].items() if key not in TOP}
        _mapping(
            body,
            {"metadata": rest, **{key: obj[key] for key in ("spec", "status") if obj.get(key)}},
            0,
        )
        lines += body
    lines += _events(events, now)
    return "\n".join(lines)


def _secret(obj: dict[str, Any], volumes: SecretVolumes) -> list[str]:
    metadata = obj["metadata"]
    lines = [""]
    owners = [ref for ref in metadata.get("ownerReferences") or [] if ref.get("controller")]
    if owners:
        lines.append(f"{'Controlled By:':<14}{owners[0]['kind']}/{owners[0]['name']}")
    lines += [f"Type:  {obj.get('type', 'Opaque')}", "", "Data", "===="]
    for key, value in sorted((obj.get("data") or {}).items()):
        lines.append(f"{key}:  {len(base64.b64decode(value))} bytes")
    lines += ["", f"Folder:  {volumes.folder(metadata['namespace'], metadata['name']).resolve()}"]
    return lines


def _pod(obj: dict[str, Any], volumes: SecretVolumes) -> list[str]:
    namespace = obj["metadata"]["namespace"]
    lines = ["Status:       Stored (mockbroker ctl runs no containers)", "Containers:"]
    mounts: dict[str, list[str]] = {}
    for container in obj["spec"].get("containers") or []:
        lines.append(f"  {container.get('name', '')}:")
        lines.append(f"    Image:  {container.get('image', '')}")
        for mount in container.get("volumeMounts") or []:
            mounts.setdefault(mount.get("name", ""), []).append(mount.get("mountPath", ""))
            lines.append(f"    Mounts: {mount.get('mountPath', '')} from {mount.get('name', '')}")
        for variable in container.get("env") or []:
            lines.append(f"    Environment: {variable.get('name', '')}={variable.get('value', '')}")
    lines.append("Volumes:")
    for volume in obj["spec"].get("volumes") or []:
        secret = volume.get("secret") if isinstance(volume, dict) else None
        if not isinstance(secret, dict):
            lines.append(f"  {volume.get('name', '')}: (not a Secret volume)")
            continue
        name = secret.get("secretName", "")
        folder = volumes.folder(namespace, name).resolve()
        present = volumes.read(namespace, name) is not None
        lines.append(f"  {volume.get('name', '')}:")
        lines.append("    Type:        Secret (a volume populated by a Secret)")
        lines.append(f"    SecretName:  {name}")
        lines.append(
            f"    Host folder: {folder} ({'present' if present else 'waiting for the Secret'})"
        )
        for path in mounts.get(volume.get("name", ""), []):
            lines.append(f"    Mount with:  -v {folder}:{path}:ro")
    return lines
