"""The pure request checks, called with plain values."""

from __future__ import annotations

import pytest

from broker.catalog.model import Finish, OperationBehaviour
from broker.osb import BrokerParts, RequestInfo
from broker.osb.checks import check_context, goes_async, requested_maintenance_version
from broker.osb.errors import (
    AsyncRequired,
    BadRequest,
    MaintenanceInfoConflict,
    OperationFailed,
)
from broker.osb.plan_checks import check_maintenance, validate_parameters
from tests.unit.osb.conftest import plan_named

ASYNC = OperationBehaviour(mode="async", finish=Finish("polls", 1))


def test_a_context_without_its_platform_is_refused() -> None:
    with pytest.raises(BadRequest, match="context.platform is required"):
        check_context({"namespace": "x"}, RequestInfo())


def test_a_context_platform_that_differs_from_the_identity_is_refused() -> None:
    info = RequestInfo(originating_identity={"platform": "cloudfoundry", "value": {}})
    with pytest.raises(BadRequest, match="differs from the originating identity"):
        check_context({"platform": "kubernetes"}, info)


def test_no_context_and_a_matching_context_pass() -> None:
    info = RequestInfo(originating_identity={"platform": "kubernetes", "value": {}})
    check_context(None, info)
    check_context({"platform": "kubernetes"}, info)


def test_an_empty_maintenance_version_counts_as_none() -> None:
    assert requested_maintenance_version({}) is None
    assert requested_maintenance_version({"maintenance_info": {"version": ""}}) is None
    assert requested_maintenance_version({"maintenance_info": {"version": "1.0.0"}}) == "1.0.0"


def test_a_maintenance_version_the_plan_does_not_offer_conflicts(parts: BrokerParts) -> None:
    _, plan = plan_named(parts, "mock-database", "small")
    check_maintenance(plan, None)
    check_maintenance(plan, "1.2.0")
    with pytest.raises(MaintenanceInfoConflict, match="does not match"):
        check_maintenance(plan, "9.9.9")


def test_parameters_against_the_plan_schema_name_the_path(parts: BrokerParts) -> None:
    _, plan = plan_named(parts, "mock-database", "small")
    with pytest.raises(BadRequest) as refused:
        validate_parameters(plan, "instance_create", {"storage_gb": "lots"})
    assert refused.value.error == "InvalidParameters"
    assert "$.storage_gb" in refused.value.description


def test_a_sync_operation_declared_failed_raises_its_failure() -> None:
    failing = OperationBehaviour(result="failed", status=409, error="Nope")
    with pytest.raises(OperationFailed) as failed:
        goes_async(failing, RequestInfo(), "provision", "instance i")
    assert (failed.value.status_code, failed.value.error) == (409, "Nope")


def test_an_async_plan_runs_async_only_for_a_caller_that_accepts_it() -> None:
    assert goes_async(ASYNC, RequestInfo(accepts_incomplete=True), "bind", "binding b")
    assert not goes_async(ASYNC, RequestInfo(), "bind", "binding b")


def test_an_async_required_plan_refuses_a_caller_that_cannot_wait() -> None:
    required = OperationBehaviour(mode="async-required")
    with pytest.raises(AsyncRequired):
        goes_async(required, RequestInfo(), "provision", "instance i")
