"""The steps every ``/v2`` request passes around its view, as plain functions.

The OSB blueprint registers them as its hooks (:mod:`broker.web.osb_api`), and the
catalog's fast path (:mod:`broker.web.fast_path`) calls the very same functions in
the same order, so both answer alike. Request checks run in the order the spec's
checklist gives: credentials (401, checked by :mod:`broker.web.access` before any of
these), ``X-Broker-API-Version`` (412, or 400 when so configured), an endpoint the
answered version does not define (404, as a broker of that version has no such
route), originating identity (400); then the steps other parts added
(:class:`~broker.web.runtime.OsbSteps`).
"""

from __future__ import annotations

from typing import Any

from flask import Request, Response

from broker.osb.headers import check_api_version, parse_originating_identity
from broker.osb.versions import check_endpoint_defined, effective_version
from broker.web.journal import record
from broker.web.request_context import refuse_nul
from broker.web.request_state import RequestState
from broker.web.runtime import Runtime

__all__ = ["answered", "check_request", "name_request"]


def name_request(state: RequestState, endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Name the operation and its ids for the journal, logs and metrics."""
    state.operation = (endpoint or "").rpartition(".")[2] or None
    state.instance_id = values.get("instance_id") if values else None
    state.binding_id = values.get("binding_id") if values else None


def check_request(rt: Runtime, req: Request, state: RequestState) -> None:
    """The ``/v2`` request checks, after the credentials; then the added ``before`` steps."""
    rt.sync()
    environ = req.environ
    announced = check_api_version(
        environ.get("HTTP_X_BROKER_API_VERSION"), rt.settings.missing_version_status
    )
    state.osb_version = effective_version(announced, rt.settings.osb_version)
    check_endpoint_defined(state.operation, state.osb_version)
    identity = parse_originating_identity(environ.get("HTTP_X_BROKER_API_ORIGINATING_IDENTITY"))
    state.originating_identity = identity.to_dict() if identity else None
    refuse_nul(environ)
    for step in rt.osb_steps.before:
        step(req, state)


def answered(rt: Runtime, req: Request, state: RequestState, response: Response) -> None:
    """The metrics first (the answer is known), then the journal entry, then the added
    ``after`` steps (which may name the journal entry)."""
    rt.metrics.count(state, response)
    record(rt, req, state, response)
    for step in rt.osb_steps.after:
        step(req, state, response)
