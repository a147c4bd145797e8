"""last_operation where platforms trip: an operation the broker never issued, polls after
an asynchronous delete finished, and resources that no longer exist (by version)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from broker.app import create_app
from broker.catalog.problems import CatalogError
from broker.config import Settings
from tests.support.clock import FakeClock
from tests.support.osb import OSB, expect_error


@dataclass
class Findings:
    """A recorder keeping what the broker reports."""

    recorded: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        rule: str,
        *,
        instance_id: str | None,
        binding_id: str | None = None,
        summary: str,
    ) -> None:
        self.recorded.append(
            {"rule": rule, "instance_id": instance_id, "binding_id": binding_id, "summary": summary}
        )

    @property
    def rules(self) -> list[tuple[str, str | None, str | None]]:
        return [(f["rule"], f["instance_id"], f["binding_id"]) for f in self.recorded]


GONE_AFTER = """
services:
  - name: deletes
    description: Asynchronous deletes with different gone_after
    bindable: true
    plans:
      - name: three-polls
        description: succeeded for three polls
        mockbroker:
          deprovision: {mode: async, finish: {polls: 0}, gone_after: {polls: 3}}
          unbind: {mode: async, finish: {polls: 0}, gone_after: {polls: 3}}
      - name: half-a-minute
        description: succeeded for 30 seconds
        mockbroker:
          deprovision: {mode: async, finish: {polls: 0}, gone_after: {seconds: 30}}
      - name: at-once
        description: 410 at once
        mockbroker:
          deprovision: {mode: async, finish: {polls: 0}, gone_after: {polls: 0}}
      - name: forever
        description: succeeded for as long as the operation is remembered
        mockbroker:
          deprovision: {mode: async, finish: {polls: 0}, gone_after: never}
