"""The pytest plugin against an external broker (gunicorn), used from a separate project.

Such a broker may hold what someone made by hand and serve other runs at the same
time: the plugin never resets it unless told to, and keeps each test to its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.client import OSBClient
from tests.support.servers import RunningServer, serve

pytestmark = pytest.mark.server

pytest_plugins = ["pytester"]


@pytest.fixture
def external(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    with serve(tmp_path, workers=2) as server:
        monkeypatch.setenv("OSB_BROKER_URL", server.url)
        yield server


@pytest.fixture
def by_hand(external: RunningServer) -> Iterator[OSBClient]:
    """A client of someone using the broker by hand (no test tag)."""
    with OSBClient(external.url, username="broker", password="broker") as client:
        yield client


def make_by_hand(client: OSBClient) -> str:
    """An instance, a binding and a fault rule made before the run; the rule's id."""
    service_id, plan_id = ids(client, "mock-async", "sync")
    client.provision("hand-made", service_id, plan_id, organization_guid="o", space_guid="s")
    client.bind("hand-made", "hand-bound", service_id, plan_id)
    return client.add_fault(
        operation="fetch_instance", instance_id="hand-made", status=503, description="by hand"
    )


def ids(client: OSBClient, service: str, plan: str) -> tuple[str, str]:
    offering, chosen = client.catalog().plan(service, plan)
    return offering["id"], chosen["id"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


# --- nothing is reset ------------------------------------------------------------------

USER_TESTS = """
import pytest
from broker.client import ServerError


def test_provisions_binds_and_adds_a_fault(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    osb_broker.client.provision("fixed-1", service_id, plan_id, organization_guid="o",
                                space_guid="s")
    osb_broker.client.bind("fixed-1", "fixed-b", service_id, plan_id)
    osb_broker.add_fault(operation="update", instance_id="fixed-1", status=500)
    # The broker's state is everyone's; what was there before is still there.
    assert {"hand-made", "fixed-1"} <= {i["instance_id"] for i in osb_broker.state()["instances"]}


def test_leaves_an_operation_running_and_an_instance_behind_a_500(osb_broker):
    _, manual = osb_broker.ids("mock-async", "manual")
    service_id, sync = osb_broker.ids("mock-async", "sync")
    running = osb_broker.new_instance_id()
    answer = osb_broker.client.provision(running, service_id, manual, organization_guid="o",
                                         space_guid="s", accepts_incomplete=True)
    assert answer.status == 202
    # Provisioned, then answered 500: the instance exists though the test got an error.
    osb_broker.add_fault(operation="provision", status=500, phase="after", times=1)
    orphan = osb_broker.new_instance_id()
    with pytest.raises(ServerError):
        osb_broker.client.provision(orphan, service_id, sync, organization_guid="o",
                                    space_guid="s")
    assert orphan in {i["instance_id"] for i in osb_broker.state()["instances"]}


def test_cleans_up_by_itself(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    instance = osb_broker.new_instance_id()
    osb_broker.client.provision(instance, service_id, plan_id, organization_guid="o",
                                space_guid="s")
    assert osb_broker.client.deprovision(instance, service_id, plan_id).status == 200


def test_cannot_reset_or_replace_the_catalog_of_the_shared_broker(osb_broker):
    from broker.testing.isolation import SharedBrokerError

    with pytest.raises(SharedBrokerError, match="--osb-reset-external"):
        osb_broker.reset()
    with pytest.raises(SharedBrokerError, match="--osb-reset-external"):
        osb_broker.client.reset()
    with pytest.raises(SharedBrokerError, match="for everyone"):
        osb_broker.put_catalog({"services": []})
    with pytest.raises(SharedBrokerError, match="osb_broker.delete_faults"):
        osb_broker.client.delete_faults()
"""


def test_what_was_made_by_hand_survives_and_what_the_tests_made_is_removed(
    pytester: pytest.Pytester, external: RunningServer, by_hand: OSBClient
) -> None:
    hand_rule = make_by_hand(by_hand)
    pytester.makepyfile(test_user=USER_TESTS)

    result = run(pytester)

    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*mockbroker: external broker * never reset*"])
    state = by_hand.state()
    assert [i["instance_id"] for i in state["instances"]] == ["hand-made"]
    assert [b["binding_id"] for b in state["bindings"]] == ["hand-bound"]
    assert [op["instance_id"] for op in by_hand.operations(state="in progress")] == []
    assert [rule["id"] for rule in by_hand.faults(origin="admin")] == [hand_rule]
    # Removed as a platform would: the binding before its instance, with OSB requests.
    deletes = [
        (entry["instance_id"], entry["binding_id"], entry["status"])
        for entry in by_hand.journal(method="DELETE")
        if entry["instance_id"] == "fixed-1"
    ]
    assert deletes == [("fixed-1", "fixed-b", 200), ("fixed-1", None, 200)]


def test_a_test_that_could_not_clean_up_says_so(
    pytester: pytest.Pytester, external: RunningServer, by_hand: OSBClient
) -> None:
    # Someone else's rule makes every deprovision fail: the test's instance stays.
    by_hand.add_fault(operation="deprovision", status=500, description="not today")
    pytester.makepyfile(
        test_stuck="""
        def test_provisions(osb_broker):
            service_id, plan_id = osb_broker.ids("mock-async", "sync")
            osb_broker.client.provision("stuck", service_id, plan_id, organization_guid="o",
                                        space_guid="s")
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*BrokerCleanupWarning: could not remove from http://* instance stuck: *not today*"]
    )


# --- the journal of a test is its own -------------------------------------------------

CONCURRENT_TESTS = """
import os
import pathlib
import time

import pytest

HERE = pathlib.Path(__file__).parent


def meet(name, other):
    # Both runs have sent their requests before either reads the journal.
    (HERE / f"ready-{name}").write_text("")
    deadline = time.monotonic() + 60
    while not (HERE / f"ready-{other}").exists():
        assert time.monotonic() < deadline, f"{other} never came"
        time.sleep(0.05)


@pytest.mark.parametrize("name,other", [("left", "right"), ("right", "left")])
def test_sees_only_its_own_requests(osb_broker, name, other):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    instance = osb_broker.new_instance_id()
    osb_broker.client.provision(instance, service_id, plan_id, organization_guid="o",
                                space_guid=name)
    osb_broker.client.fetch_instance(instance)
    meet(name, other)

    provisions = osb_broker.journal(operation="provision")
    assert [(e["instance_id"], e["body"]["space_guid"]) for e in provisions] == [(instance, name)]
    assert [e["operation"] for e in osb_broker.journal()] == ["catalog", "provision",
                                                              "fetch_instance"]
    assert [e["operation"] for e in osb_broker.journal(limit=1)] == ["fetch_instance"]
    newest = osb_broker.wait_for_request(operation="fetch_instance", timeout=5)
    assert newest["instance_id"] == instance
    assert osb_broker.journal(since=newest["id"]) == []
    assert osb_broker.journal(operation="bind", wait=0.3) == []
"""


def test_each_test_sees_only_its_own_requests_while_others_use_the_broker(
    pytester: pytest.Pytester, external: RunningServer, by_hand: OSBClient
) -> None:
    make_by_hand(by_hand)  # requests in the journal from before the runs
    pytester.makepyfile(test_concurrent=CONCURRENT_TESTS)
    # Two runs at once against the same broker, as two CI jobs would.
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"test_concurrent.py::test_sees_only_its_own_requests[{name}]",
            ],
            cwd=pytester.path,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("left-right", "right-left")
    ]
    outputs = [process.communicate(timeout=120)[0] for process in runs]
    for process, output in zip(runs, outputs, strict=True):
        assert process.returncode == 0, output
        assert "1 passed" in output, output
    assert [i["instance_id"] for i in by_hand.state()["instances"]] == ["hand-made"]


def test_journal_scoping_holds_under_xdist(
    pytester: pytest.Pytester, external: RunningServer
) -> None:
    pytester.makepyfile(
        test_parallel="""
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_provision_and_bind(osb_broker, n):
            service_id, plan_id = osb_broker.ids("mock-async", "sync")
            instance, binding = osb_broker.new_instance_id(), osb_broker.new_binding_id()
            osb_broker.client.provision(instance, service_id, plan_id, organization_guid="o",
                                        space_guid="s")
            osb_broker.client.bind(instance, binding, service_id, plan_id)
            mine = osb_broker.journal(method="PUT")
            assert [(e["instance_id"], e["binding_id"]) for e in mine] == [
                (instance, None), (instance, binding)]
        """
    )
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=8)
    with OSBClient(external.url, username="broker", password="broker") as admin:
        assert admin.state()["instances"] == []
        assert len(admin.journal(method="PUT")) == 16


# --- resetting it is a choice ---------------------------------------------------------

RESETTING_TESTS = """
def test_starts_from_an_empty_broker(osb_broker):
    assert osb_broker.state()["instances"] == []
    osb_broker.reset()
"""


def test_the_flag_opts_in_to_resetting_the_external_broker(
    pytester: pytest.Pytester, external: RunningServer, by_hand: OSBClient
) -> None:
    make_by_hand(by_hand)
    pytester.makepyfile(test_reset=RESETTING_TESTS)
    result = run(pytester, "--osb-reset-external")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*mockbroker: external broker * RESET before each test*"])
    assert by_hand.state()["instances"] == []


def test_the_ini_option_opts_in_to_resetting_the_external_broker(
    pytester: pytest.Pytester, external: RunningServer, by_hand: OSBClient
) -> None:
    make_by_hand(by_hand)
    pytester.makeini("[pytest]\nosb_reset_external = true\n")
    pytester.makepyfile(test_reset=RESETTING_TESTS)
    run(pytester).assert_outcomes(passed=1)
    assert by_hand.state()["instances"] == []
