"""The findings' JUnit XML against pytest's own JUnit schema, through a real server.

Both ways of getting it (``GET /admin/findings?format=junit`` and ``mockbroker
findings --junit``) are checked with ``xmllint --schema`` and the ``xmlschema``
package against ``junit-10.xsd`` (the schema pytest validates its own reports with,
fetched from pytest's sdist by ``make install-test``), then read back with
``junitparser`` as a CI tool would: a test case per rule, a failure per finding.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import xmlschema
from junitparser import Failure, JUnitXml

from broker.platform_checks.rules import RULES
from tests.server.platform_checks.conftest import Grades
from tests.server.platform_checks.test_findings_cli import findings_command
from tests.support.junit_schema import require_schema, require_xmllint
from tests.support.osb import OSB
from tests.support.servers import RunningServer

pytestmark = pytest.mark.server

# What a platform may put in a request: markup, quotes, an ampersand, control
# characters XML 1.0 cannot carry, accents and a character outside the BMP.
AWKWARD = "<b>&amp;\"quoted\" 'single' \x01\x1b\x7f é 😀"


def nothing(osb: OSB) -> None:
    """No rule broken."""


def one_must(osb: OSB) -> None:
    OSB(osb.client, version=None).get("/v2/catalog")


def several_with_awkward_text(osb: OSB) -> None:
    """Findings whose summaries carry the request's own text: a plan id from the body,
    an ``operation`` from the query and an instance id from the path."""
    one_must(osb)
    one_must(osb)
    odd_id = "fixed-<&>\"'é😀"
    assert osb.provision(quote(odd_id, safe=""), "graded", "fixed").status == 201
    service_id, _ = osb.ids("graded", "fixed")
    changed = osb.patch(
        f"/v2/service_instances/{quote(odd_id, safe='')}",
        {"service_id": service_id, "plan_id": f"other-{AWKWARD}"},
    )
    assert changed.status == 400, changed.text
    assert osb.provision("echo-1", "graded", "quick", accepts_incomplete=True).status == 202
    osb.get(
        "/v2/service_instances/echo-1/last_operation",
        query={"operation": f"provision {AWKWARD}"},
    )
    osb.provision("hidden-1", "hidden", "plain")
    osb.get("/v2/service_instances/hidden-1")


SCENARIOS: dict[str, Callable[[OSB], None]] = {
    "none": nothing,
    "one": one_must,
    "several": several_with_awkward_text,
}


def schema_errors_of_xmllint(document: Path) -> str | None:
    """What ``xmllint --schema junit-10.xsd`` says is wrong, ``None`` when valid."""
    checked = subprocess.run(
        [require_xmllint(), "--noout", "--schema", str(require_schema()), str(document)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return None if checked.returncode == 0 else checked.stderr


def assert_valid_and_counted(document: Path, findings: list[dict[str, object]]) -> None:
    """Valid for xmlschema and xmllint; junitparser reads a case per rule and a failure
    per finding. (xmllint last: where it is missing, the rest is still checked.)"""
    xmlschema.XMLSchema(str(require_schema())).validate(str(document))
    report = JUnitXml.fromfile(str(document))
    suites = list(report)
    assert len(suites) == 1
    suite = suites[0]
    cases = list(suite)
    assert sorted(case.name for case in cases) == sorted(RULES)
    assert suite.tests == len(RULES) and report.tests == len(RULES)
    failures = [
        (case.name, result.message)
        for case in cases
        for result in case.result
        if isinstance(result, Failure)
    ]
    assert len(failures) == len(findings)
    assert Counter(name for name, _ in failures) == Counter(str(f["rule"]) for f in findings)
    failed_rules = {str(f["rule"]) for f in findings}
    assert suite.failures == len(failed_rules) and suite.errors == 0
    problems = schema_errors_of_xmllint(document)
    assert problems is None, problems


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_admin_junit_is_valid_for_pytest_junit_schema_and_counts_the_findings(
    osb: OSB, admin: OSB, grades: Grades, tmp_path: Path, scenario: str
) -> None:
    SCENARIOS[scenario](osb)
    findings = grades.findings()
    answer = admin.get("/admin/findings", query={"format": "junit"})
    assert answer.status == 200
    document = tmp_path / "findings.xml"
    document.write_text(answer.text, encoding="utf-8")
    assert_valid_and_counted(document, findings)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cli_junit_is_valid_for_pytest_junit_schema_and_counts_the_findings(
    server: RunningServer, osb: OSB, grades: Grades, tmp_path: Path, scenario: str
) -> None:
    SCENARIOS[scenario](osb)
    findings = grades.findings()
    document = tmp_path / "platform.xml"
    done = findings_command(server, "--junit", str(document))
    assert done.returncode == 0, done.stderr
    assert_valid_and_counted(document, findings)


def test_awkward_request_text_reaches_the_junit_failures_readably(
    osb: OSB, admin: OSB, grades: Grades
) -> None:
    several_with_awkward_text(osb)
    answer = admin.get("/admin/findings", query={"format": "junit"})
    report = JUnitXml.fromstring(answer.text.encode())
    messages = {
        case.name: [result.message for result in case.result] for suite in report for case in suite
    }
    changed = messages["plan-not-updateable"]
    assert len(changed) == 1
    # Markup and quotes arrive as sent; characters XML cannot carry as #xHH.
    assert "other-<b>&amp;\"quoted\" 'single' #x01#x1B\x7f é 😀" in changed[0]
    assert len(messages["operation-echo"]) == 1
    assert len(messages["version-header"]) == 1
    assert grades.findings(rule="version-header")[0]["count"] == 2
