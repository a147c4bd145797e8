"""The plugin's strict platform option and findings(), from a separate test project."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import httpx
import pytest


def test_a_request_without_version_header(osb_broker):
    httpx.get(f"{osb_broker.url}/v2/catalog", auth=osb_broker.auth)


def test_a_platform_that_behaves(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    osb_broker.client.provision("inst-1", service_id, plan_id, organization_guid="o",
                                space_guid="s", context={"platform": "kubernetes"})
    osb_broker.client.deprovision("inst-1", service_id, plan_id)
    assert osb_broker.findings() == []


def test_a_should_finding_is_no_failure(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    for _ in range(2):
        osb_broker.client.provision("inst-2", service_id, plan_id, organization_guid="o",
                                    space_guid="s")
        osb_broker.client.deprovision("inst-2", service_id, plan_id)
    assert [f["rule"] for f in osb_broker.findings()] == ["id-reuse"]
"""

MARKED_TESTS = """
import httpx
import pytest


@pytest.mark.osb_strict_platform
def test_marked(osb_broker):
    httpx.get(f"{osb_broker.url}/v2/catalog", auth=osb_broker.auth)


def test_not_marked(osb_broker):
    httpx.get(f"{osb_broker.url}/v2/catalog", auth=osb_broker.auth)
    (finding,) = osb_broker.findings()
    assert (finding["rule"], finding["level"]) == ("version-header", "MUST")
"""


def test_without_strict_checks_findings_fail_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_strict_flag_fails_a_test_that_broke_a_must_and_lists_the_requests(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--osb-strict-platform")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_request_without_version_header*",
            "*the platform broke 1 OSB rule(s) at MUST level:*",
            "*- version-header (MUST, 1x): sent no X-Broker-API-Version header*",
            "*#* GET /v2/catalog -> 412*",
        ]
    )


def test_the_strict_ini_option_does_the_same(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.makeini("[pytest]\nosb_strict_platform = true\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)


def test_the_marker_makes_one_test_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=MARKED_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_marked*"])
