"""A conforming platform doing what each rule is about, the right way: no finding at all.

The twin of test_rules_broken.py, test by test. A false positive here would make a
platform team stop trusting strict mode, so every test ends with "nothing found".
"""

from __future__ import annotations

import time

import pytest

from tests.server.platform_checks.conftest import WINDOW, Grades
from tests.support.osb import OSB, identity

pytestmark = pytest.mark.server

INSTANCES = "/v2/service_instances"
KUBERNETES_USER = identity("kubernetes", username="alice", uid="1", groups=[], extra={})


@pytest.mark.parametrize("version", ["2.13", "2.14", "2.15", "2.16", "2.17"])
def test_every_version_from_2_13_announced_is_accepted_without_a_finding(
    osb: OSB, grades: Grades, version: str
) -> None:
    assert OSB(osb.client, version=version).get("/v2/catalog").status == 200
    grades.none()


def test_polling_with_the_operation_returned_is_no_finding(osb: OSB, grades: Grades) -> None:
    started = osb.provision("echo-1", "graded", "quick", accepts_incomplete=True)
    assert osb.poll("echo-1", started.json["operation"]).json["state"] == "succeeded"
    grades.none()


def test_polling_after_retry_after_passed_is_no_finding(osb: OSB, grades: Grades) -> None:
    started = osb.provision("soon-1", "graded", "slow", accepts_incomplete=True)
    first = osb.last_operation("soon-1", started.json["operation"])
    time.sleep(float(first.headers["retry-after"]) - 0.8)  # within the documented tolerance
    assert osb.last_operation("soon-1", started.json["operation"]).status == 200
    grades.none()


def test_polling_within_the_maximum_polling_duration_is_no_finding(
    osb: OSB, grades: Grades
) -> None:
    started = osb.provision("long-1", "graded", "slow", accepts_incomplete=True)
    assert osb.last_operation("long-1", started.json["operation"]).json["state"] == "in progress"
    grades.none()


def test_a_delete_within_the_window_after_a_failed_provision_is_no_finding(
    osb: OSB, grades: Grades
) -> None:
    assert osb.provision("orphan-1", "graded", "broken").status == 500
    osb.deprovision("orphan-1", "graded", "broken")
    time.sleep(WINDOW + 0.5)
    grades.none()


def test_a_failed_update_needs_no_orphan_mitigation(osb: OSB, admin: OSB, grades: Grades) -> None:
    osb.provision("orphan-2", "graded", "open")
    added = admin.post(
        "/admin/faults",
        {"match": {"operation": "update"}, "trigger": {"times": 1}, "action": {"status": 500}},
    )
    assert added.status == 201
    assert osb.change_plan("orphan-2", "graded", "open").status == 500
    time.sleep(WINDOW + 0.5)
    grades.none()


def test_a_request_the_broker_rejects_with_400_needs_no_orphan_mitigation(
    osb: OSB, grades: Grades
) -> None:
    answer = osb.put(f"{INSTANCES}/orphan-3", {"service_id": "nope", "plan_id": "nope"})
    assert 400 <= answer.status < 500
    time.sleep(WINDOW + 0.5)
    grades.none()


def test_binding_a_bindable_plan_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("bind-1", "graded", "open")
    assert osb.bind("bind-1", "b-1", "graded", "open").status == 201
    grades.none()


def test_fetching_a_retrievable_instance_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("fetch-1", "graded", "open")
    assert osb.get(f"{INSTANCES}/fetch-1").status == 200
    grades.none()


