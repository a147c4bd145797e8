"""Where the checks meet the request path, and the API other code records findings with.

Two steps of every ``/v2`` request, both added by :func:`register_platform_checks`
(:class:`broker.web.runtime.OsbSteps`):

* after the ``/v2`` request checks (credentials, version header, originating
  identity), the few checks that need the state as it is *before* the request
  changes it, and a DELETE's announcement of the id it deletes (the store remembers
  it with the delete: :mod:`.deleted_ids`);
* after the answer is known and journaled (so the finding can name the journal
  id), everything else (and a delete the checks did not settle is taken back).

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

from broker.platform_checks.checker import Checker
from broker.platform_checks.deleted_ids import end_unsettled, expect
from broker.platform_checks.exchange import Exchange, Sighting
from broker.platform_checks.poll_checks import DELETING
from broker.platform_checks.routes import (
    BEFORE,
    WITH_BODY,
    after_checks,
    before_checks_for,
    usable,
)
from broker.platform_checks.rules import RULES, announced_version
from broker.platform_checks.service import EXTENSION, PlatformChecks
from broker.platform_checks.stores import findings_store_for
from broker.storage.deleted_ids import end_expected_delete
from broker.web.request_state import NOT_PARSED, RequestState, state_of
from broker.web.runtime import Runtime

__all__ = ["RequestFindings", "record_finding", "register_platform_checks"]

log = logging.getLogger("broker.platform_checks")


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
    settings = rt.settings
    checker = Checker(
        rt.store,
        findings,
        rt.catalogs.resolve,
        float(settings.orphan_mitigation_window),
        settings.platform_checks_remembered_ids,
    )
    checks = PlatformChecks(checker, findings, settings.platform_checks, clock)
    app.extensions[EXTENSION] = checks
    rt.on_reset.append(checks.clear)
    app.register_blueprint(findings_api)
    register_dashboard(app)
    if rt.metrics is not None:
        rt.metrics.collectors.append(FindingsCollector(checks))
    if not checks.enabled:
        return
    hooks = _Hooks(checks)
    # Steps of every /v2 request, after its own checks and after its journal entry.
    rt.osb_steps.before.append(hooks.before)
    rt.osb_steps.after.append(hooks.after)


def _request_body(req: Any, state: RequestState) -> dict[str, Any] | None:
    """The JSON object the request carried, decoded once for the view and the checks."""
    from broker.web.osb_api import parsed_body

    parsed = state.parsed_body
    if parsed is not NOT_PARSED:  # the view's, or the fault rules'
        return parsed if isinstance(parsed, dict) else None
    if req.method not in ("PUT", "PATCH"):
        return None
    limit, length = req.max_content_length, req.content_length
    if length is None or (limit is not None and length > limit):
        return None
    body = parsed_body(req, state)
    return body if isinstance(body, dict) else None


def _version(req: Any) -> tuple[int, int] | None:
    return announced_version(req.environ.get("HTTP_X_BROKER_API_VERSION"))


class _Hooks:
    """The two request hooks of one application's checks."""

    def __init__(self, checks: PlatformChecks) -> None:
        self.checks = checks

    def before(self, req: Any, state: RequestState) -> None:
        state.platform_checks_on = True
        # A delete announced by an earlier request on this thread whose after step
        # never ran (an unhandled error) must not be taken for this request's.
        end_expected_delete()
        operation = state.operation
        if operation not in BEFORE and operation not in DELETING:
            return
        try:
            version = _version(req)
            # A graded DELETE only: one at a version the checks cannot grade keeps no id.
            if operation in DELETING and usable(version):
                expect(state.instance_id, state.binding_id)
            if not before_checks_for(operation, version):
                return
            body = _request_body(req, state) if operation in WITH_BODY else None
            exchange = Exchange(
                operation=operation,
                instance_id=state.instance_id,
                binding_id=state.binding_id,
                version=version,
                body=body,
                identity_platform=None,
                status=None,
                fault=None,
                time=self.checks.clock(),
            )
            state.platform_before = self.checks.checker.before(exchange)
        except Exception:  # the answer matters more than its grade
            log.warning("platform check failed before the request", exc_info=True)

    def after(self, req: Any, state: RequestState, response: Response) -> None:
        if state.operation is None or not state.authenticated or req.blueprint != "osb":
            return
        try:
            self._check(req, state, response)
        except Exception:  # the answer matters more than its grade
            log.warning("platform check failed after the request", exc_info=True)
        finally:
            if state.operation in DELETING:
                self._end_unsettled()

    def _end_unsettled(self) -> None:
        try:
            end_unsettled(self.checks.checker.sources)
        except Exception:  # the answer matters more than its grade
            log.warning("platform check failed after the request", exc_info=True)

    def _check(self, req: Any, state: RequestState, response: Response) -> None:
        checks = self.checks
        operation = state.operation
        version = _version(req)
        identity = state.originating_identity
        platform = identity.get("platform") if isinstance(identity, dict) else None
        if (
            usable(version)
            and not after_checks(operation, version, platform is not None)
            and not state.platform_before
            and not state.platform_findings
        ):
            # Nothing can apply (a catalog request, mostly): no exchange to describe.
            checks.settle()
            return
        dropped = state.dropped
        status = None if dropped else response.status_code
        body = None
        if operation in WITH_BODY and status != 413:
            body = _request_body(req, state)
        exchange = Exchange(
            operation=operation,
            instance_id=state.instance_id,
            binding_id=state.binding_id,
            version=version,
            body=body,
            identity_platform=platform,
            identity_value=identity.get("value") if isinstance(identity, dict) else None,
            status=status,
            fault=state.fault,
            request_id=state.journal_id,
            time=checks.clock(),
            read_query=lambda: req.args,
        )
        if not dropped and not response.is_streamed:
            exchange.read_answer = response.get_data
            exchange.read_retry_after = lambda: response.headers.get("Retry-After")
        sightings = [
            *state.platform_before,
            *checks.checker.after(exchange),
            *state.platform_findings,
        ]
        if sightings:
            checks.record(sightings, exchange.request_id, exchange.time)
        checks.settle()
