"""The pytest plugin, used the way a user would: from a separate test project."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import pytest
from broker.client import OriginatingIdentity, ServerError


def test_async_provision_manual_finish_and_flaky_binds(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "manual")
    alice = OriginatingIdentity("kubernetes", {"username": "alice", "uid": "42"})

    answer = osb_broker.client.provision(
        "inst-1", service_id, plan_id, organization_guid="org", space_guid="space",
        context={"platform": "kubernetes", "namespace": "apps"},
        accepts_incomplete=True, identity=alice,
    )
    assert answer.status == 202

    put = osb_broker.wait_for_request(operation="provision", method="PUT")
    assert put["instance_id"] == "inst-1"
    assert put["originating_identity"] == {
        "platform": "kubernetes", "value": {"username": "alice", "uid": "42"}}
    assert osb_broker.client.last_operation("inst-1").state == "in progress"

    osb_broker.finish_operation(answer.operation, "succeeded")
    assert osb_broker.client.last_operation("inst-1").state == "succeeded"

    rule = osb_broker.add_fault(operation="bind", times=2, status=500, description="flaky")
    _, sync_plan = osb_broker.ids("mock-async", "manual")
    attempts = 0
    while True:
        attempts += 1
        try:
            bound = osb_broker.client.bind("inst-1", "bind-1", service_id, sync_plan,
                                           accepts_incomplete=True)
            break
        except ServerError as error:
            assert error.status == 500 and error.description == "flaky"
    assert attempts == 3

    binds = osb_broker.journal(operation="bind")
    assert [(b["status"], b["fault"]) for b in binds] == [(500, rule), (500, rule), (202, None)]
    assert osb_broker.wait_for_request(operation="bind", count=3)["status"] == 202
    assert [f for f in osb_broker.faults() if f["id"] == rule][0]["fired"] == 2
    osb_broker.finish_operation(bound.operation)
    assert [b["binding_id"] for b in osb_broker.state()["bindings"]] == ["bind-1"]


def test_each_test_starts_from_a_clean_broker(osb_broker):
    assert osb_broker.state() == {"instances": [], "bindings": [], "operations": []}
    assert osb_broker.journal(operation="provision") == []
    assert all(rule["origin"] == "catalog" for rule in osb_broker.faults())


def test_the_handle_exposes_url_and_auth_for_any_http_client(osb_broker):
    import httpx
    answer = httpx.get(f"{osb_broker.url}/v2/catalog", auth=osb_broker.auth,
                       headers={"X-Broker-API-Version": "2.17"})
    assert answer.status_code == 200
    assert {s["name"] for s in answer.json()["services"]} >= {"cloud-provider-service"}
"""

CUSTOM_CATALOG = """
services:
  - name: my-own-service
    description: Declared by the project under test
    bindable: true
    plans:
      - name: tiny
        description: The only plan
"""


def test_a_separate_project_uses_the_plugin_end_to_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


VOCABULARY_TESTS = """
import re

import httpx
import pytest

ISO = r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"


def test_the_journal_has_its_name_and_the_old_one_warns(osb_broker):
    osb_broker.client.catalog()
    assert [entry["operation"] for entry in osb_broker.journal()] == ["catalog"]
    with pytest.deprecated_call(match=r"osb_broker.requests\\(\\) .* osb_broker.journal\\(\\)"):
        assert osb_broker.requests() == osb_broker.journal()


def test_a_misspelled_match_key_is_named_as_one(osb_broker):
    with pytest.raises(TypeError, match="unknown match field 'opration'; did you mean 'operation'"):
        osb_broker.add_fault(opration="bind", status=500)
    assert osb_broker.faults(origin="admin") == []


def test_add_fault_takes_what_the_client_takes(osb_broker):
    rule = {"match": {"operation": "bind"}, "trigger": {"times": 1}, "action": {"status": 500}}
    ids = [
        osb_broker.add_fault(rule),
        osb_broker.client.add_fault(rule),
        osb_broker.add_fault(operation="bind", times=1, status=500),
        osb_broker.client.add_fault(operation="bind", times=1, status=500),
        osb_broker.add_fault({"match": {"operation": "bind"}}, times=1, status=500),
        osb_broker.client.add_fault({"match": {"operation": "bind"}}, times=1, status=500),
    ]
    shapes = [(r["match"], r["trigger"], r["action"]) for r in osb_broker.faults(origin="admin")]
    assert [r["id"] for r in osb_broker.faults(origin="admin")] == ids
    stored = {"operation": ["bind"]}  # the broker keeps operations as a list
    assert shapes == [(stored, rule["trigger"], rule["action"])] * 6


def test_admin_auth_opens_the_admin_api(osb_broker):
    answer = httpx.get(f"{osb_broker.url}/admin/faults", auth=osb_broker.admin_auth)
    assert answer.status_code == 200


def test_state_speaks_as_the_journal(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    osb_broker.client.provision("i-1", service_id, plan_id, organization_guid="o", space_guid="s")
    osb_broker.client.bind("i-1", "b-1", service_id, plan_id)
    (instance,) = osb_broker.state()["instances"]
    (binding,) = osb_broker.state()["bindings"]
    (provision,) = osb_broker.journal(operation="provision")
    assert instance["instance_id"] == provision["instance_id"] == binding["instance_id"]
    assert binding["binding_id"] == "b-1"
    assert re.fullmatch(ISO, instance["created_at"]) and re.fullmatch(ISO, provision["time"])
    with pytest.deprecated_call(match="use 'instance_id'"):
        assert instance["id"] == "i-1"


def test_a_misspelled_service_is_corrected(osb_broker):
    with pytest.raises(LookupError, match="did you mean 'mock-database'"):
        osb_broker.ids("mock-databse", "small")
    with pytest.raises(LookupError, match="did you mean 'small'"):
        osb_broker.ids("mock-database", "smal")


def test_the_catalogs_rules_are_there_after_a_reset_and_say_so(osb_broker):
    declared = osb_broker.faults()
    assert declared and {rule["origin"] for rule in declared} == {"catalog"}
    assert osb_broker.faults(origin="admin") == []
    osb_broker.add_fault(operation="bind", status=500)
    assert osb_broker.delete_faults() == 1
    assert osb_broker.faults() == declared
"""


