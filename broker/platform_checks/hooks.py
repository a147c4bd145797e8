"""Where the checks meet the request path, and the API other code records findings with.

Two hooks, both added to the application by :func:`register_platform_checks`:

* after the ``/v2`` request checks (credentials, version header, originating
  identity), the few checks that need the state as it is *before* the request
  changes it;
* after the answer is known and journaled (so the finding can name the journal
  id), everything else.

Neither changes an answer: a check that fails is logged and the request goes on.

Code that handles a request and sees a rule broken that the checks cannot see
calls :func:`record_finding`::

    from broker.platform_checks import record_finding
    record_finding("operation-echo", instance_id=instance_id)

It is kept with the request and stored, under the request's journal id, when the
answer is recorded; the same rule for the same resource counts once per request.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, has_request_context, request

from broker.platform_checks.checker import WITH_CONTEXT, Checker, Exchange, Sighting
from broker.platform_checks.rules import RULES, announced_version
from broker.platform_checks.service import EXTENSION, PlatformChecks, platform_checks
from broker.platform_checks.stores import findings_store_for
from broker.web.request_state import RequestState, current, state_of
from broker.web.runtime import Runtime

__all__ = ["RequestFindings", "record_finding", "register_platform_checks"]

log = logging.getLogger("broker.platform_checks")

BEFORE = frozenset({"deprovision", "update", "bind"})


def record_finding(
    rule_id: str,
    *,
    instance_id: str | None = None,
    binding_id: str | None = None,
    summary: str | None = None,
) -> None:
    """Record that the current request broke ``rule_id`` (see the module's docstring).

    Outside a request, or with the checks off, nothing happens. A rule the request's
    announced version does not have is not recorded. Raises KeyError for an unknown id.
    """
    found = RULES[rule_id]
    if not has_request_context():
        return
    state = state_of(request)
    if not state.platform_checks_on:
        return
    header = request.environ.get("HTTP_X_BROKER_API_VERSION")
    if rule_id != "version-header" and not found.applies_to(announced_version(header)):
        return
    state.platform_findings.append(Sighting(rule_id, instance_id, binding_id, summary=summary))


class RequestFindings:
    """A recorder for protocol code that has no Flask (it is handed one, and calls
    ``record``): each finding goes to :func:`record_finding` for the current request."""

    def record(
        self,
        rule: str,
        *,
        instance_id: str | None,
        binding_id: str | None = None,
        summary: str,
    ) -> None:
        record_finding(rule, instance_id=instance_id, binding_id=binding_id, summary=summary)


def register_platform_checks(app: Flask, rt: Runtime) -> None:
    """Build the application's checks and, unless switched off, hook them in."""
    from broker.platform_checks.admin_api import findings_api
    from broker.platform_checks.dashboard import register_dashboard
    from broker.platform_checks.metrics import FindingsCollector

    findings = findings_store_for(rt.store)
    clock = rt.broker.parts.clock
    checker = Checker(
        rt.store, findings, rt.catalogs.resolve, float(rt.settings.orphan_mitigation_window)
    )
    checks = PlatformChecks(checker, findings, rt.settings.platform_checks, clock)
    app.extensions[EXTENSION] = checks
    rt.on_reset.append(checks.clear)
    app.register_blueprint(findings_api)
    register_dashboard(app)
    if rt.metrics is not None:
        rt.metrics.collectors.append(FindingsCollector(checks))
    if not checks.enabled:
        return
    # After the osb blueprint's own request checks: added to its list of hooks.
    app.before_request_funcs.setdefault("osb", []).append(_before)
    app.after_request(_after)


def _request_body(req: Any, state: RequestState) -> dict[str, Any] | None:
    """The JSON object the request carried, decoded once for the view and the checks."""
    from broker.web.osb_api import parsed_body

    if req.method not in ("PUT", "PATCH"):
        return None
    limit, length = req.max_content_length, req.content_length
    if length is None or (limit is not None and length > limit):
        return None
    body = parsed_body(req, state)
    return body if isinstance(body, dict) else None


def _before() -> None:
    req, state = current()
    state.platform_checks_on = True
    operation = state.operation
    if operation not in BEFORE:
        return
    try:
        checks = platform_checks()
        version = announced_version(req.environ.get("HTTP_X_BROKER_API_VERSION"))
        body = _request_body(req, state) if operation != "deprovision" else None
        state.platform_before = checks.checker.before(
            operation,
            version,
            state.instance_id,
            state.binding_id,
            req.args,
            body,
            checks.clock(),
        )
    except Exception:  # the answer matters more than its grade
        log.warning("platform check failed before the request", exc_info=True)


def _after(response: Response) -> Response:
    req, state = current()
    if not state.authenticated or req.blueprint != "osb" or state.operation is None:
        return response
    try:
        _check(req, state, response)
    except Exception:  # the answer matters more than its grade
        log.warning("platform check failed after the request", exc_info=True)
    return response


def _check(req: Any, state: RequestState, response: Response) -> None:
    checks = platform_checks()
    operation = state.operation
    if (
        operation == "catalog"
        and state.originating_identity is None
        and RULES["version-header"].applies_to(
            announced_version(req.environ.get("HTTP_X_BROKER_API_VERSION"))
        )
    ):
        # The catalog's only rules are those of its headers: with a usable version and
        # no identity there is nothing to check.
        checks.settle()
        return
    dropped = state.dropped
    status = None if dropped else response.status_code
    body = None
    if operation in WITH_CONTEXT and status != 413:
        body = _request_body(req, state)
    identity = state.originating_identity
    exchange = Exchange(
        operation=operation,
        method=req.method,
        instance_id=state.instance_id,
        binding_id=state.binding_id,
        version_header=req.environ.get("HTTP_X_BROKER_API_VERSION"),
        query=req.args,
        body=body,
        identity_platform=identity.get("platform") if isinstance(identity, dict) else None,
        identity_value=identity.get("value") if isinstance(identity, dict) else None,
        status=status,
        response_body=b"" if dropped or response.is_streamed else response.get_data(),
        retry_after=response.headers.get("Retry-After"),
        fault=state.fault,
        request_id=state.journal_id,
        time=checks.clock(),
    )
    sightings = [
        *state.platform_before,
        *checks.checker.after(exchange),
        *state.platform_findings,
    ]
    if sightings:
        checks.record(sightings, exchange.request_id, exchange.time)
    checks.settle()
