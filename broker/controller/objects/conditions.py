"""Status conditions as Service Catalog keeps them, and the short status it prints.

Conditions stay in the order in which each type was first set; setting one again
replaces it in place and keeps ``lastTransitionTime`` unless its status changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "condition",
    "epoch_of",
    "drop_condition",
    "go_time",
    "is_true",
    "last_condition_state",
    "rfc3339",
    "set_condition",
]


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_time(epoch: float) -> str:
    """A moment as Go's ``time.Time`` prints it: ``2024-05-01 10:00:00.25 +0000 UTC``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"
    )


def epoch_of(stamp: object) -> float:
    """Seconds since the epoch of an RFC 3339 stamp written by :func:`rfc3339` (0 if none)."""
    if not isinstance(stamp, str):
        return 0.0
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for found in status.get("conditions") or []:
        if found.get("type") == kind:
            return dict(found)
    return None


def is_true(status: dict[str, Any], kind: str) -> bool:
    found = condition(status, kind)
    return found is not None and found.get("status") == "True"


def set_condition(
    status: dict[str, Any], kind: str, value: str, reason: str, message: str, now: float
) -> None:
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    new = {
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": rfc3339(now),
    }
    for index, found in enumerate(conditions):
        if found.get("type") == kind:
            if found.get("status") == value:
                new["lastTransitionTime"] = found.get(
                    "lastTransitionTime", new["lastTransitionTime"]
                )
            conditions[index] = new
            break
    else:
        conditions.append(new)
    status["lastConditionState"] = last_condition_state(status)


def drop_condition(status: dict[str, Any], kind: str) -> None:
    status["conditions"] = [
        found for found in status.get("conditions") or [] if found.get("type") != kind
    ]
    status["lastConditionState"] = last_condition_state(status)


def last_condition_state(status: dict[str, Any]) -> str:
    """The printer's short status: the last condition's type if True, else its reason."""
    conditions = status.get("conditions") or []
    if not conditions:
        return ""
    last = conditions[-1]
    return str(last.get("type") if last.get("status") == "True" else last.get("reason", ""))