"""


@pytest.fixture
def findings() -> Findings:
    return Findings()


@pytest.fixture
def app(settings: Settings, clock: FakeClock, findings: Findings, tmp_path: Path) -> Flask:
    catalog = tmp_path / "deletes.yaml"
    catalog.write_text(GONE_AFTER)
    return create_app(
        settings.replace(catalogs=(*settings.catalogs, catalog)), clock=clock, findings=findings
    )


def at(osb: OSB, version: str) -> OSB:
    return OSB(osb.client, auth=osb.auth, version=version)


# --- an operation the broker never issued -------------------------------------------


def test_a_poll_with_an_operation_never_issued_answers_about_the_current_operation(
    osb: OSB, findings: Findings
) -> None:
    assert osb.provision("len-1", "mock-async", "polls", accepts_incomplete=True).status == 202
    answer = osb.last_operation("len-1", "provision")
    assert (answer.status, answer.json["state"]) == (200, "in progress")
    assert findings.rules == [("operation-echo", "len-1", None)]
    assert "'provision'" in findings.recorded[0]["summary"]


def test_a_platform_polling_with_a_fixed_operation_completes_its_whole_flow(
    osb: OSB, findings: Findings
) -> None:
    assert osb.provision("len-2", "mock-async", "polls", accepts_incomplete=True).status == 202
    assert osb.poll("len-2", "provision").json == {"state": "succeeded"}
    assert osb.bind("len-2", "len-2-b", "mock-async", "polls").status == 201
    deleting = osb.deprovision("len-2", "mock-async", "polls", accepts_incomplete=True)
    assert deleting.status == 202
    assert osb.poll("len-2", "deprovision").json == {"state": "succeeded"}
    assert osb.last_operation("len-2", "deprovision").status == 410
    assert {rule for rule, _, _ in findings.rules} == {"operation-echo"}


def test_an_operation_of_another_instance_answers_about_this_one(
    osb: OSB, findings: Findings
) -> None:
    first = osb.provision("len-3", "mock-async", "polls", accepts_incomplete=True)
    osb.provision("len-4", "mock-database", "small")
    answer = osb.last_operation("len-4", first.json["operation"])
    assert answer.json == {"state": "succeeded"}
    assert findings.rules == [("operation-echo", "len-4", None)]


def test_a_binding_poll_with_an_operation_never_issued_answers_about_the_binding(
    osb: OSB, findings: Findings
) -> None:
    osb.provision("len-5", "mock-async", "polls")
    bound = osb.bind("len-5", "len-5-b", "mock-async", "polls", accepts_incomplete=True)
    assert bound.status == 202
    answer = osb.last_operation("len-5", "bind", "len-5-b")
    assert answer.json["state"] == "in progress"
    assert findings.rules == [("operation-echo", "len-5", "len-5-b")]


def test_a_poll_with_the_operation_it_was_given_records_nothing(
    osb: OSB, findings: Findings
) -> None:
    created = osb.provision("len-6", "mock-async", "polls", accepts_incomplete=True)
    assert osb.poll("len-6", created.json["operation"]).json["state"] == "succeeded"
    bound = osb.bind("len-6", "len-6-b", "mock-async", "polls", accepts_incomplete=True)
    assert osb.poll("len-6", bound.json["operation"], "len-6-b").json["state"] == "succeeded"
    assert findings.recorded == []


def test_in_strict_mode_an_operation_never_issued_is_refused_and_changes_nothing(
    settings: Settings, findings: Findings
) -> None:
    strict = OSB(create_app(settings.replace(strict=True), findings=findings).test_client())
    assert strict.provision("len-7", "mock-async", "polls", accepts_incomplete=True).status == 202
    expect_error(strict.last_operation("len-7", "provision"), 400, "BadRequest", "provision")
    # The refused poll counted for nothing: the operation still needs its two polls.
    assert strict.last_operation("len-7").json["state"] == "in progress"
    assert strict.last_operation("len-7").json["state"] == "in progress"
    assert strict.last_operation("len-7").json["state"] == "succeeded"
    assert findings.recorded == []


# --- after an asynchronous delete finished --------------------------------------------


def test_a_finished_delete_answers_succeeded_for_its_plan_s_polls_then_410(osb: OSB) -> None:
    osb.provision("len-10", "deletes", "three-polls")
    operation = osb.deprovision("len-10", "deletes", "three-polls", accepts_incomplete=True)
    for _ in range(3):
        assert osb.last_operation("len-10", operation.json["operation"]).json == {
            "state": "succeeded"
        }
    expect_error(osb.last_operation("len-10", operation.json["operation"]), 410, "Gone")


def test_a_finished_unbind_answers_succeeded_for_its_plan_s_polls_then_410(osb: OSB) -> None:
    osb.provision("len-11", "deletes", "three-polls")
    assert osb.bind("len-11", "len-11-b", "deletes", "three-polls").status == 201
    unbinding = osb.unbind("len-11", "len-11-b", "deletes", "three-polls", accepts_incomplete=True)
    assert unbinding.status == 202
    for _ in range(3):
        assert osb.last_operation("len-11", None, "len-11-b").json == {"state": "succeeded"}
    expect_error(osb.last_operation("len-11", None, "len-11-b"), 410, "Gone")


def test_a_finished_delete_answers_succeeded_for_its_plan_s_seconds_then_410(
    osb: OSB, clock: FakeClock
) -> None:
    osb.provision("len-12", "deletes", "half-a-minute")
    assert osb.deprovision("len-12", "deletes", "half-a-minute", accepts_incomplete=True).status
    for _ in range(5):
        assert osb.last_operation("len-12").json == {"state": "succeeded"}
    clock.advance(29.9)
    assert osb.last_operation("len-12").json == {"state": "succeeded"}
    clock.advance(0.1)
    expect_error(osb.last_operation("len-12"), 410, "Gone")


def test_gone_after_zero_polls_answers_410_at_once(osb: OSB) -> None:
    osb.provision("len-13", "deletes", "at-once")
    assert osb.deprovision("len-13", "deletes", "at-once", accepts_incomplete=True).status == 202
    expect_error(osb.last_operation("len-13"), 410, "Gone")


def test_gone_after_never_answers_succeeded_on_every_poll(osb: OSB, clock: FakeClock) -> None:
    osb.provision("len-14", "deletes", "forever")
    assert osb.deprovision("len-14", "deletes", "forever", accepts_incomplete=True).status == 202
    for _ in range(10):
        clock.advance(60)
        assert osb.last_operation("len-14").json == {"state": "succeeded"}


def test_gone_after_manual_is_refused_when_the_catalog_loads(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = tmp_path / "manual.yaml"
    catalog.write_text(GONE_AFTER.replace("gone_after: never", "gone_after: manual"))
    with pytest.raises(CatalogError) as raised:
        create_app(settings.replace(catalogs=(catalog,)))
    assert any("gone_after" in str(problem) for problem in raised.value.problems)


# --- a resource that does not exist, by version ---------------------------------------


@pytest.mark.parametrize(
    ("version", "status"),
    [("2.13", 410), ("2.14", 410), ("2.15", 410), ("2.16", 404), ("2.17", 404)],
)
def test_an_instance_deleted_synchronously_does_not_report_its_old_provision(
    osb: OSB, version: str, status: int
) -> None:
    created = osb.provision("len-20", "mock-async", "polls", accepts_incomplete=True)
    assert osb.poll("len-20", created.json["operation"]).json["state"] == "succeeded"
    assert osb.deprovision("len-20", "mock-async", "polls").status == 200
    platform = at(osb, version)
    for operation in (created.json["operation"], None):
        answer = platform.last_operation("len-20", operation)
        assert answer.status == status, answer.text
        if version == "2.13":
            assert answer.json == {}
        else:
            assert answer.json["error"] == ("NotFound" if status == 404 else "Gone")


@pytest.mark.parametrize(("version", "status"), [("2.15", 410), ("2.16", 404)])
def test_a_binding_deleted_synchronously_does_not_report_its_old_bind(
    osb: OSB, version: str, status: int
) -> None:
    osb.provision("len-21", "mock-async", "polls")
    bound = osb.bind("len-21", "len-21-b", "mock-async", "polls", accepts_incomplete=True)
    assert osb.poll("len-21", bound.json["operation"], "len-21-b").json["state"] == "succeeded"
    assert osb.unbind("len-21", "len-21-b", "mock-async", "polls").status == 200
    answer = at(osb, version).last_operation("len-21", bound.json["operation"], "len-21-b")
    assert answer.status == status


@pytest.mark.parametrize(("version", "status"), [("2.15", 410), ("2.16", 404)])
def test_an_instance_that_never_existed_answers_by_version_and_records_nothing(
    osb: OSB, findings: Findings, version: str, status: int
) -> None:
    assert at(osb, version).last_operation("len-none").status == status
    assert at(osb, version).last_operation("len-none", "provision-1").status == status
    assert at(osb, version).last_operation("len-none", None, "len-none-b").status == status
    assert findings.recorded == []


def test_a_2_13_platform_gets_succeeded_then_an_empty_410_after_its_delete(osb: OSB) -> None:
    old = at(osb, "2.13")
    old.provision("len-22", "mock-async", "polls")
    deleting = old.deprovision("len-22", "mock-async", "polls", accepts_incomplete=True)
    assert old.poll("len-22", deleting.json["operation"]).json == {"state": "succeeded"}
    gone = old.last_operation("len-22", deleting.json["operation"])
    assert (gone.status, gone.json) == (410, {})
