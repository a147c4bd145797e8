"""What the broker remembers: instances, bindings and asynchronous operations.

Records are plain dataclasses that round-trip through JSON (``to_dict`` /
``from_dict``), so every store keeps them the same way and ``GET /admin/state``
shows exactly what is stored.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

__all__ = [
    "BindingRecord",
    "BindingState",
    "InstanceRecord",
    "InstanceState",
    "OperationRecord",
    "OperationState",
    "Record",
]

InstanceState = Literal["provisioning", "ready", "updating", "deprovisioning", "failed"]
BindingState = Literal["binding", "ready", "unbinding", "failed"]
OperationState = Literal["in progress", "succeeded", "failed"]

R = TypeVar("R", bound="Record")


_FIELDS: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {}


def _fields(cls: type) -> tuple[tuple[str, ...], frozenset[str]]:
    # Every record written or read goes through to_json / from_dict: look the fields
    # up once (in declaration order, and as a set).
    fields = _FIELDS.get(cls)
    if fields is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        fields = _FIELDS[cls] = (names, frozenset(names))
    return fields


class Record:
    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload,no-any-return]

    def to_json(self) -> str:
        """The compact JSON of :meth:`to_dict`, what every store keeps.

        Built from the fields themselves: ``to_dict`` deep-copies every value, which
        costs several times the encoding on each write (the values are only read).
        """
        names, _ = _fields(type(self))
        return json.dumps({name: getattr(self, name) for name in names}, separators=(",", ":"))

    def stored_copy(self: R) -> R:
        """The record as a store keeps it: rebuilt from :meth:`to_json`, so it shares
        no value with this one, and a record that cannot be stored fails here."""
        return type(self)(**json.loads(self.to_json()))

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        _, names = _fields(cls)
        return cls(**{key: value for key, value in data.items() if key in names})

    def evolve(self: R, **changes: Any) -> R:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class InstanceRecord(Record):
    kind: ClassVar[str] = "instance"

    id: str
    service_id: str
    plan_id: str
    state: InstanceState
    fingerprint: str
    created_at: float
    updated_at: float
    organization_guid: str | None = None
    space_guid: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    maintenance_info: dict[str, Any] | None = None
    dashboard_url: str | None = None
    metadata: dict[str, Any] | None = None
    originating_identity: dict[str, Any] | None = None
    # What the credential backend created for this instance; None = nothing (yet).
    backend_state: dict[str, Any] | None = None
    # The operation currently running, if any.
    operation: str | None = None

    @property
    def interrupted(self) -> bool:
        """A backend call for this instance began and never recorded how it ended.

        ``backend_state`` ``{}`` on an instance still provisioning (or failed) means "the
        backend may have made something, named after the id". A live call holds the
        instance lock, so whoever reads this under the lock knows the call died with
        its process.
        """
        return self.state in ("provisioning", "failed") and self.backend_state is not None

    @property
    def abandoned(self) -> bool:
        """An interrupted synchronous provision: never acknowledged, so it counts as absent."""
        return self.interrupted and self.state == "provisioning" and self.operation is None


@dataclass(frozen=True)
class BindingRecord(Record):
    kind: ClassVar[str] = "binding"

    id: str
    instance_id: str
    service_id: str
    plan_id: str
    state: BindingState
    fingerprint: str
    created_at: float
    updated_at: float
    parameters: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    bind_resource: dict[str, Any] = field(default_factory=dict)
    app_guid: str | None = None
    predecessor_binding_id: str | None = None
    # The OSB bind response body (credentials, syslog_drain_url, metadata, ...).
    response: dict[str, Any] = field(default_factory=dict)
    expires_at: float | None = None
    originating_identity: dict[str, Any] | None = None
    backend_state: dict[str, Any] | None = None
    operation: str | None = None

    @property
    def interrupted(self) -> bool:
        """A backend call for this binding began and never recorded how it ended
        (as :attr:`InstanceRecord.interrupted`, under the binding lock)."""
        return self.state in ("binding", "failed") and self.backend_state is not None

    @property
    def abandoned(self) -> bool:
        """An interrupted synchronous bind: never acknowledged, so it counts as absent."""
        return self.interrupted and self.state == "binding" and self.operation is None


@dataclass(frozen=True)
class OperationRecord(Record):
    kind: ClassVar[str] = "operation"

    id: str
    # provision | update | deprovision | bind | unbind
    type: str
    instance_id: str
    state: OperationState
    started_at: float
    binding_id: str | None = None
    service_id: str | None = None
    plan_id: str | None = None
    description: str | None = None
    finished_at: float | None = None
    polls: int = 0
    # How it finishes: polls | seconds | manual | never, and the amount.
    finish_kind: str = "polls"
    finish_amount: float = 1
    result: str = "succeeded"
    final_description: str | None = None
    progress: str | None = None
    retry_after: int | None = None
    deadline: float | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    # What the operation will apply when it succeeds (e.g. an update's new plan).
    payload: dict[str, Any] = field(default_factory=dict)
    # The fault rule that changed how this operation ends, if any.
    fault: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != "in progress"
