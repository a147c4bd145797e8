"""Asynchronous operations: what a 202 started, and the polls that follow it.

A 202 leaves a watch ``poll:<resource>`` (the operation the broker returned, when
polling may resume, when the operation began and its plan's maximum polling
duration). Each poll is checked against it; a final answer marks it done, so a
poll after that is one too many.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.platform_checks.deleted_ids import remember_deleted
from broker.platform_checks.exchange import (
    POLL_TOLERANCE,
    Exchange,
    Sighting,
    Sources,
    resource_key,
    retry_seconds,
)
from broker.platform_checks.rules import rules_for

__all__ = ["operation_started", "poll"]

DELETING = ("deprovision", "unbind")


def _key(exchange: Exchange) -> str:
    return "poll:" + resource_key(exchange.instance_id, exchange.binding_id)


def operation_started(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """A 202: remember the operation, for the polls that follow."""
    if exchange.status != 202:
        return
    answer = exchange.response_json()
    operation = answer.get("operation") if isinstance(answer, dict) else None
    key = _key(exchange)
    known = sources.findings.watch_get(key)
    started = exchange.time
    if (
        known is not None
        and known.get("operation") == operation
        and known.get("type") == exchange.operation
    ):
        started = float(known["started"])  # a re-sent request: the same operation
    retry = retry_seconds(exchange.retry_after)
    sources.findings.watch_put(
        key,
        {
            "operation": operation if isinstance(operation, str) else None,
            "type": exchange.operation,
            "started": started,
            "not_before": exchange.time + retry if retry is not None else None,
            "maximum": _maximum_polling(sources, exchange),
        },
    )


def _maximum_polling(sources: Sources, exchange: Exchange) -> int | None:
    plan_id = (exchange.body or {}).get("plan_id") or exchange.query.get("plan_id")
    if not isinstance(plan_id, str) and exchange.instance_id is not None:
        record = sources.store.get_instance(exchange.instance_id)
        plan_id = record.plan_id if record is not None else None
    resolved = sources.lookup(plan_id) if isinstance(plan_id, str) else None
    return resolved[1].maximum_polling_duration if resolved else None


def _past_maximum(
    known: Mapping[str, Any], now: float, found: list[Sighting], ids: tuple[str | None, str | None]
) -> None:
    maximum = known.get("maximum")
    started = float(known["started"])
    if maximum is not None and now > started + float(maximum) + POLL_TOLERANCE:
        found.append(
            Sighting(
                "polling-past-maximum-duration",
                *ids,
                summary=f"polled {now - started:.0f}s after the operation began; "
                f"maximum_polling_duration is {maximum}s",
            )
        )


def poll(sources: Sources, exchange: Exchange, found: list[Sighting]) -> None:
    """Check a poll against the operation it polls (``exchange.polled`` names its type)."""
    key = _key(exchange)
    known = sources.findings.watch_get(key)
    if known is None:
        return
    rules = rules_for(exchange.version)
    ids = exchange.ids
    now = exchange.time
    if known.get("done") is not None:
        if "poll-after-final" in rules:
            found.append(
                Sighting(
                    "poll-after-final",
                    *ids,
                    summary=f"polled again after the broker answered {known['done']!r} for "
                    f"the {known.get('type')} operation",
                )
            )
        if "polling-past-maximum-duration" in rules:
            _past_maximum(known, now, found, ids)
        return
    expected = known.get("operation")
    sent = exchange.query.get("operation")
    if expected is not None and sent != expected and "operation-echo" in rules:
        said = f"operation={sent!r}" if sent is not None else "no operation"
        found.append(
            Sighting(
                "operation-echo",
                *ids,
                summary=f"polled with {said}; the broker had returned operation={expected!r}",
            )
        )
    not_before = known.get("not_before")
    if (
        not_before is not None
        and now < float(not_before) - POLL_TOLERANCE
        and "poll-too-soon" in rules
    ):
        found.append(
            Sighting(
                "poll-too-soon",
                *ids,
                summary=f"polled {float(not_before) - now:.1f}s before Retry-After had passed",
            )
        )
    if "polling-past-maximum-duration" in rules:
        _past_maximum(known, now, found, ids)
    _follow(sources, exchange, key, known)
    exchange.polled = known.get("type")


def _follow(sources: Sources, exchange: Exchange, key: str, known: Mapping[str, Any]) -> None:
    """Keep the watch up to date with what this poll was answered."""
    answer = exchange.response_json()
    state = answer.get("state") if isinstance(answer, dict) else None
    now = exchange.time
    if exchange.status == 410 or (exchange.status == 200 and state in ("succeeded", "failed")):
        # Kept, marked done: a poll after this one is checked against it.
        sources.findings.watch_put(key, {**known, "done": state or "gone", "done_at": now})
        if known.get("type") in DELETING and state != "failed":
            remember_deleted(sources, exchange)
    elif exchange.status == 200 and state == "in progress":
        retry = retry_seconds(exchange.retry_after)
        not_before = now + retry if retry is not None else None
        if not_before != known.get("not_before"):
            sources.findings.watch_put(key, {**known, "not_before": not_before})
