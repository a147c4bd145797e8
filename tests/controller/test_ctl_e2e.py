"""End to end: ``mockbroker ctl`` against ``mockbroker serve`` (gunicorn) over real HTTP.

The seed flow runs the real CLI in separate processes; the other scenarios drive the
controller in-process, still over HTTP to the real server, and read the broker's
journal to see what it was sent.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.client import OSBClient
from tests.controller.conftest import Cluster, broker_manifest, fast_settings, run_ctl
from tests.controller.test_ctl_bindings import binding
from tests.controller.test_ctl_instances import instance
from tests.support.servers import RunningServer

pytestmark = pytest.mark.server

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"


@pytest.fixture
def admin(server: RunningServer) -> Iterator[OSBClient]:
    with OSBClient(server.url, username="admin", password="admin-secret") as client:
        client.reset()
        yield client


@pytest.fixture
def cluster(tmp_path: Path, server: RunningServer, admin: OSBClient) -> Cluster:
    found = Cluster(tmp_path, fast_settings(tmp_path), None)
    found.apply(broker_manifest(server.url))
    assert found.reconcile()
    return found


def ctl(state_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_ctl(
        state_dir,
        *args,
        stdin=stdin,
        env={"BROKER_CTL_POLL_MAX": "1s", "BROKER_CTL_RETRY_MAX": "1s"},
    )


def test_the_seed_flow_provisions_binds_mounts_and_cleans_up(
    tmp_path: Path, server: RunningServer, admin: OSBClient
) -> None:
    state = tmp_path / "ctl"
    applied = ctl(state, "apply", "-f", str(SEED), "--broker-url", server.url)
    assert applied.returncode == 0, applied.stderr
    assert "clusterservicebroker.servicecatalog.k8s.io/mockbroker created" in applied.stdout
    reconciled = ctl(state, "reconcile", "--wait", "--timeout", "60s")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "Provisioning: The instance is being provisioned asynchronously" in reconciled.stdout
    assert "InjectedBindResult: Injected bind result" in reconciled.stdout

    classes = ctl(state, "get", "clusterserviceclasses").stdout
    assert "cloud-provider-service" in classes and "mockbroker" in classes
    plans = ctl(state, "get", "clusterserviceplans", "-o", "wide").stdout
    assert "service-plan-name" in plans
    instances = ctl(state, "get", "serviceinstances", "-n", "cloud-apps").stdout.splitlines()
    assert instances[1].split()[:4] == [
        "cloud-queue-instance",
        "ClusterServiceClass/cloud-provider-service",
        "service-plan-name",
        "Ready",
    ]
    polls = admin.journal(operation="last_operation")
    assert [entry["response"]["state"] for entry in polls] == [
        "in progress",
        "in progress",
        "succeeded",
    ]
    bindings = ctl(state, "get", "servicebindings", "-n", "cloud-apps").stdout.splitlines()
    assert bindings[1].split()[:4] == [
        "cloud-queue-binding",
        "cloud-queue-instance",
        "sa-key",
        "Ready",
    ]

    folder = state / "secrets" / "cloud-apps" / "sa-key"
    key = json.loads((folder / "key.json").read_text())
    assert key["type"] == "service_account" and key["client_email"]
    described = ctl(
        state, "describe", "serviceinstance", "cloud-queue-instance", "-n", "cloud-apps"
    ).stdout
    assert "Reason:                ProvisionedSuccessfully" in described
    assert re.search(
        r"Normal\s+ProvisionedSuccessfully\s+\S+\s+service-catalog-controller-manager", described
    )

    deleted = ctl(state, "delete", "servicebinding", "cloud-queue-binding", "-n", "cloud-apps")
    assert deleted.returncode == 0, deleted.stderr
    assert (
        ctl(
            state, "delete", "serviceinstance", "cloud-queue-instance", "-n", "cloud-apps"
        ).returncode
        == 0
    )
    cleaned = ctl(state, "reconcile", "--wait", "--timeout", "60s")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert admin.state()["instances"] == [] and admin.state()["bindings"] == []
    assert not folder.exists()
    assert "No resources found" in ctl(state, "get", "serviceinstances", "-n", "cloud-apps").stderr


def test_ctl_run_reconciles_in_the_background_and_stops_on_sigterm(
    tmp_path: Path, server: RunningServer, admin: OSBClient
) -> None:
    state = tmp_path / "ctl"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broker",
            "ctl",
            "--state-dir",
            str(state),
            "run",
            "--interval",
            "0.2s",
            "--poll-max",
            "0.5s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        manifests = broker_manifest(server.url) + "---" + instance("svc", "mock-async", "polls")
        assert ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = ctl(state, "get", "instances", "-n", "apps").stdout
            if " Ready " in listed:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the instance did not become Ready under ctl run:\n{listed}")
    finally:
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    assert "ProvisionedSuccessfully" in out
    assert len(admin.journal(operation="provision")) == 1


def test_a_provision_failing_three_times_is_retried_until_it_succeeds(
    cluster: Cluster, admin: OSBClient
) -> None:
    cluster.apply(instance("flaky", "mock-flaky", "provision-fails-500-3x"))
    assert cluster.reconcile(timeout=60)
    assert cluster.status("instance", "flaky", "apps")["lastConditionState"] == "Ready"
    calls = [
        (entry["method"], entry["status"])
        for entry in admin.journal()
        if entry["operation"] in ("provision", "deprovision")
    ]
    assert calls == [("PUT", 500), ("DELETE", 410)] * 3 + [("PUT", 201)]


def test_an_async_provision_ending_failed_is_orphan_mitigated(
    cluster: Cluster, admin: OSBClient
) -> None:
    cluster.apply(instance("doomed", "mock-async", "failing"))
    assert cluster.reconcile(timeout=30)
    failed = cluster.condition("instance", "doomed", "apps", "Failed")
    assert (
        failed is not None
        and failed["message"] == "Provision call failed: The mock cloud ran out of capacity"
    )
    ready = cluster.condition("instance", "doomed", "apps", "Ready")
    assert ready is not None and ready["reason"] == "OrphanMitigationSuccessful"
    obj = cluster.get("instance", "doomed", "apps")
    assert obj is not None
    deletes = admin.journal(operation="deprovision", instance_id=obj["spec"]["externalID"])
    assert (
        deletes
        and deletes[0]["method"] == "DELETE"
        and deletes[0]["query"]["accepts_incomplete"] == "true"
    )
    assert len(admin.journal(operation="provision")) == 1  # never provisioned again


def test_a_400_provision_is_terminal(cluster: Cluster, admin: OSBClient) -> None:
    cluster.apply(instance("bad", "mock-flaky", "provision-fails-400"))
    assert cluster.reconcile(timeout=30)
    assert cluster.status("instance", "bad", "apps")["lastConditionState"] == "Failed"
    assert len(admin.journal(operation="provision")) == 1
    assert admin.journal(operation="deprovision") == []


def test_a_plan_change_updates_the_instance(cluster: Cluster, admin: OSBClient) -> None:
    cluster.apply(instance("db", "mock-database", "small"))
    assert cluster.reconcile(timeout=30)
    cluster.apply(instance("db", "mock-database", "large"))
    assert cluster.reconcile(timeout=30)
    status = cluster.status("instance", "db", "apps")
    assert status["externalProperties"]["clusterServicePlanExternalName"] == "large"
    (patch,) = admin.journal(operation="update")
    (record,) = admin.state()["instances"]
    assert (
        record["plan_id"]
        == patch["body"]["plan_id"]
        == status["externalProperties"]["clusterServicePlanExternalID"]
    )
    assert patch["body"]["previous_values"]["plan_id"] != patch["body"]["plan_id"]


def test_parameters_from_a_secret_reach_the_broker(cluster: Cluster, admin: OSBClient) -> None:
    cluster.apply(
        """
