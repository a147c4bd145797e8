"""``mockbroker findings`` against a real server: the table, JUnit XML, exit codes."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from broker.platform_checks.rules import RULES
from tests.support.junit_schema import require_xmllint
from tests.support.osb import OSB
from tests.support.servers import RunningServer

pytestmark = pytest.mark.server


def findings_command(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "broker",
            "findings",
            "--url",
            server.url,
            "--username",
            "admin",
            "--password",
            "admin-secret",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def break_a_must(osb: OSB) -> None:
    OSB(osb.client, version=None).get("/v2/catalog")


def break_a_should(osb: OSB) -> None:
    osb.provision("hidden-1", "hidden", "plain")
    osb.get("/v2/service_instances/hidden-1")


def test_no_findings_says_so_and_exits_0(server: RunningServer, osb: OSB) -> None:
    done = findings_command(server, "--fail-on", "should")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no findings"


def test_fail_on_must_exits_1_on_a_must_finding_and_lists_it(
    server: RunningServer, osb: OSB
) -> None:
    break_a_must(osb)
    done = findings_command(server, "--fail-on", "must")
    assert done.returncode == 1
    assert "MUST" in done.stdout and "version-header" in done.stdout


def test_fail_on_must_ignores_should_findings_and_fail_on_should_does_not(
    server: RunningServer, osb: OSB
) -> None:
    break_a_should(osb)
    assert findings_command(server, "--fail-on", "must").returncode == 0
    assert findings_command(server, "--fail-on", "should").returncode == 1
    assert findings_command(server).returncode == 0


def test_junit_output_is_well_formed_and_has_a_case_per_rule(
    server: RunningServer, osb: OSB, tmp_path: Path
) -> None:
    break_a_must(osb)
    break_a_should(osb)
    report = tmp_path / "platform.xml"
    assert findings_command(server, "--junit", str(report)).returncode == 0
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(RULES)
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert failed == {"version-header", "get-not-retrievable"}
    checked = subprocess.run(
        [require_xmllint(), "--noout", str(report)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


def test_an_unreachable_broker_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broker", "findings", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error:" in done.stderr
