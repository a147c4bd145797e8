"""The objects ``ctl`` keeps and how they enter the store, as the API server would take them.

Kinds and names, conditions, the manifests read from files and their validation,
the admission defaults and denials, the store itself (one JSON document under a
file lock) and the Secrets written as secret-volume folders.
"""

from broker.controller.objects.admission import Denied
from broker.controller.objects.changes import Applied, ApplyError, apply_manifests, delete_objects
from broker.controller.objects.kinds import (
    FINALIZER,
    KINDS,
    Kind,
    ObjectKey,
    UnknownKind,
    kind_named,
)
from broker.controller.objects.manifests import Manifest, ManifestReadError, read_manifests
from broker.controller.objects.names import k8s_name, label_value
from broker.controller.objects.secret_volumes import SecretVolumes, write_folder
from broker.controller.objects.store import ReconcilerBusy, State, Store

__all__ = [
    "FINALIZER",
    "KINDS",
    "Applied",
    "ApplyError",
    "Denied",
    "Kind",
    "Manifest",
    "ManifestReadError",
    "ObjectKey",
    "ReconcilerBusy",
    "SecretVolumes",
    "State",
    "Store",
    "UnknownKind",
    "apply_manifests",
    "delete_objects",
    "k8s_name",
    "kind_named",
    "label_value",
    "read_manifests",
    "write_folder",
]