apiVersion: v1
kind: Secret
metadata: {name: db-options, namespace: apps}
stringData: {options: '{"version": "16", "backup": {"enabled": true}}'}
"""
        + "---"
        + instance(
            "db",
            "mock-database",
            "small",
            """  parameters: {storage_gb: 4}
  parametersFrom:
    - secretKeyRef: {name: db-options, key: options}""",
        )
    )
    assert cluster.reconcile(timeout=30)
    (record,) = admin.state(credentials=True)["instances"]
    assert record["parameters"] == {"storage_gb": 4, "version": "16", "backup": {"enabled": True}}


def test_secret_transforms_shape_the_mounted_secret(cluster: Cluster) -> None:
    cluster.apply(
        instance("q", "cloud-provider-service", "premium")
        + "---"
        + binding(
            "q-creds",
            "q",
            """
  secretName: provider
  secretTransforms:
    - renameKey: {from: key.json, to: credentials.json}
    - addKey: {key: QUEUE_URI, jsonPathExpression: "{.uri}"}
    - removeKey: {key: password}""",
        )
    )
    assert cluster.reconcile(timeout=30)
    folder = cluster.settings.volumes_dir / "apps" / "provider"
    files = sorted(path.name for path in folder.iterdir() if not path.name.startswith(".."))
    assert "credentials.json" in files and "key.json" not in files and "password" not in files
    assert json.loads((folder / "credentials.json").read_text())["type"] == "service_account"
    assert (folder / "QUEUE_URI").read_text() == (folder / "uri").read_text()


def test_a_binding_blocks_deprovisioning_until_it_is_deleted(
    cluster: Cluster, admin: OSBClient
) -> None:
    cluster.apply(instance("q", "mock-async", "sync") + "---" + binding("q-creds", "q"))
    assert cluster.reconcile(timeout=30)
    cluster.delete("instance", "q", "apps")
    assert not cluster.reconcile(timeout=1)
    ready = cluster.condition("instance", "q", "apps", "Ready")
    assert ready is not None and ready["reason"] == "DeprovisionBlockedByExistingCredentials"
    assert admin.journal(operation="deprovision") == []
    cluster.delete("binding", "q-creds", "apps")
    assert cluster.reconcile(timeout=30)
    assert cluster.get("instance", "q", "apps") is None
    assert admin.state()["instances"] == []


def test_a_provision_that_times_out_is_orphan_mitigated_and_retried(
    cluster: Cluster, admin: OSBClient
) -> None:
    admin.add_fault(
        {"match": {"operation": "provision"}, "trigger": {"times": 1}, "action": {"delay_ms": 1500}}
    )
    cluster.apply(instance("slow", "mock-async", "sync"))
    assert cluster.reconcile(timeout=30, request_timeout=0.5)
    assert cluster.status("instance", "slow", "apps")["lastConditionState"] == "Ready"
    operations = [
        entry["operation"]
        for entry in admin.journal()
        if entry["operation"] in ("provision", "deprovision")
    ]
    assert "deprovision" in operations and operations[-1] == "provision"
    reasons = [reason for _, reason, _ in cluster.events]
    assert "ErrorCallingProvision" in reasons and "StartingInstanceOrphanMitigation" in reasons
