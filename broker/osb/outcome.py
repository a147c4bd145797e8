"""What a protocol rule is told about a request and what it answers.

:class:`RequestInfo` carries the facts of the HTTP request the rules need besides
its body; :class:`Outcome` is the answer, whose ``kind`` the web layer maps to a
status (``created`` 201, ``identical`` 200, ``accepted`` 202, ``done`` 200).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from broker.osb.errors import AsyncRequired
from broker.osb.versions import NEWEST, Version
from broker.storage.records import InstanceRecord

__all__ = ["Outcome", "OutcomeKind", "RequestInfo", "provision_body", "still_running"]

OutcomeKind = Literal["created", "identical", "accepted", "done"]


@dataclass(frozen=True)
class RequestInfo:
    """Facts about the HTTP request the protocol rules need (not the body)."""

    accepts_incomplete: bool = False
    originating_identity: dict[str, Any] | None = None
    # Set by a fault rule: how an operation that goes async must end.
    async_result: str | None = None
    fault: str | None = None
    # The OSB version the broker answers as (broker.osb.versions).
    version: Version = NEWEST


@dataclass(frozen=True)
class Outcome:
    """What happened; the web layer maps ``kind`` to 201/200/202/200."""

    kind: OutcomeKind
    body: dict[str, Any] = field(default_factory=dict)
    retry_after: int | None = None


def still_running(info: RequestInfo, body: dict[str, Any], what: str) -> Outcome:
    """The answer to a repeat of a request whose asynchronous operation still runs.

    OSB: 202 with the same operation, but a 202 only ever goes to a caller that
    sent ``accepts_incomplete=true``; any other caller learns it must poll.
    """
    if not info.accepts_incomplete:
        raise AsyncRequired(
            f"{what} is still in progress asynchronously: "
            "repeat the request with accepts_incomplete=true, or poll last_operation"
        )
    return Outcome("accepted", body)


def provision_body(instance: InstanceRecord) -> dict[str, Any]:
    """The body of a provision answer: dashboard URL and metadata, when there are any."""
    body: dict[str, Any] = {}
    if instance.dashboard_url is not None:
        body["dashboard_url"] = instance.dashboard_url
    if instance.metadata:
        body["metadata"] = instance.metadata
    return body
