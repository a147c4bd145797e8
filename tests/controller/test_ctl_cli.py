"""``mockbroker ctl`` commands: apply (validation, admission), get, describe, delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from broker.cli import main
from broker.controller.objects import ObjectKey, Store

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"


@pytest.fixture
def ctl(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(
            main,
            ["ctl", "--state-dir", str(tmp_path / "ctl"), *args],
            input=stdin,
            catch_exceptions=False,
        )

    return invoke


def test_the_seed_manifests_apply_verbatim_and_the_pod_is_stored_with_a_note(ctl) -> None:  # type: ignore[no-untyped-def]
    result = ctl("apply", "-f", str(SEED))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "secret/mockbroker-auth created",
        "clusterservicebroker.servicecatalog.k8s.io/mockbroker created",
        "serviceinstance.servicecatalog.k8s.io/cloud-queue-instance created",
        "servicebinding.servicecatalog.k8s.io/cloud-queue-binding created",
        "pod/cloud-queue-app created",
    ]
    assert "stored, not run" in result.stderr
    again = ctl("apply", "-f", str(SEED))
    assert [line.rsplit(" ", 1)[1] for line in again.stdout.splitlines()] == ["unchanged"] * 5
    pods = ctl("get", "pods", "-n", "cloud-apps")
    assert pods.stdout.splitlines()[1].split()[:3] == ["cloud-queue-app", "Stored", "0/1"]
    described = ctl("describe", "pod", "cloud-queue-app", "-n", "cloud-apps").stdout
    assert "SecretName:  sa-key" in described
    assert "cloud-apps/sa-key:/var/secrets/provider:ro" in described


def test_apply_fills_the_defaults_service_catalog_sets(ctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED)).exit_code == 0
    state = Store(tmp_path / "ctl").read()
    instance = state.get(ObjectKey("ServiceInstance", "cloud-apps", "cloud-queue-instance"))
    binding = state.get(ObjectKey("ServiceBinding", "cloud-apps", "cloud-queue-binding"))
    broker = state.get(ObjectKey("ClusterServiceBroker", "", "mockbroker"))
    assert instance and binding and broker
    assert instance["metadata"]["finalizers"] == ["kubernetes-incubator/service-catalog"]
    assert len(instance["spec"]["externalID"]) == 36 and instance["spec"]["updateRequests"] == 0
    assert instance["spec"]["userInfo"]["username"]
    assert instance["status"] == {}
    assert binding["spec"]["secretName"] == "sa-key"
    assert broker["spec"]["relistBehavior"] == "Duration"
    secret = state.get(ObjectKey("Secret", "cloud-apps", "mockbroker-auth"))
    assert secret is not None and secret["data"] == {"username": "YnJva2Vy", "password": "YnJva2Vy"}
    assert state.get(ObjectKey("Namespace", "", "cloud-apps")) is not None


def test_an_invalid_document_applies_nothing_and_names_every_problem(ctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = """
apiVersion: v1
kind: Secret
metadata: {name: fine, namespace: apps}
stringData: {a: b}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: Bad_Name, namespace: apps}
spec:
  clusterServicePlanExternalName: p
  parameters: {}
  typo: 1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
"""
    result = ctl("apply", "-f", "-", stdin=bad)
    assert result.exit_code == 1
    assert "nothing was applied" in result.stderr
    assert (
        "<stdin> (document 2): metadata.name: must be a lowercase RFC 1123 subdomain"
        in result.stderr
    )
    assert "<stdin> (document 2): spec.parameters: must not be empty if present" in result.stderr
    assert "<stdin> (document 2): spec.typo: Unknown field." in result.stderr
    assert "<stdin> (document 3): kind Deployment (apps/v1) is not supported" in result.stderr
    assert Store(tmp_path / "ctl").read().list("Secret") == []


def test_a_missing_file_and_broken_yaml_are_reported(ctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert 'the path "nope.yaml" does not exist' in ctl("apply", "-f", "nope.yaml").stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    result = ctl("apply", "-f", str(broken))
    assert result.exit_code == 1 and "not valid YAML" in result.stderr


def test_instance_updates_follow_the_webhook_rules(ctl) -> None:  # type: ignore[no-untyped-def]
    base = """
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: db, namespace: apps}
spec:
  clusterServiceClassExternalName: %s
  clusterServicePlanExternalName: small
  updateRequests: %d
