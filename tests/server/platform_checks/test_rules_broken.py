"""Each rule broken by a platform, through a real server: the exact finding it gets.

Every test asserts the rule id, its level and the journal ids of the requests that
show it; the tests in test_rules_kept.py do the same things the right way.
"""

from __future__ import annotations

import time

import pytest

from tests.server.platform_checks.conftest import WINDOW, Grades
from tests.support.osb import OSB, identity

pytestmark = pytest.mark.server

INSTANCES = "/v2/service_instances"


def test_a_request_without_a_version_header_is_a_version_header_finding(
    osb: OSB, grades: Grades
) -> None:
    answer = OSB(osb.client, version=None).get("/v2/catalog")
    assert answer.status == 412
    finding = grades.only("version-header")
    assert finding["level"] == "MUST"
    assert finding["request_ids"] == [grades.last_request_id()]
    assert finding["instance_id"] is None and finding["count"] == 1


def test_a_malformed_version_header_is_a_version_header_finding(osb: OSB, grades: Grades) -> None:
    OSB(osb.client, version="two").get("/v2/catalog")
    first = grades.last_request_id()
    OSB(osb.client, version="1.0").get("/v2/catalog")
    finding = grades.only("version-header")
    assert finding["count"] == 2
    assert finding["request_ids"] == [first, grades.last_request_id()]


def test_polling_without_the_operation_returned_is_an_operation_echo_finding(
    osb: OSB, grades: Grades
) -> None:
    started = osb.provision("echo-1", "graded", "quick", accepts_incomplete=True)
    assert started.status == 202 and started.json["operation"]
    osb.last_operation("echo-1")
    finding = grades.only("operation-echo")
    assert finding["level"] == "MUST"
    assert finding["instance_id"] == "echo-1"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_polling_with_another_operation_is_an_operation_echo_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("echo-2", "graded", "quick", accepts_incomplete=True)
    osb.last_operation("echo-2", "provision")
    finding = grades.only("operation-echo")
    assert "operation='provision'" in finding["summary"]
    assert finding["request_ids"] == [grades.last_request_id()]


def test_polling_before_retry_after_passed_is_a_poll_too_soon_finding(
    osb: OSB, grades: Grades
) -> None:
    started = osb.provision("soon-1", "graded", "slow", accepts_incomplete=True)
    first = osb.last_operation("soon-1", started.json["operation"])
    assert first.headers.get("retry-after") == "2"
    osb.last_operation("soon-1", started.json["operation"])
    finding = grades.only("poll-too-soon")
    assert finding["level"] == "SHOULD"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_polling_past_the_maximum_polling_duration_is_a_finding(osb: OSB, grades: Grades) -> None:
    started = osb.provision("long-1", "graded", "slow", accepts_incomplete=True)
    operation = started.json["operation"]
    osb.last_operation("long-1", operation)  # in progress, Retry-After: 2
    time.sleep(2.1)  # the plan's maximum_polling_duration (1 s) has passed
    assert osb.last_operation("long-1", operation).json["state"] == "failed"
    finding = grades.only("polling-past-maximum-duration")
    assert finding["level"] == "SHOULD"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_polling_again_after_succeeded_is_a_poll_after_final_finding(
    osb: OSB, grades: Grades
) -> None:
    started = osb.provision("final-1", "graded", "quick", accepts_incomplete=True)
    assert osb.poll("final-1", started.json["operation"]).json["state"] == "succeeded"
    assert grades.findings() == []
    osb.last_operation("final-1", started.json["operation"])
    finding = grades.only("poll-after-final")
    assert finding["level"] == "MUST"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_no_delete_after_a_failed_provision_is_an_orphan_mitigation_finding(
    osb: OSB, grades: Grades
) -> None:
    assert osb.provision("orphan-1", "graded", "broken").status == 500
    failed = grades.last_request_id()
    assert grades.findings() == []  # the window is still open
    time.sleep(WINDOW + 0.5)
    finding = grades.only("orphan-mitigation")
    assert finding["level"] == "SHOULD"
    assert finding["instance_id"] == "orphan-1"
    assert finding["request_ids"] == [failed]


def test_a_delete_after_the_window_closed_is_still_an_orphan_mitigation_finding(
    osb: OSB, grades: Grades, admin: OSB
) -> None:
    osb.provision("orphan-2", "graded", "broken")
    failed = grades.last_request_id()
    time.sleep(WINDOW + 0.5)
    osb.deprovision("orphan-2", "graded", "broken")
    finding = grades.only("orphan-mitigation")
    assert finding["request_ids"][0] == failed
    assert finding["count"] == 1


def test_no_delete_after_an_async_provision_failed_is_an_orphan_mitigation_finding(
    osb: OSB, grades: Grades
) -> None:
    started = osb.provision("orphan-3", "graded", "failing", accepts_incomplete=True)
    assert osb.poll("orphan-3", started.json["operation"]).json["state"] == "failed"
    failed = grades.last_request_id()
    time.sleep(WINDOW + 0.5)
    finding = grades.only("orphan-mitigation")
    assert finding["request_ids"] == [failed]
    assert "failed for provision" in finding["summary"]


def test_binding_an_unbindable_plan_is_a_bind_not_bindable_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("nobind-1", "graded", "unbindable")
    osb.bind("nobind-1", "b-1", "graded", "unbindable")
    finding = grades.only("bind-not-bindable")
    assert finding["level"] == "MUST NOT"
    assert (finding["instance_id"], finding["binding_id"]) == ("nobind-1", "b-1")
    assert finding["request_ids"] == [grades.last_request_id()]


