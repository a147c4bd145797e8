"""Service Catalog v0.3.1's retries, polls and windows, end to end: fault rules on the
real broker (gunicorn, real HTTP), and the controller on a clock the test drives, so
hours and days of backoff pass in a moment.

- HTTP errors other than 400 are retried (1 s doubling to 20 min) without a time
  limit; the retry window ends transport errors only.
- ``last_operation`` is polled first: a late ``succeeded`` wins; the async window is
  7 days; polls come after 1 s, 2 s, 4 s … whatever ``Retry-After`` says, unless
  ``--honor-retry-after``; after a failed poll the next comes 5 ms later, doubling.
- A broker that is not Ready is relisted, past the window too, and recovers.
"""

from __future__ import annotations

import pytest

from tests.controller.conftest import AdminAPI, Cluster
from tests.controller.test_ctl_instances import instance
from tests.support.clock import FakeClock

pytestmark = pytest.mark.server

MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 3) for earlier, later in zip(times, times[1:], strict=False)]


def test_a_409_provision_is_retried_with_backoff_past_the_retry_window(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    rule = admin_api.add_fault(
        {
            "match": {"operation": "provision"},
            "action": {"status": 409, "error": "Conflict", "description": "Try later"},
        }
    )
    timed_cluster.apply(instance("db", "mock-database", "small"))
    # Three hours of Service Catalog's time, with a retry window of ten minutes.
    assert not timed_cluster.reconcile(timeout=3 * HOUR, interval=HOUR, retry_duration=600)
    status = timed_cluster.status("instance", "db", "apps")
    ready = timed_cluster.condition("instance", "db", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ProvisionCallFailed"
    assert ready["message"].endswith(
        "Status: 409; ErrorMessage: Conflict; Description: Try later; ResponseError: <nil>"
    )
    assert timed_cluster.condition("instance", "db", "apps", "Failed") is None
    assert status["currentOperation"] == "Provision" and status["operationStartTime"]
    assert status["deprovisionStatus"] == "NotRequired"
    calls = admin_api.calls("provision", "deprovision")
    assert calls == [("provision", "PUT", 409)] * len(calls)  # no orphan mitigation for a 409
    failures = timed_cluster.times_of("ProvisionCallFailed", "db")
    assert len(failures) == len(calls) >= 15
    assert gaps(failures)[:12] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1200]
    assert set(gaps(failures)[11:]) == {1200}
    backoff = [
        message for _, key, reason, message in timed_cluster.timeline if reason == "RetryBackoff"
    ]
    assert backoff[0].startswith("Delaying provision retry, next attempt will be after 20")
    admin_api.delete_fault(rule)
    assert timed_cluster.reconcile(timeout=HOUR)
    assert timed_cluster.status("instance", "db", "apps")["provisionStatus"] == "Provisioned"


def test_a_503_update_keeps_being_retried_and_says_so(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    timed_cluster.apply(instance("db", "mock-database", "small"))
    assert timed_cluster.reconcile()
    rule = admin_api.add_fault({"match": {"operation": "update"}, "action": {"status": 503}})
    timed_cluster.apply(instance("db", "mock-database", "large"))
    assert not timed_cluster.reconcile(timeout=3 * HOUR, interval=HOUR, retry_duration=600)
    ready = timed_cluster.condition("instance", "db", "apps", "Ready")
    assert ready is not None and ready["reason"] == "UpdateInstanceCallFailed"
    assert ready["message"] == (
        "ServiceBroker returned a failure for update call; update will be retried: "
        "Status: 503; ErrorMessage: InjectedFault; Description: fault rule answered 503; "
        "ResponseError: <nil>"
    )
    assert timed_cluster.condition("instance", "db", "apps", "Failed") is None
    status = timed_cluster.status("instance", "db", "apps")
    assert status["currentOperation"] == "Update" and status["provisionStatus"] == "Provisioned"
    patches = admin_api.calls("update")
    assert len(patches) >= 15 and {call[2] for call in patches} == {503}
    admin_api.delete_fault(rule)
    assert timed_cluster.reconcile(timeout=HOUR)
    ready = timed_cluster.condition("instance", "db", "apps", "Ready")
    assert ready is not None and ready["reason"] == "InstanceUpdatedSuccessfully"


def test_transport_errors_end_with_the_retry_window(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    admin_api.add_fault({"match": {"operation": "provision"}, "action": {"drop_connection": True}})
    timed_cluster.apply(instance("db", "mock-database", "small"))
    assert timed_cluster.reconcile(timeout=HOUR, interval=HOUR, retry_duration=600)
    failed = timed_cluster.condition("instance", "db", "apps", "Failed")
    ready = timed_cluster.condition("instance", "db", "apps", "Ready")
    assert failed is not None and failed["reason"] == "ErrorReconciliationRetryTimeout"
    assert failed["message"] == "Stopping reconciliation retries because too much time has elapsed"
    obj = timed_cluster.get("instance", "db", "apps")
    assert obj is not None
    assert ready is not None and ready["reason"] == "ErrorCallingProvision"
    assert ready["message"] == (
        "The provision call failed and will be retried: Error communicating with broker for "
        f"provisioning: Put {admin_api.url}/v2/service_instances/{obj['spec']['externalID']}"
        "?accepts_incomplete=true: EOF"
    )
    status = obj["status"]
    assert "currentOperation" not in status and status["deprovisionStatus"] == "NotRequired"
    tries = timed_cluster.times_of("ErrorCallingProvision", "db")
    assert 600 <= tries[-1] - tries[0] < 600 + 1200


def test_a_late_succeeded_wins_at_any_age(
    timed_cluster: Cluster, admin_api: AdminAPI, clock: FakeClock
) -> None:
    timed_cluster.apply(instance("slow", "mock-async", "manual"))
    # Nine minutes of "in progress" (polls after 1 s, 2 s, 4 s … 256 s) in a 10-minute window …
    assert not timed_cluster.reconcile(timeout=9 * MINUTE, interval=HOUR, retry_duration=600)
    status = timed_cluster.status("instance", "slow", "apps")
    assert status["asyncOpInProgress"] is True and status["lastOperation"]
    assert len(admin_api.journal(operation="last_operation")) == 9
    # … then the broker finishes, and the controller looks again when the window is over.
    admin_api.finish(status["lastOperation"])
    clock.advance(10 * MINUTE)
    assert timed_cluster.reconcile(timeout=HOUR, interval=HOUR, retry_duration=600)
    ready = timed_cluster.condition("instance", "slow", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ProvisionedSuccessfully"
    assert timed_cluster.condition("instance", "slow", "apps", "Failed") is None
    assert admin_api.calls("provision", "deprovision") == [("provision", "PUT", 202)]
    polls = admin_api.journal(operation="last_operation")
    assert polls[-1]["response"]["state"] == "succeeded"


def test_an_operation_in_progress_is_polled_for_seven_days_then_given_up_and_mitigated(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    timed_cluster.apply(instance("slow", "mock-async", "manual"))
    assert not timed_cluster.reconcile(timeout=6 * DAY, interval=DAY)
    status = timed_cluster.status("instance", "slow", "apps")
    assert status["asyncOpInProgress"] is True
    assert timed_cluster.condition("instance", "slow", "apps", "Failed") is None
    polls = len(admin_api.journal(operation="last_operation"))
    # After 1 s, 2 s … 1024 s (11 polls by 2047 s), then every 20 minutes until 6 days.
    assert polls == 11 + (6 * 86400 - 2047) // 1200
    assert timed_cluster.reconcile(timeout=2 * DAY, interval=DAY)
    failed = timed_cluster.condition("instance", "slow", "apps", "Failed")
    assert failed is not None and failed["reason"] == "ErrorReconciliationRetryTimeout"
    assert admin_api.calls("provision", "deprovision") == [
        ("provision", "PUT", 202),
        ("deprovision", "DELETE", 202),
    ]
    # The mitigating DELETE is asynchronous too, and inherits the operation's expired
    # window: its first "in progress" ends it, and the instance keeps what it owes.
    ready = timed_cluster.condition("instance", "slow", "apps", "Ready")
    assert ready is not None and ready["reason"] == "OrphanMitigationFailed"
    assert ready["message"] == (
        "Orphan mitigation failed: Stopping reconciliation retries because too much time has "
        "elapsed"
    )
    status = timed_cluster.status("instance", "slow", "apps")
    assert status["deprovisionStatus"] == "Failed" and status["orphanMitigationInProgress"]


def test_polls_ignore_retry_after_unless_asked_to_honour_it(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    # The plan answers "in progress" twice, with Retry-After: 1 and a description.
    timed_cluster.apply(instance("q", "mock-async", "polls"))
    assert timed_cluster.reconcile(interval=HOUR)
    provisioning = timed_cluster.times_of("Provisioning", "q")
    done = timed_cluster.times_of("ProvisionedSuccessfully", "q")
    assert gaps(provisioning + done) == [1, 2, 4]
    timed_cluster.apply(instance("r", "mock-async", "polls"))
    assert timed_cluster.reconcile(interval=HOUR, honor_retry_after=True)
    provisioning = timed_cluster.times_of("Provisioning", "r")
    done = timed_cluster.times_of("ProvisionedSuccessfully", "r")
    assert gaps(provisioning + done) == [1, 1, 1]


def test_a_failed_poll_is_retried_after_5_ms_doubling(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    admin_api.add_fault(
        {
            "match": {"operation": "last_operation"},
            "trigger": {"times": 3},
            "action": {"status": 500},
        }
    )
    timed_cluster.apply(instance("q", "mock-async", "polls"))
    assert timed_cluster.reconcile(interval=HOUR)
    errors = timed_cluster.times_of("ErrorPollingLastOperation", "q")
    assert len(errors) == 3 and gaps(errors) == [0.005, 0.01]
    assert round(errors[0] - timed_cluster.times_of("Provisioning", "q")[0], 3) == 1
    ready = timed_cluster.condition("instance", "q", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ProvisionedSuccessfully"
    messages = [
        m for _, _, reason, m in timed_cluster.timeline if reason == "ErrorPollingLastOperation"
    ]
    assert messages[0] == (
        "Error polling last operation: Status: 500; ErrorMessage: InjectedFault; "
        "Description: fault rule answered 500; ResponseError: <nil>"
    )


def test_a_broker_down_longer_than_the_window_recovers_when_it_answers(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    timed_cluster.apply(instance("db", "mock-database", "small"))
    assert timed_cluster.reconcile()
    rule = admin_api.add_fault({"match": {"operation": "catalog"}, "action": {"status": 503}})
    # A relist that fails, for three hours of a ten-minute window.
    timed_cluster.apply(
        "apiVersion: servicecatalog.k8s.io/v1beta1\nkind: ClusterServiceBroker\n"
        f"metadata: {{name: mockbroker}}\nspec:\n  url: {admin_api.url}\n  relistRequests: 1\n"
        "  authInfo:\n    basic:\n      secretRef: {namespace: catalog, name: broker-auth}\n"
    )
    assert not timed_cluster.reconcile(
        timeout=3 * HOUR, interval=HOUR, fail_fast=False, retry_duration=600
    )
    status = timed_cluster.status("broker", "mockbroker")
    ready = timed_cluster.condition("broker", "mockbroker", "", "Ready")
    assert ready is not None and ready["reason"] == "ErrorFetchingCatalog"
    assert ready["message"].startswith(
        "Error fetching catalog.Error getting broker catalog: Status: 503; "
    )
    # Service Catalog gives up once per window (an event) and starts over: never Failed.
    assert timed_cluster.condition("broker", "mockbroker", "", "Failed") is None
    assert len(timed_cluster.times_of("ErrorReconciliationRetryTimeout", "mockbroker")) >= 2
    assert status["reconciledGeneration"] == 2
    fetches = admin_api.journal(operation="catalog")
    assert len(fetches) > 20
    admin_api.delete_fault(rule)
    assert timed_cluster.reconcile(timeout=HOUR, interval=HOUR)
    ready = timed_cluster.condition("broker", "mockbroker", "", "Ready")
    assert ready is not None and ready["reason"] == "FetchedCatalog" and ready["status"] == "True"
    assert "operationStartTime" not in timed_cluster.status("broker", "mockbroker")
