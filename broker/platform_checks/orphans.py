"""Orphan mitigation: answers after which the spec asks for a DELETE, and its window.

An answer the orphan-mitigation table names opens a window (a watch ``orphan:<resource>``
due when the window closes). A DELETE of the resource closes it: in time, nothing is
found; late, a finding naming the answer's request. A window that closes with no
DELETE is collected by :func:`overdue` (whichever worker asks first, once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.platform_checks.exchange import Exchange, Sighting, Sources, resource_key

__all__ = ["CREATING", "orphan_key", "orphan_mitigation", "overdue", "settle_pending"]

CREATING = ("provision", "bind")
LAST_OPERATION = ("last_operation", "binding_last_operation")
SUBJECTS = ("provision", "deprovision", "bind", "unbind")
PREFIX = "orphan:"


def orphan_key(exchange: Exchange) -> str:
    return PREFIX + resource_key(exchange.instance_id, exchange.binding_id)


def _reason(exchange: Exchange) -> str | None:
    """Why the orphan-mitigation table asks for a DELETE after this answer, or None.

    2.15 on: the table by request. 2.13 and 2.14: one table for the requests that
    create something (provision, bind), which is what an orphan can come from.
    """
    operation, status, version = exchange.operation, exchange.status, exchange.version
    recent = version is not None and version >= (2, 15)
    if operation in LAST_OPERATION:
        if not recent or status != 200:
            return None
        answer = exchange.response_json()
        if not isinstance(answer, dict) or answer.get("state") != "failed":
            return None
        if exchange.polled in SUBJECTS:
            return f"last_operation answered failed for {exchange.polled}"
        return None
    if operation not in (SUBJECTS if recent else CREATING):
        return None
    if status is None:
        return "no answer (timeout)" if operation in CREATING else None
    if status >= 500:
        return f"answered {status}"
    if status == 408 and version == (2, 13):
        return "answered 408"
    if 200 <= status < 300 and status not in (200, 201, 202):
        return f"answered {status}"
    # Only a fault rule makes the broker's own answer malformed: decoding every
    # answer to find out would cost each create a JSON parse.
    if (
        exchange.fault is not None
        and status in (201, 202)
        and operation in CREATING
        and (recent or status == 201)
    ):
        answer = exchange.response_json()
        if not isinstance(answer, dict):
            return f"answered {status} with a malformed body"
    return None


def orphan_mitigation(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """Open a window if this answer asks for a DELETE (after a DELETE closed the last)."""
    reason = _reason(exchange)
    if reason is None:
        return
    due = exchange.time + sources.orphan_window
    sources.findings.watch_put(
        orphan_key(exchange),
        {
            "instance_id": exchange.instance_id,
            "binding_id": exchange.binding_id,
            "reason": reason,
            "operation": exchange.operation,
            "request_ids": [exchange.request_id] if exchange.request_id is not None else [],
            "due": due,
        },
        due=due,
    )


def settle_pending(
    sources: Sources, pending: Mapping[str, Any] | None, now: float, found: list[Sighting]
) -> None:
    """A DELETE took the window ``pending`` (if there was one): late is a finding."""
    if pending is None or float(pending["due"]) >= now:
        return
    late = now - float(pending["due"]) + sources.orphan_window
    found.append(
        _finding(
            pending,
            f"no DELETE followed within {sources.orphan_window:g}s "
            f"(the first came {late:.0f}s later)",
        )
    )


def _finding(pending: Mapping[str, Any], how: str) -> Sighting:
    return Sighting(
        "orphan-mitigation",
        pending.get("instance_id"),
        pending.get("binding_id"),
        request_ids=tuple(pending.get("request_ids") or ()),
        summary=f"{pending['operation']} {pending['reason']}; {how}",
    )


def overdue(sources: Sources, now: float) -> list[Sighting]:
    """Orphan mitigations whose window closed with no DELETE (each reported once)."""
    return [
        _finding(pending, f"no DELETE followed within {sources.orphan_window:g}s")
        for key, pending in sources.findings.take_due(now)
        if key.startswith(PREFIX)
    ]