def test_fetching_an_instance_that_is_not_retrievable_is_a_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("hidden-1", "hidden", "plain")
    osb.get(f"{INSTANCES}/hidden-1")
    finding = grades.only("get-not-retrievable")
    assert finding["level"] == "SHOULD NOT"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_deprovisioning_with_bindings_left_is_a_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("bound-1", "graded", "open")
    assert osb.bind("bound-1", "b-1", "graded", "open").status == 201
    osb.deprovision("bound-1", "graded", "open")
    finding = grades.only("deprovision-with-bindings")
    assert finding["level"] == "MUST"
    assert "b-1" in finding["summary"]
    assert finding["request_ids"] == [grades.last_request_id()]


def test_a_context_without_platform_is_a_context_platform_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("ctx-1", "graded", "open", context={"namespace": "default"})
    finding = grades.only("context-platform")
    assert finding["level"] == "MUST"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_an_identity_of_another_platform_than_the_context_is_a_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision(
        "ctx-2",
        "graded",
        "open",
        context={"platform": "kubernetes", "namespace": "default"},
        headers={"X-Broker-API-Originating-Identity": identity("cloudfoundry", user_id="u1")},
    )
    finding = grades.only("identity-platform-mismatch")
    assert finding["level"] == "MUST"
    assert "'cloudfoundry'" in finding["summary"]
    assert finding["request_ids"] == [grades.last_request_id()]


def test_a_kubernetes_identity_without_groups_and_extra_is_an_identity_properties_finding(
    osb: OSB, grades: Grades
) -> None:
    header = identity("kubernetes", username="alice", uid="1")
    osb.get("/v2/catalog", headers={"X-Broker-API-Originating-Identity": header})
    finding = grades.only("identity-properties")
    assert finding["level"] == "MUST"
    assert finding["summary"].endswith("without groups, extra")
    assert finding["request_ids"] == [grades.last_request_id()]


def test_provisioning_a_deleted_instance_id_again_is_an_id_reuse_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("again-1", "graded", "open")
    assert osb.deprovision("again-1", "graded", "open").status == 200
    assert osb.provision("again-1", "graded", "open").status == 201
    finding = grades.only("id-reuse")
    assert finding["level"] == "SHOULD NOT"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_binding_a_deleted_binding_id_again_is_an_id_reuse_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("again-2", "graded", "open")
    osb.bind("again-2", "b-1", "graded", "open")
    assert osb.unbind("again-2", "b-1", "graded", "open").status == 200
    assert osb.bind("again-2", "b-1", "graded", "open").status == 201
    finding = grades.only("id-reuse")
    assert finding["binding_id"] == "b-1"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_an_id_a_fault_rule_answered_200_for_is_deleted_for_the_platform(
    osb: OSB, admin: OSB, grades: Grades
) -> None:
    # No binding was deleted (there was none), but the platform was told it was.
    osb.provision("again-3", "graded", "open")
    added = admin.post(
        "/admin/faults",
        {"match": {"operation": "unbind"}, "trigger": {"times": 1}, "action": {"status": 200}},
    )
    assert added.status == 201
    assert osb.unbind("again-3", "b-never", "graded", "open").status == 200
    assert osb.bind("again-3", "b-never", "graded", "open").status == 201
    assert grades.only("id-reuse")["binding_id"] == "b-never"


def test_a_delete_without_service_and_plan_ids_is_a_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("noids-1", "graded", "open")
    osb.delete(f"{INSTANCES}/noids-1")
    finding = grades.only("delete-without-ids")
    assert finding["level"] == "MUST"
    assert "service_id and plan_id" in finding["summary"]
    assert finding["request_ids"] == [grades.last_request_id()]


def test_changing_a_plan_that_is_not_updateable_is_a_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("fixed-1", "graded", "fixed")
    osb.change_plan("fixed-1", "graded", "other")
    finding = grades.only("plan-not-updateable")
    assert finding["level"] == "MUST NOT"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_rotating_a_binding_of_a_plan_that_is_not_rotatable_is_a_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("rot-1", "graded", "other")
    osb.bind("rot-1", "b-1", "graded", "other")
    osb.bind("rot-1", "b-2", "graded", "other", predecessor_binding_id="b-1")
    finding = grades.only("binding-not-rotatable")
    assert finding["level"] == "MUST NOT"
    assert finding["binding_id"] == "b-2"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_rotating_from_a_binding_that_does_not_exist_is_a_predecessor_binding_finding(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("rot-2", "graded", "open")
    osb.bind("rot-2", "b-2", "graded", "open", predecessor_binding_id="no-such-binding")
    finding = grades.only("predecessor-binding")
    assert finding["level"] == "MUST"
    assert finding["request_ids"] == [grades.last_request_id()]


def test_no_delete_after_a_malformed_201_is_an_orphan_mitigation_finding(
    osb: OSB, admin: OSB, grades: Grades
) -> None:
    fault = admin.post(
        "/admin/faults",
        {
            "match": {"operation": "provision"},
            "trigger": {"times": 1},
            "action": {"body": "malformed"},
        },
    )
    assert fault.status == 201
    answer = osb.provision("orphan-4", "graded", "open")
    assert answer.status == 201 and answer.json is None
    created = grades.last_request_id()
    time.sleep(WINDOW + 0.5)
    finding = grades.only("orphan-mitigation")
    assert "malformed" in finding["summary"]
    assert finding["request_ids"] == [created]