"""
    assert ctl("apply", "-f", "-", stdin=base % ("mock-database", 2)).exit_code == 0
    moved = ctl("apply", "-f", "-", stdin=base % ("other-service", 2))
    assert moved.exit_code == 1
    assert (
        "spec.clusterServiceClassExternalName: Invalid value: 'other-service': field is immutable"
        in moved.stderr
    )
    lowered = ctl("apply", "-f", "-", stdin=base % ("mock-database", 1))
    assert "spec.updateRequests: Invalid value: 1: must not be decreased" in lowered.stderr
    kept = ctl("apply", "-f", "-", stdin=base % ("mock-database", 0))
    assert kept.stdout.strip().endswith("unchanged")


def test_a_binding_spec_cannot_change(ctl) -> None:  # type: ignore[no-untyped-def]
    binding = """
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: b, namespace: apps}
spec: {instanceRef: {name: %s}}
"""
    assert ctl("apply", "-f", "-", stdin=binding % "one").exit_code == 0
    result = ctl("apply", "-f", "-", stdin=binding % "two")
    assert result.stdout.strip() == "servicebinding.servicecatalog.k8s.io/b unchanged"
    assert "cannot change" in result.stderr


def test_namespaced_class_references_are_refused_with_a_hint(ctl) -> None:  # type: ignore[no-untyped-def]
    result = ctl(
        "apply",
        "-f",
        "-",
        stdin="""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: x, namespace: apps}