def test_fetching_a_binding_is_no_finding_as_the_spec_forbids_it_nowhere(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("fetch-2", "hidden", "plain")
    osb.bind("fetch-2", "b-1", "hidden", "plain")
    osb.get(f"{INSTANCES}/fetch-2/service_bindings/b-1")
    grades.none()


def test_unbinding_before_deprovisioning_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("bound-1", "graded", "open")
    osb.bind("bound-1", "b-1", "graded", "open")
    assert osb.unbind("bound-1", "b-1", "graded", "open").status == 200
    assert osb.deprovision("bound-1", "graded", "open").status == 200
    grades.none()


def test_a_context_with_platform_and_a_matching_identity_is_no_finding(
    osb: OSB, grades: Grades
) -> None:
    answer = osb.provision(
        "ctx-1",
        "graded",
        "open",
        context={"platform": "kubernetes", "namespace": "default"},
        headers={"X-Broker-API-Originating-Identity": KUBERNETES_USER},
    )
    assert answer.status == 201
    grades.none()


def test_identities_with_the_properties_of_their_profile_are_no_finding(
    osb: OSB, grades: Grades
) -> None:
    for header in (
        KUBERNETES_USER,
        identity("cloudfoundry", user_id="u-1"),
        identity("my-platform", anything="goes"),  # a platform the profile does not define
    ):
        assert (
            osb.get("/v2/catalog", headers={"X-Broker-API-Originating-Identity": header}).status
            == 200
        )
    grades.none()


def test_no_context_at_all_is_no_finding(osb: OSB, grades: Grades) -> None:
    assert osb.provision("ctx-2", "graded", "open").status == 201
    grades.none()


def test_a_fresh_id_after_a_delete_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("fresh-1", "graded", "open")
    osb.deprovision("fresh-1", "graded", "open")
    assert osb.provision("fresh-2", "graded", "open").status == 201
    grades.none()


def test_a_re_sent_provision_of_an_existing_instance_is_no_id_reuse(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("resent-1", "graded", "open")
    assert osb.provision("resent-1", "graded", "open").status == 200
    grades.none()


def test_reusing_an_id_under_2_15_is_no_finding_as_that_version_has_no_such_rule(
    osb: OSB, grades: Grades
) -> None:
    old = OSB(osb.client, version="2.15")
    old.provision("again-1", "graded", "open")
    old.deprovision("again-1", "graded", "open")
    assert old.provision("again-1", "graded", "open").status == 201
    grades.none()


def test_a_delete_with_service_and_plan_ids_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("ids-1", "graded", "open")
    assert osb.deprovision("ids-1", "graded", "open").status == 200
    grades.none()


def test_changing_an_updateable_plan_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("upd-1", "graded", "open")
    assert osb.change_plan("upd-1", "graded", "other").status == 200
    grades.none()


def test_updating_parameters_on_a_fixed_plan_is_no_finding(osb: OSB, grades: Grades) -> None:
    service_id, plan_id = osb.ids("graded", "fixed")
    osb.provision("upd-2", "graded", "fixed")
    answer = osb.patch(
        f"{INSTANCES}/upd-2",
        {"service_id": service_id, "plan_id": plan_id, "parameters": {"size": 2}},
    )
    assert answer.status == 200
    grades.none()


def test_rotating_a_binding_of_a_rotatable_plan_is_no_finding(osb: OSB, grades: Grades) -> None:
    osb.provision("rot-1", "graded", "open")
    osb.bind("rot-1", "b-1", "graded", "open")
    answer = osb.bind("rot-1", "b-2", "graded", "open", predecessor_binding_id="b-1")
    assert answer.status == 201
    grades.none()


def test_rotation_is_not_checked_under_2_16_which_has_no_rotation(osb: OSB, grades: Grades) -> None:
    old = OSB(osb.client, version="2.16")
    old.provision("rot-2", "graded", "other")
    old.bind("rot-2", "b-2", "graded", "other", predecessor_binding_id="nothing")
    assert [f["rule"] for f in grades.findings()] == []


def test_polling_until_succeeded_and_stopping_is_no_finding(osb: OSB, grades: Grades) -> None:
    started = osb.provision("final-1", "graded", "quick", accepts_incomplete=True)
    osb.poll("final-1", started.json["operation"])
    deleting = osb.deprovision("final-1", "graded", "quick", accepts_incomplete=True)
    ended = osb.poll("final-1", deleting.json["operation"])
    assert ended.status == 410 or ended.json["state"] == "succeeded"  # either ends a delete
    grades.none()


def test_a_well_formed_201_needs_no_orphan_mitigation(osb: OSB, grades: Grades) -> None:
    assert osb.provision("made-1", "graded", "open").status == 201
    time.sleep(WINDOW + 0.5)
    grades.none()


def test_a_delete_answered_500_after_it_deleted_does_not_make_the_id_a_reused_one(
    osb: OSB, admin: OSB, grades: Grades
) -> None:
    # The broker deleted the instance, but the platform was told it failed: it
    # mitigates (410) and provisions the same id again, which it never saw deleted.
    osb.provision("told-500", "graded", "open")
    added = admin.post(
        "/admin/faults",
        {
            "match": {"operation": "deprovision"},
            "trigger": {"times": 1},
            "action": {"status": 500, "phase": "after"},
        },
    )
    assert added.status == 201
    assert osb.deprovision("told-500", "graded", "open").status == 500
    assert osb.deprovision("told-500", "graded", "open").status == 410
    assert osb.provision("told-500", "graded", "open").status == 201
    grades.none()
