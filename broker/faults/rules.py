"""A fault rule, typed: which requests it is about, when it fires, what it does.

Rules are checked by :mod:`broker.faults.schemas` when they are written and kept
in the store as plain objects; :meth:`FaultRule.from_dict` turns a stored one into
the typed form the engine and the web layer read.

A rule that names a service or plan (every catalog-declared rule does) never
matches ``GET /v2/catalog``, which is about no service or plan.

Triggers (counted per rule over the calls it matches, across every process):
absent = always; ``times: N`` = the first N calls; ``nth: N`` = only the Nth call;
``after: N`` = every call after the Nth; ``probability: p`` with ``seed: s`` =
each call fires with probability p, reproducibly for the same seed and call number.

Actions combine: ``delay_ms``; ``hang`` (no answer until the client gives up);
``drop_connection`` (close without an answer); ``status`` with ``error``,
``description``, ``instance_usable``, ``update_repeatable`` (an OSB error, or any
other status, e.g. a 204); ``body``: ``"malformed"``, ``"empty"`` or an object;
``content_type`` (``""`` sends none); ``async_result``: ``"failed"`` or ``"never"``
for an operation that goes async. ``phase: "after"`` lets the broker act first and
then replaces its answer ("provision, then answer 500": the instance exists, which
is how orphan mitigation is tested); the default ``"before"`` answers before the
broker does anything, leaving no state behind.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Action", "FaultRule", "Match", "Trigger"]


@dataclass(frozen=True)
class Match:
    """Which requests a rule is about; ``None`` matches anything."""

    operations: frozenset[str] | None = None
    service: str | None = None  # an id or a name
    plan: str | None = None  # an id or a name
    instance_id: str | None = None
    binding_id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Match:
        operations = data.get("operation")
        if isinstance(operations, str):
            operations = [operations]
        return cls(
            operations=frozenset(operations) if operations is not None else None,
            service=data.get("service"),
            plan=data.get("plan"),
            instance_id=data.get("instance_id"),
            binding_id=data.get("binding_id"),
        )

    @property
    def names_service_or_plan(self) -> bool:
        return self.service is not None or self.plan is not None


@dataclass(frozen=True)
class Trigger:
    """When a matching call fires the rule; all ``None``: every time."""

    times: int | None = None
    nth: int | None = None
    after: int | None = None
    probability: float | None = None
    seed: Any = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trigger:
        def number(key: str) -> int | None:
            value = data.get(key)
            return int(value) if value is not None else None

        probability = data.get("probability")
        return cls(
            times=number("times"),
            nth=number("nth"),
            after=number("after"),
            probability=float(probability) if probability is not None else None,
            seed=data.get("seed"),
        )

    def fires_on(self, call: int, rule_id: str) -> bool:
        """Whether the ``call``-th matching call (1-based) fires."""
        if self.times is not None:
            return call <= self.times
        if self.nth is not None:
            return call == self.nth
        if self.after is not None:
            return call > self.after
        if self.probability is not None:
            seed = self.seed if self.seed is not None else rule_id
            return random.Random(f"{seed}:{call}").random() < self.probability
        return True


@dataclass(frozen=True)
class Action:
    """What a fired rule does; ``None`` (``False``) leaves that part of the answer alone."""

    status: int | None = None
    error: str | None = None
    description: str | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    delay_ms: int | None = None
    # "malformed", "empty", or a JSON object or list sent as the body.
    body: Any = None
    # "" sends no Content-Type at all.
    content_type: str | None = None
    drop_connection: bool = False
    hang: bool = False
    async_result: str | None = None
    phase: str = "before"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        status = data.get("status")
        delay = data.get("delay_ms")
        return cls(
            status=int(status) if status is not None else None,
            error=data.get("error"),
            description=data.get("description"),
            instance_usable=data.get("instance_usable"),
            update_repeatable=data.get("update_repeatable"),
            delay_ms=int(delay) if delay is not None else None,
            body=data.get("body"),
            content_type=data.get("content_type"),
            drop_connection=bool(data.get("drop_connection")),
            hang=bool(data.get("hang")),
            async_result=data.get("async_result"),
            phase=str(data.get("phase", "before")),
        )

    def error_fields(self) -> dict[str, Any]:
        """The OSB error fields the action sets, for the body of its answer."""
        fields = {
            "error": self.error,
            "description": self.description,
            "instance_usable": self.instance_usable,
            "update_repeatable": self.update_repeatable,
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class FaultRule:
    id: str
    match: Match = field(default_factory=Match)
    trigger: Trigger = field(default_factory=Trigger)
    action: Action = field(default_factory=Action)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        """The typed form of a rule as stored (checked by :mod:`broker.faults.schemas`)."""
        return cls(
            id=str(data["id"]),
            match=Match.from_dict(data.get("match") or {}),
            trigger=Trigger.from_dict(data.get("trigger") or {}),
            action=Action.from_dict(data["action"]),
        )

    @property
    def phase(self) -> str:
        return self.action.phase

    def concerns(self, operation: str) -> bool:
        """Whether the rule is about ``operation`` at all: the cheap first test."""
        operations = self.match.operations
        return operations is None or operation in operations

    def matches(
        self,
        *,
        service: tuple[str, str] | None,
        plan: tuple[str, str] | None,
        instance_id: str | None,
        binding_id: str | None,
    ) -> bool:
        """Whether a rule that :meth:`concerns` the operation applies to this request.

        ``service``/``plan`` are ``(id, name)`` pairs.
        """
        match = self.match
        if match.service is not None and (service is None or match.service not in service):
            return False
        if match.plan is not None and (plan is None or match.plan not in plan):
            return False
        if match.instance_id is not None and match.instance_id != instance_id:
            return False
        if match.binding_id is not None and match.binding_id != binding_id:
            return False
        return True

    def fires_on(self, call: int) -> bool:
        """Whether the ``call``-th matching call (1-based) triggers the action."""
        return self.trigger.fires_on(call, self.id)
