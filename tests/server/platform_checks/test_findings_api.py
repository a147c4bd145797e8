"""/admin/findings through a real server: grouping, filters, JUnit XML, clearing, metrics."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from broker.platform_checks.rules import RULES
from tests.server.platform_checks.conftest import Grades
from tests.support.osb import OSB

pytestmark = pytest.mark.server


def break_two_rules(osb: OSB) -> None:
    """version-header twice (no resource), context-platform once for instance ctx-1."""
    unversioned = OSB(osb.client, version=None)
    unversioned.get("/v2/catalog")
    unversioned.get("/v2/catalog")
    osb.provision("ctx-1", "graded", "open", context={"namespace": "n"})


def test_findings_are_grouped_by_rule_and_resource_with_count_and_times(
    osb: OSB, grades: Grades
) -> None:
    osb.provision("ctx-1", "graded", "open", context={"namespace": "n"})
    first = grades.last_request_id()
    osb.patch(
        "/v2/service_instances/ctx-1",
        {"service_id": osb.ids("graded", "open")[0], "context": {"namespace": "m"}},
    )
    second = grades.last_request_id()
    osb.provision("ctx-2", "graded", "open", context={"namespace": "n"})
    found = grades.findings()
    assert [(f["rule"], f["instance_id"], f["count"]) for f in found] == [
        ("context-platform", "ctx-1", 2),
        ("context-platform", "ctx-2", 1),
    ]
    assert found[0]["request_ids"] == [first, second]
    assert found[0]["first_seen"] <= found[0]["last_seen"]
    assert set(found[0]) == {
        "rule",
        "level",
        "summary",
        "instance_id",
        "binding_id",
        "request_ids",
        "count",
        "first_seen",
        "last_seen",
        "spec",
    }
    assert found[0]["spec"]["quote"] == RULES["context-platform"].quote
    assert found[0]["spec"]["url"].startswith("https://github.com/openservicebrokerapi/")


def test_findings_filter_by_rule_level_instance_and_time(osb: OSB, grades: Grades) -> None:
    break_two_rules(osb)
    assert [f["rule"] for f in grades.findings(rule="context-platform")] == ["context-platform"]
    assert len(grades.findings(rule="context-platform,version-header")) == 2
    assert [f["rule"] for f in grades.findings(level="MUST")] == [
        "version-header",
        "context-platform",
    ]
    assert grades.findings(level="SHOULD NOT") == []
    assert [f["rule"] for f in grades.findings(instance_id="ctx-1")] == ["context-platform"]
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert grades.findings(since=later) == []
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert len(grades.findings(since=earlier)) == 2


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"rule": "no-such-rule"}, "rule"),
        ({"level": "MAYBE"}, "level"),
        ({"since": "yesterday"}, "since"),
        ({"format": "csv"}, "format"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_findings_query_is_an_osb_shaped_400_naming_the_field(
    admin: OSB, query: dict[str, str], fragment: str
) -> None:
    answer = admin.get("/admin/findings", query=query)
    assert answer.status == 400
    assert set(answer.json) == {"error", "description"}
    assert fragment in answer.json["description"]


def test_findings_need_the_admin_credentials(osb: OSB) -> None:
    assert OSB(osb.client, version=None).get("/admin/findings").status == 401
    assert OSB(osb.client, auth="", version=None).get("/admin/findings").status == 401


def test_junit_has_a_test_case_per_rule_and_a_failure_per_finding(
    osb: OSB, admin: OSB, grades: Grades
) -> None:
    break_two_rules(osb)
    answer = admin.get("/admin/findings", query={"format": "junit"})
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(answer.text.encode())
    suite = root.find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == set(RULES)
    assert suite.get("tests") == str(len(RULES)) and suite.get("failures") == "2"
    failure = cases["version-header"].find("failure")
    assert failure is not None and failure.get("type") == "MUST"
    assert "count: 2" in (failure.text or "")
    assert cases["id-reuse"].find("failure") is None


def test_junit_of_one_rule_has_that_test_case_alone(osb: OSB, admin: OSB) -> None:
    break_two_rules(osb)
    answer = admin.get("/admin/findings", query={"format": "junit", "rule": "context-platform"})
    cases = ET.fromstring(answer.text.encode()).findall("testsuite/testcase")
    assert [case.get("name") for case in cases] == ["context-platform"]


def test_delete_clears_the_findings(osb: OSB, admin: OSB, grades: Grades) -> None:
    break_two_rules(osb)
    assert admin.delete("/admin/findings").status == 200
    grades.none()


def test_reset_clears_the_findings_and_what_the_checks_remembered(
    osb: OSB, admin: OSB, grades: Grades
) -> None:
    break_two_rules(osb)
    osb.provision("gone-1", "graded", "open")
    osb.deprovision("gone-1", "graded", "open")
    assert admin.post("/admin/reset").status == 200
    grades.none()
    osb.provision("gone-1", "graded", "open")  # the deleted id was forgotten with the rest
    grades.none()


def test_metrics_count_findings_by_rule_and_level(osb: OSB, admin: OSB) -> None:
    break_two_rules(osb)
    text = admin.get("/metrics").text
    assert 'mockbroker_platform_findings_total{level="MUST",rule="version-header"} 2.0' in text
    assert 'mockbroker_platform_findings_total{level="MUST",rule="context-platform"} 1.0' in text


def test_the_openapi_document_describes_the_findings_routes(admin: OSB) -> None:
    document = admin.get("/openapi.json").json
    operations = document["paths"]["/admin/findings"]
    assert set(operations) == {"get", "delete"}
    assert "Finding" in document["components"]["schemas"]


def test_a_very_long_instance_id_is_kept_cut_like_the_journal_keeps_it(
    osb: OSB, grades: Grades
) -> None:
    long_id = "x" * 5000
    answer = osb.put(f"/v2/service_instances/{long_id}", {"context": {"namespace": "n"}})
    assert 400 <= answer.status < 500
    finding = grades.only("context-platform")
    assert finding["instance_id"].startswith("x" * 2048)
    assert finding["instance_id"].endswith("[truncated: 5000 characters]")
