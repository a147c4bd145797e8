"""What the web layer learns about one request while answering it, in one typed object.

The hooks of :mod:`broker.web.request_context` fill it in (timing, request id,
credentials passed), the OSB blueprint names the operation and its ids, a fault
rule that fires notes itself; the journal, the log line and the metrics read it
when the answer is known. It lives in the request's WSGI environ, so it is found
with one dict lookup and is gone with the request.

Not to be confused with the OSB ``context`` field of a request body, nor with
:class:`broker.osb.parts.BrokerParts`.
"""

from __future__ import annotations

from contextvars import Token
from dataclasses import dataclass, field
from typing import Any

from flask import Request, request

from broker.osb.versions import NEWEST, Version

__all__ = ["NOT_PARSED", "RequestState", "current", "state_of"]

ENVIRON_KEY = "mockbroker.request_state"
NOT_PARSED: Any = object()


@dataclass(slots=True)
class RequestState:
    # Set before credentials are checked.
    started: float | None = None
    request_id: str | None = None
    request_id_token: Token[str] | None = None
    # Set once the credentials passed.
    authenticated: bool = False
    # The OSB operation (the endpoint's name, or "admin") and the ids in its path.
    operation: str | None = None
    instance_id: str | None = None
    binding_id: str | None = None
    originating_identity: dict[str, Any] | None = None
    # The body parsed as JSON once (NOT_PARSED until then), and why it could not be.
    parsed_body: Any = NOT_PARSED
    body_problem: str | None = None
    # Size of a chunked body that was over the limit (it is not kept).
    oversized_body: int | None = None
    # The fault rule that fired, how an async operation it starts must end, and
    # whether it dropped the connection (no status reached the client).
    fault: str | None = None
    async_result: str | None = None
    dropped: bool = False
    # The OSB version the request is answered as (the announced one, or the pinned one).
    osb_version: Version = NEWEST
    # The journal entry's id, once the request is recorded: findings name it.
    journal_id: int | None = None
    # Platform checks (broker.platform_checks): whether they run for this request, what
    # they saw before it changed the state, and what the protocol code reported.
    platform_checks_on: bool = False
    platform_before: list[Any] = field(default_factory=list)
    platform_findings: list[Any] = field(default_factory=list)


def state_of(req: Request) -> RequestState:
    """The state of ``req``, made on first use."""
    environ = req.environ
    state: RequestState | None = environ.get(ENVIRON_KEY)
    if state is None:
        state = environ[ENVIRON_KEY] = RequestState()
    return state


def current() -> tuple[Request, RequestState]:
    """The current request itself (not its context proxy) and its state.

    Resolving Flask's ``request`` proxy costs about a microsecond per access: code
    that reads the request many times resolves it once, here.
    """
    proxy: Any = request
    req: Request = proxy._get_current_object()
    return req, state_of(req)