spec: {serviceClassExternalName: a, servicePlanExternalName: b}
""",
    )
    assert (
        result.exit_code == 1
        and "use the clusterServiceClass*/clusterServicePlan* fields" in result.stderr
    )


def test_get_prints_tables_yaml_json_and_not_found(ctl) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED)).exit_code == 0
    table = ctl("get", "serviceinstances", "-n", "cloud-apps").stdout.splitlines()
    assert table[0].split() == ["NAME", "CLASS", "PLAN", "STATUS", "AGE"]
    assert table[1].split()[:3] == [
        "cloud-queue-instance",
        "ClusterServiceClass/cloud-provider-service",
        "service-plan-name",
    ]
    wide = ctl("get", "instances", "-A", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAMESPACE",
        "NAME",
        "CLASS",
        "PLAN",
        "STATUS",
        "AGE",
        "EXTERNAL-ID",
        "DASHBOARD",
    ]
    as_yaml = yaml.safe_load(
        ctl("get", "binding", "cloud-queue-binding", "-n", "cloud-apps", "-o", "yaml").stdout
    )
    assert as_yaml["spec"]["secretName"] == "sa-key"
    as_json = json.loads(ctl("get", "brokers", "-o", "json").stdout)
    assert as_json["kind"] == "List" and as_json["items"][0]["metadata"]["name"] == "mockbroker"
    missing = ctl("get", "instance", "nope", "-n", "cloud-apps")
    assert missing.exit_code == 1
    assert 'serviceinstances.servicecatalog.k8s.io "nope" not found' in missing.stderr
    assert "No resources found in default namespace." in ctl("get", "instances").stderr
    assert "doesn't have a resource type" in ctl("get", "widgets").stderr


def test_describe_reads_like_kubectl(ctl) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED)).exit_code == 0
    text = ctl("describe", "serviceinstance", "cloud-queue-instance", "-n", "cloud-apps").stdout
    assert text.splitlines()[0] == "Name:         cloud-queue-instance"
    assert "API Version:  servicecatalog.k8s.io/v1beta1" in text
    assert "  Cluster Service Class External Name:  cloud-provider-service" in text
    assert "  External ID:" in text
    assert text.rstrip().endswith("Events:  <none>")
    secret = ctl("describe", "secret", "mockbroker-auth", "-n", "cloud-apps").stdout
    assert (
        "password:  6 bytes" in secret
        and "broker" not in secret.split("Data")[1].split("Folder")[0]
    )


def test_delete_marks_finalized_objects_and_removes_the_rest(ctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED)).exit_code == 0
    folder = tmp_path / "ctl" / "secrets" / "cloud-apps" / "mockbroker-auth"
    assert (folder / "username").read_text() == "broker"
    result = ctl("delete", "instance", "cloud-queue-instance", "-n", "cloud-apps")
    assert (
        result.stdout.strip()
        == 'serviceinstance.servicecatalog.k8s.io "cloud-queue-instance" deleted'
    )
    state = Store(tmp_path / "ctl").read()
    instance = state.get(ObjectKey("ServiceInstance", "cloud-apps", "cloud-queue-instance"))
    assert instance is not None and instance["metadata"]["deletionTimestamp"]
    assert ctl("delete", "secret", "mockbroker-auth", "-n", "cloud-apps").exit_code == 0
    assert not folder.exists()
    refused = ctl("apply", "-f", str(SEED / "03-binding.yaml"))
    assert refused.exit_code == 0  # the binding exists already: unchanged
    gone = ctl("delete", "binding", "nope", "-n", "cloud-apps")
    assert gone.exit_code == 1 and "not found" in gone.stderr
    abandoned = ctl("delete", "instance", "cloud-queue-instance", "-n", "cloud-apps", "--abandon")
    assert abandoned.exit_code == 0
    assert (
        Store(tmp_path / "ctl")
        .read()
        .get(ObjectKey("ServiceInstance", "cloud-apps", "cloud-queue-instance"))
        is None
    )


def test_a_binding_to_an_instance_being_deleted_is_refused(ctl) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED / "02-instance.yaml")).exit_code == 0
    assert ctl("delete", "instance", "cloud-queue-instance", "-n", "cloud-apps").exit_code == 0
    refused = ctl("apply", "-f", str(SEED / "03-binding.yaml"))
    assert refused.exit_code == 1
    assert (
        "ServiceBinding cloud-apps/cloud-queue-binding references a ServiceInstance that is being "
        "deleted: cloud-apps/cloud-queue-instance"
    ) in refused.stderr


def test_secrets_are_written_under_the_secrets_dir_given(tmp_path: Path) -> None:
    runner = CliRunner()
    volumes = tmp_path / "volumes"
    result = runner.invoke(
        main,
        [
            "ctl",
            "--state-dir",
            str(tmp_path / "state"),
            "--secrets-dir",
            str(volumes),
            "apply",
            "-f",
            str(SEED / "01-broker.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (volumes / "cloud-apps" / "mockbroker-auth" / "password").read_text() == "broker"
    assert not (tmp_path / "state" / "secrets").exists()


def test_namespaces_appear_on_use_and_go_only_when_empty(ctl) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED / "01-broker.yaml")).exit_code == 0
    listed = ctl("get", "namespaces").stdout.splitlines()
    assert listed[1].split()[:2] == ["cloud-apps", "Active"]
    refused = ctl("delete", "namespace", "cloud-apps")
    assert (
        refused.exit_code == 1
        and 'namespace "cloud-apps" still holds 1 object(s)' in refused.stderr
    )
    assert ctl("delete", "secret", "mockbroker-auth", "-n", "cloud-apps").exit_code == 0
    assert ctl("delete", "namespace", "cloud-apps").exit_code == 0
    assert "No resources found" in ctl("get", "namespaces").stderr


def test_a_secret_can_be_exported_into_a_folder_for_a_volume(ctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert ctl("apply", "-f", str(SEED / "01-broker.yaml")).exit_code == 0
    target = tmp_path / "export"
    result = ctl(
        "get", "secret", "mockbroker-auth", "-n", "cloud-apps", "--output-dir", str(target)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"secret/mockbroker-auth: 2 key(s) written to {target}"
    assert (target / "username").read_text() == "broker" and (target / "..data").is_symlink()
    wrong = ctl("get", "pods", "--output-dir", str(target))
    assert wrong.exit_code == 1 and "--output-dir needs one Secret" in wrong.stderr
