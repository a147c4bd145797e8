"""Which checks a request gets: a table by operation, announced version and whether an
originating identity came, built once per combination (the first request of each).

Most requests get a few checks, a catalog request with a usable version and no
identity none at all: the table is what keeps the checks' cost to what can apply.
Every check is a function ``(sources, exchange, found)``; they run in the table's
order (a poll is checked before its answer is looked at for orphan mitigation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from broker.platform_checks import before_checks, request_checks
from broker.platform_checks.deleted_ids import deleting, id_reuse
from broker.platform_checks.exchange import Exchange, Sighting, Sources
from broker.platform_checks.orphans import CREATING, LAST_OPERATION, SUBJECTS, orphan_mitigation
from broker.platform_checks.poll_checks import DELETING, operation_started, poll
from broker.platform_checks.rules import rules_for

__all__ = ["BEFORE", "WITH_BODY", "Check", "after_checks", "before_checks_for", "usable"]

Check = Callable[[Sources, Exchange, list[Sighting]], None]

ASYNC_OPERATIONS = ("provision", "update", "deprovision", "bind", "unbind")
# The operations whose request body the checks read (context, plan, predecessor).
WITH_BODY = frozenset({"provision", "update", "bind"})
# The operations with checks of the state before the request.
BEFORE = frozenset({"deprovision", "update", "bind"})


def usable(version: tuple[int, int] | None) -> bool:
    """Whether the announced version is one the checks can grade (2.11 on)."""
    return version is not None and version[0] == 2 and version[1] >= 11


@functools.lru_cache(maxsize=256)
def before_checks_for(operation: str | None, version: tuple[int, int] | None) -> tuple[Check, ...]:
    """The checks of the state before the request, for ``operation`` at ``version``."""
    rules = rules_for(version)
    table: dict[str | None, tuple[str, Check]] = {
        "deprovision": ("deprovision-with-bindings", before_checks.deprovision_with_bindings),
        "update": ("plan-not-updateable", before_checks.plan_not_updateable),
        "bind": ("predecessor-binding", before_checks.predecessor_binding),
    }
    entry = table.get(operation)
    return (entry[1],) if entry is not None and entry[0] in rules else ()


@functools.lru_cache(maxsize=512)
def after_checks(
    operation: str | None, version: tuple[int, int] | None, identity: bool
) -> tuple[Check, ...]:
    """The checks of a request and its answer, in the order they run.

    ``identity``: whether the request carried an originating identity. A version
    the checks cannot grade has none here (its request breaks ``version-header``).
    """
    if not usable(version):
        return ()
    rules = rules_for(version)
    checks: list[Check] = []

    def add(rule: str | None, check: Check, when: bool = True) -> None:
        if when and (rule is None or rule in rules):
            checks.append(check)

    add("identity-properties", request_checks.identity_properties, identity)
    if operation in WITH_BODY:
        add("context-platform", request_checks.context_platform)
        add("identity-platform-mismatch", request_checks.context_identity, identity)
    if operation == "bind":
        add("bind-not-bindable", request_checks.bind_not_bindable)
        add("binding-not-rotatable", request_checks.binding_not_rotatable)
    add("get-not-retrievable", request_checks.fetch_instance, operation == "fetch_instance")
    if operation in DELETING:
        add("delete-without-ids", request_checks.delete_without_ids)
        add(None, deleting)  # orphan windows close and deleted ids are kept at any version
    add("id-reuse", id_reuse, operation in CREATING)
    if operation in LAST_OPERATION:
        add(None, poll)
    elif operation in ASYNC_OPERATIONS:
        add(None, operation_started)
    add("orphan-mitigation", orphan_mitigation, operation in (*LAST_OPERATION, *SUBJECTS))
    return tuple(checks)
