"""The kinds ``mockbroker ctl`` knows: API group, scope, plural and the names users type.

Service Catalog's CRDs declare no short names; svcat and common kubectl habit use
``si``, ``sb``, ``csb``, ``csc`` and ``csp``, which ``ctl`` accepts with the singular,
the plural and the ``<plural>.servicecatalog.k8s.io`` forms.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CATALOG_GROUP",
    "FINALIZER",
    "KINDS",
    "Kind",
    "ObjectKey",
    "UnknownKind",
    "kind_named",
    "key_of",
]

CATALOG_GROUP = "servicecatalog.k8s.io"
CATALOG_VERSION = f"{CATALOG_GROUP}/v1beta1"
# The finalizer Service Catalog puts on every broker, instance and binding.
FINALIZER = "kubernetes-incubator/service-catalog"


@dataclass(frozen=True)
class Kind:
    name: str
    api_version: str
    plural: str
    namespaced: bool
    aliases: tuple[str, ...] = ()
    finalized: bool = False
    # Created by the controller from broker catalogs, never by apply.
    controller_owned: bool = False

    @property
    def resource(self) -> str:
        """``serviceinstance.servicecatalog.k8s.io`` or ``secret``: how kubectl names it."""
        group = self.api_version.rpartition("/")[0]
        return f"{self.name.lower()}.{group}" if group else self.name.lower()

    def names(self) -> tuple[str, ...]:
        return (self.name.lower(), self.plural, *self.aliases)


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "v1", "namespaces", False, ("ns",)),
    Kind("Secret", "v1", "secrets", True),
    Kind("Pod", "v1", "pods", True, ("po",)),
    Kind(
        "ClusterServiceBroker",
        CATALOG_VERSION,
        "clusterservicebrokers",
        False,
        ("csb", "brokers", "broker"),
        True,
    ),
    Kind(
        "ClusterServiceClass",
        CATALOG_VERSION,
        "clusterserviceclasses",
        False,
        ("csc", "classes", "class"),
        controller_owned=True,
    ),
    Kind(
        "ClusterServicePlan",
        CATALOG_VERSION,
        "clusterserviceplans",
        False,
        ("csp", "plans", "plan"),
        controller_owned=True,
    ),
    Kind(
        "ServiceInstance",
        CATALOG_VERSION,
        "serviceinstances",
        True,
        ("si", "instances", "instance"),
        True,
    ),
    Kind(
        "ServiceBinding",
        CATALOG_VERSION,
        "servicebindings",
        True,
        ("sb", "bindings", "binding"),
        True,
    ),
)


class UnknownKind(ValueError):
    pass


def kind_named(text: str) -> Kind:
    """The kind a user means by ``serviceinstances``, ``ServiceInstance``, ``instance`` …"""
    lowered = text.lower()
    for kind in KINDS:
        if (
            lowered in kind.names()
            or lowered == kind.resource
            or lowered == f"{kind.plural}.{CATALOG_GROUP}"
        ):
            return kind
    known = ", ".join(kind.plural for kind in KINDS)
    raise UnknownKind(f'the server doesn\'t have a resource type "{text}" (known: {known})')


@dataclass(frozen=True, order=True)
class ObjectKey:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> ObjectKey:
        parts = text.split("/")
        if len(parts) == 3:
            return cls(parts[0], parts[1], parts[2])
        return cls(parts[0], "", parts[1])

    @property
    def display(self) -> str:
        """``serviceinstance/cloud-apps/cloud-queue-instance`` for progress lines."""
        return f"{self.kind.lower()}/{self.namespace + '/' if self.namespace else ''}{self.name}"


def key_of(obj: dict[str, object]) -> ObjectKey:
    metadata = obj.get("metadata")
    assert isinstance(metadata, dict)
    return ObjectKey(str(obj["kind"]), str(metadata.get("namespace") or ""), str(metadata["name"]))
