"""Choosing the fault (if any) for a request, with counters shared by every process.

Rules come from two places: the catalog (``mockbroker.faults`` of a plan or
service; the service/plan match is implied) and ``POST /admin/faults``. Both are
kept in the store, so one counter per rule serves every worker and replica.
Catalog rules are copied into the store once per catalog version; a reset puts
them back.

For each request, every matching rule counts the call, and the first rule (in
creation order) whose trigger fires becomes the request's fault.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from broker.catalog.model import Catalog
from broker.faults.rules import FaultRule
from broker.storage.protocols import FaultStore

__all__ = ["ABOUT_NO_SERVICE", "FaultEngine", "Fired", "RequestTarget"]

# Operations that are about no service or plan: a rule naming one never matches them.
ABOUT_NO_SERVICE = frozenset({"catalog"})


@dataclass
class RequestTarget:
    """What a request is about, for matching; service/plan resolved only if needed."""

    operation: str
    instance_id: str | None = None
    binding_id: str | None = None
    service_id: str | None = None
    plan_id: str | None = None
    # Looks up (service_id, plan_id) of the stored resource when the request has none.
    lookup: Callable[[], tuple[str | None, str | None]] | None = None

    def ids(self) -> tuple[str | None, str | None]:
        if (self.service_id is None or self.plan_id is None) and self.lookup is not None:
            stored_service, stored_plan = self.lookup()
            self.service_id = self.service_id or stored_service
            self.plan_id = self.plan_id or stored_plan
            self.lookup = None
        return self.service_id, self.plan_id


@dataclass(frozen=True)
class Fired:
    """The rule that fired for a request, and which of its matching calls this was."""

    rule: FaultRule
    call: int


def catalog_rules(catalog: Catalog) -> list[dict[str, Any]]:
    """The catalog's fault rules with their implied match and a stable id."""
    rules = []
    for service in catalog.services:
        for plan in service.plans:
            for index, rule in enumerate(plan.knobs.faults):
                digest = hashlib.sha256(
                    json.dumps([plan.id, index, rule], sort_keys=True, default=str).encode()
                ).hexdigest()[:12]
                match = {**rule.get("match", {}), "service": service.id, "plan": plan.id}
                rules.append(
                    {**rule, "id": f"catalog-{digest}", "match": match, "origin": "catalog"}
                )
    return rules


class FaultEngine:
    def __init__(self, store: FaultStore) -> None:
        self.store = store
        self._mutex = threading.Lock()
        self._generation: int | None = None
        self._rules: list[FaultRule] = []
        self._seeded: tuple[str, list[dict[str, Any]]] | None = None
        # concern()'s answers per operation, and the rules they are about.
        self._concerned: tuple[list[FaultRule], dict[str, bool]] = (self._rules, {})

    def refresh(self, generation: int) -> None:
        if generation != self._generation:
            with self._mutex:
                if generation != self._generation:
                    self._rules = [FaultRule.from_dict(rule) for rule in self.store.fault_list()]
                    self._generation = generation

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def concern(self, operation: str) -> bool:
        """Whether any rule may apply to ``operation``: if none may, :meth:`choose`
        passes every rule by and changes nothing, for any request of that operation."""
        rules, answers = self._concerned
        if rules is not self._rules:  # refreshed since: answers for the new rules
            rules, answers = self._concerned = (self._rules, {})
        found = answers.get(operation)
        if found is None:
            found = answers[operation] = any(_considered(rule, operation) for rule in rules)
        return found

    def seed(self, catalog: Catalog) -> None:
        """Copy the catalog's rules into the store unless this catalog version already did."""
        seeded = self._seeded
        if seeded is None or seeded[0] != catalog.etag:
            # Every reset seeds again: the rules of one catalog version are made once.
            seeded = self._seeded = (catalog.etag, catalog_rules(catalog))
        self.store.fault_seed(seeded[1], marker=catalog.etag)

    def choose(
        self,
        target: RequestTarget,
        names: Callable[
            [str | None, str | None], tuple[tuple[str, str] | None, tuple[str, str] | None]
        ],
    ) -> Fired | None:
        """Count the call on every matching rule; return the first that fires."""
        chosen: Fired | None = None
        resolved = None
        for rule in self._rules:
            if not _considered(rule, target.operation):
                continue
            service = plan = None
            if rule.match.names_service_or_plan:
                if resolved is None:
                    resolved = names(*target.ids())
                service, plan = resolved
            if not rule.matches(
                service=service,
                plan=plan,
                instance_id=target.instance_id,
                binding_id=target.binding_id,
            ):
                continue
            calls = self.store.fault_hit(rule.id)
            if chosen is None and calls and rule.fires_on(calls):
                chosen = Fired(rule, calls)
        if chosen is not None:
            self.store.fault_fired(chosen.rule.id)
        return chosen


def _considered(rule: FaultRule, operation: str) -> bool:
    """The cheap tests first: most rules are about other operations, and a rule naming
    a service or plan never matches a request that names none (nothing to resolve)."""
    if not rule.concerns(operation):
        return False
    return not (rule.match.names_service_or_plan and operation in ABOUT_NO_SERVICE)
