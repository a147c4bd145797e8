"""Applying and deleting objects in the store: what ``ctl apply`` and ``ctl delete`` do.

Both check everything first and change the store in one write: an invalid or
refused document means nothing is applied.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from broker.controller.objects.admission import Denied, admit, delete_object
from broker.controller.objects.kinds import Kind, ObjectKey
from broker.controller.objects.manifests import Manifest
from broker.controller.objects.secret_volumes import SecretVolumes
from broker.controller.objects.store import Store
from broker.controller.objects.validation import ManifestProblem, validate_manifest

__all__ = ["Applied", "ApplyError", "apply_manifests", "delete_objects"]


class ApplyError(ValueError):
    """Nothing was applied; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Applied:
    kind: Kind
    name: str
    action: str
    note: str | None

    def __str__(self) -> str:
        return f"{self.kind.resource}/{self.name} {self.action}"


def apply_manifests(
    store: Store,
    volumes: SecretVolumes,
    manifests: list[Manifest],
    user: dict[str, Any],
    now: float | None = None,
) -> list[Applied]:
    checked: list[tuple[Kind, dict[str, Any]]] = []
    problems: list[str] = []
    for manifest in manifests:
        try:
            checked.append(validate_manifest(manifest.document))
        except ManifestProblem as exc:
            problems.extend(f"{manifest.where}: {problem}" for problem in exc.problems)
    if problems:
        raise ApplyError(problems)
    if not checked:
        raise ApplyError(["no objects passed to apply"])
    moment = time.time() if now is None else now
    applied: list[Applied] = []
    try:
        with store.write() as state:
            for kind, obj in checked:
                outcome = admit(state, kind, obj, user, moment)
                if outcome.action != "unchanged":
                    namespace = obj["metadata"].get("namespace", "")
                    state.schedule(ObjectKey(kind.name, namespace, obj["metadata"]["name"])).pop(
                        "due", None
                    )
                applied.append(Applied(kind, obj["metadata"]["name"], outcome.action, outcome.note))
            volumes.sync(state, set(state.touched_secrets))
    except Denied as exc:
        raise ApplyError([str(exc)]) from None
    return applied


def delete_objects(
    store: Store,
    volumes: SecretVolumes,
    kind: Kind,
    keys: list[ObjectKey],
    *,
    abandon: bool = False,
    now: float | None = None,
) -> None:
    """Delete (or mark for deletion) every key; on LookupError or Denied nothing changes."""
    moment = time.time() if now is None else now
    with store.write() as state:
        for key in keys:
            delete_object(state, kind, key, moment, abandon=abandon)
        volumes.sync(state, set(state.touched_secrets))