def test_the_fixture_speaks_the_vocabulary_of_the_api(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_vocabulary=VOCABULARY_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)


def test_catalogs_come_from_the_ini_option(pytester: pytest.Pytester) -> None:
    (pytester.path / "catalogs").mkdir()
    (pytester.path / "catalogs" / "mine.yaml").write_text(CUSTOM_CATALOG)
    pytester.makeini("[pytest]\nosb_broker_catalogs = catalogs\n")
    pytester.makepyfile(
        test_catalog="""
        def test_only_my_service_is_served(osb_broker):
            names = [s["name"] for s in osb_broker.client.catalog().services]
            assert names == ["my-own-service"]
    """
    )
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_catalogs_come_from_the_command_line_or_a_fixture_override(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "mine.yaml").write_text(CUSTOM_CATALOG)
    pytester.makepyfile(
        test_catalog="""
        def test_only_my_service_is_served(osb_broker):
            assert [s["name"] for s in osb_broker.client.catalog().services] == ["my-own-service"]
    """
    )
    flag = pytester.runpytest_subprocess(
        "-q", "-p", "no:cacheprovider", "--osb-broker-catalogs", "mine.yaml"
    )
    flag.assert_outcomes(passed=1)
    pytester.makeconftest("""
        import pathlib, pytest

        @pytest.fixture(scope="session")
        def osb_broker_catalogs():
            return [pathlib.Path(__file__).parent / "mine.yaml"]
    """)
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_it_works_under_xdist_with_one_broker_per_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_parallel="""
        import os
        import pathlib
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_provision_in_parallel(osb_broker, n):
            service_id, plan_id = osb_broker.ids("mock-async", "sync")
            answer = osb_broker.client.provision(f"same-id", service_id, plan_id,
                                                 organization_guid="o", space_guid=f"space-{n}")
            assert answer.status == 201
            # Each worker has its own broker and each test a reset one: no 409s.
            assert [i["instance_id"] for i in osb_broker.state()["instances"]] == ["same-id"]
            print(os.environ.get("PYTEST_XDIST_WORKER"), osb_broker.url)
            seen = pathlib.Path(__file__).parent / f"seen-{n}.txt"
            seen.write_text(f"{os.environ['PYTEST_XDIST_WORKER']} {osb_broker.url}")
    """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-n", "2", "-s")
    result.assert_outcomes(passed=6)
    seen = [path.read_text().split() for path in sorted(pytester.path.glob("seen-*.txt"))]
    assert len(seen) == 6
    urls_by_worker: dict[str, set[str]] = {}
    for worker, url in seen:
        urls_by_worker.setdefault(worker, set()).add(url)
    # xdist hands each of the two workers at least two of the six tests up front.
    assert sorted(urls_by_worker) == ["gw0", "gw1"]
    assert all(len(urls) == 1 for urls in urls_by_worker.values()), urls_by_worker
    assert len(set.union(*urls_by_worker.values())) == len(urls_by_worker), urls_by_worker


def test_an_external_broker_is_used_when_its_url_is_given(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.servers import serve

    pytester.makepyfile(
        test_external="""
        def test_talks_to_the_external_broker(osb_broker):
            import os
            assert osb_broker.url == os.environ["OSB_BROKER_URL"]
            service_id, plan_id = osb_broker.ids("mock-async", "sync")
            assert osb_broker.client.provision("ext", service_id, plan_id, organization_guid="o",
                                               space_guid="s").status == 201
    """
    )
    with serve(tmp_path, workers=1) as server:
        monkeypatch.setenv("OSB_BROKER_URL", server.url)
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        import httpx

        journal = httpx.get(
            f"{server.url}/admin/requests",
            params={"operation": "provision"},
            auth=("broker", "broker"),
        ).json()["requests"]
        assert [entry["instance_id"] for entry in journal] == ["ext"]


STRICT_TESTS = """
import pytest
from broker.client import BadRequest


def start(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "polls")
    osb_broker.client.provision(
        "inst-1", service_id, plan_id, organization_guid="org", space_guid="space",
        accepts_incomplete=True,
    )


def test_the_default_broker_answers_a_made_up_operation(osb_broker):
    start(osb_broker)
    assert osb_broker.client.last_operation("inst-1", operation="provision").state == "in progress"


@pytest.mark.osb_strict
def test_a_strict_test_s_broker_refuses_it(osb_broker):
    start(osb_broker)
    with pytest.raises(BadRequest):
        osb_broker.client.last_operation("inst-1", operation="provision")


@pytest.mark.osb_strict
def test_the_strict_broker_is_reset_between_tests_too(osb_broker):
    assert osb_broker.state()["instances"] == []


def test_and_the_next_test_is_lenient_again(osb_broker):
    start(osb_broker)
    assert osb_broker.client.last_operation("inst-1", operation="provision").state == "in progress"
"""


def test_a_test_marked_osb_strict_gets_a_strict_broker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_strict=STRICT_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=4)
