"""ServiceInstance reconciliation against the in-process broker: the provision error
table, orphan mitigation, async polling, updates and deprovisioning."""

from __future__ import annotations

import base64
import json

import pytest

from broker.client import OSBClient
from broker.controller.objects import ApplyError
from tests.controller.conftest import BROKER_URL, Cluster, broker_manifest, journal


def instance(name: str, service: str, plan: str, extra: str = "", namespace: str = "apps") -> str:
    return f"""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  clusterServiceClassExternalName: {service}
  clusterServicePlanExternalName: {plan}
{extra}"""


def assert_deleted_without_a_deprovision(
    cluster: Cluster, broker_admin: OSBClient, name: str
) -> None:
    """Deleting the instance needs no broker call: nothing was provisioned."""
    cluster.delete("instance", name, "apps")
    assert cluster.reconcile()
    assert cluster.get("instance", name, "apps") is None
    assert journal(broker_admin, operation="deprovision") == []


def setup(cluster: Cluster, *documents: str) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    for document in documents:
        cluster.apply(document)


def test_an_async_provision_is_polled_until_the_instance_is_ready(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("queue", "cloud-provider-service", "service-plan-name"))
    assert cluster.reconcile()
    status = cluster.status("instance", "queue", "apps")
    assert status["lastConditionState"] == "Ready"
    ready = cluster.condition("instance", "queue", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ProvisionedSuccessfully"
    assert status["provisionStatus"] == "Provisioned"
    assert status["deprovisionStatus"] == "Required"
    assert status["asyncOpInProgress"] is False
    assert "currentOperation" not in status and "inProgressProperties" not in status
    assert status["externalProperties"]["clusterServicePlanExternalName"] == "service-plan-name"
    assert status["userSpecifiedClassName"] == "ClusterServiceClass/cloud-provider-service"
    assert status["observedGeneration"] == 1 and status["reconciledGeneration"] == 1
    polls = journal(broker_admin, operation="last_operation")
    assert len(polls) == 3
    assert polls[0]["query"]["operation"].startswith("provision-")
    reasons = cluster.reasons("queue")
    assert reasons[0] == "Provisioning" and reasons[-1] == "ProvisionedSuccessfully"


def test_the_provision_request_carries_context_identity_and_cluster_ids(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("db", "mock-database", "small", "  parameters: {storage_gb: 5}"))
    assert cluster.reconcile()
    obj = cluster.get("instance", "db", "apps")
    assert obj is not None
    (put,) = journal(broker_admin, operation="provision")
    state = cluster.store.read()
    namespace = cluster.get("namespace", "apps")
    assert namespace is not None
    assert put["path"] == f"/v2/service_instances/{obj['spec']['externalID']}"
    assert put["query"] == {"accepts_incomplete": "true"}
    assert put["headers"]["X-Broker-Api-Version"] == "2.14"
    assert put["body"]["organization_guid"] == state.cluster_id
    assert put["body"]["space_guid"] == namespace["metadata"]["uid"]
    assert put["body"]["parameters"] == {"storage_gb": 5}
    assert put["body"]["context"] == {
        "platform": "kubernetes",
        "namespace": "apps",
        "clusterid": state.cluster_id,
        "instance_name": "db",
    }
    assert put["originating_identity"] == {
        "platform": "kubernetes",
        "value": {
            "username": "alice",
            "uid": "",
            "groups": ["system:authenticated"],
            "extra": {},
        },
    }
    assert obj["spec"]["clusterServiceClassRef"]["name"] == put["body"]["service_id"]
    assert obj["spec"]["clusterServicePlanRef"]["name"] == put["body"]["plan_id"]
    checksum = obj["status"]["externalProperties"]["parameterChecksum"]
    assert len(checksum) == 64


def test_a_400_provision_is_terminal_without_retry_or_orphan_mitigation(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("bad", "mock-flaky", "provision-fails-400"))
    assert cluster.reconcile()
    status = cluster.status("instance", "bad", "apps")
    failed = cluster.condition("instance", "bad", "apps", "Failed")
    ready = cluster.condition("instance", "bad", "apps", "Ready")
    assert failed is not None and failed["reason"] == "ClusterServiceBrokerReturnedFailure"
    assert ready is not None and ready["reason"] == "ProvisionCallFailed"
    assert (
        "Status: 400; ErrorMessage: BadRequest; Description: Injected terminal failure"
        in ready["message"]
    )
    assert ready["message"].startswith(
        'Error provisioning ServiceInstance of ClusterServiceClass (K8S: "'
    )
    assert status["lastConditionState"] == "Failed"
    assert status["deprovisionStatus"] == "NotRequired"
    assert "currentOperation" not in status
    assert len(journal(broker_admin, operation="provision")) == 1
    assert journal(broker_admin, operation="deprovision") == []
    assert_deleted_without_a_deprovision(cluster, broker_admin, "bad")


def test_a_500_provision_is_orphan_mitigated_then_retried_until_it_succeeds(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("flaky", "mock-flaky", "provision-fails-500-3x"))
    assert cluster.reconcile()
    assert cluster.status("instance", "flaky", "apps")["lastConditionState"] == "Ready"
    assert cluster.condition("instance", "flaky", "apps", "Failed") is None
    assert cluster.condition("instance", "flaky", "apps", "OrphanMitigation") is None
    calls = [
        (entry["operation"], entry["status"])
        for entry in journal(broker_admin)
        if entry["operation"] in ("provision", "deprovision")
    ]
    assert calls == [("provision", 500), ("deprovision", 410)] * 3 + [("provision", 201)]
    reasons = cluster.reasons("flaky")
    assert reasons.count("StartingInstanceOrphanMitigation") == 3
    assert reasons.count("OrphanMitigationSuccessful") == 3
    assert "RetryBackoff" in reasons


def test_an_async_provision_that_fails_is_orphan_mitigated_and_not_provisioned_again(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("doomed", "mock-async", "failing"))
    assert cluster.reconcile()
    status = cluster.status("instance", "doomed", "apps")
    failed = cluster.condition("instance", "doomed", "apps", "Failed")
    assert failed is not None and failed["reason"] == "ProvisionCallFailed"
    assert failed["message"] == "Provision call failed: The mock cloud ran out of capacity"
    ready = cluster.condition("instance", "doomed", "apps", "Ready")
    assert ready is not None and ready["reason"] == "OrphanMitigationSuccessful"
    assert cluster.condition("instance", "doomed", "apps", "OrphanMitigation") is None
    assert status["lastConditionState"] == "Failed"
    assert status["orphanMitigationInProgress"] is False
    assert status["provisionStatus"] == "NotProvisioned"
    assert len(journal(broker_admin, operation="provision")) == 1
    (delete,) = journal(broker_admin, operation="deprovision")
    assert delete["query"]["accepts_incomplete"] == "true"
    reasons = cluster.reasons("doomed")
    assert reasons[-2:] == ["StartingInstanceOrphanMitigation", "OrphanMitigationSuccessful"]


def test_a_failing_orphan_mitigation_keeps_trying_and_can_be_abandoned(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("doomed", "mock-async", "manual"))
    assert not cluster.reconcile(timeout=0.2)
    (put,) = journal(broker_admin, operation="provision")
    broker_admin.finish_operation(put["response"]["operation"], "failed", "no capacity")
    broker_admin.add_fault({"match": {"operation": "deprovision"}, "action": {"status": 500}})
    assert not cluster.reconcile(timeout=0.5)
    mitigation = cluster.condition("instance", "doomed", "apps", "OrphanMitigation")
    assert mitigation is not None and mitigation["reason"] == "ProvisionCallFailed"
    ready = cluster.condition("instance", "doomed", "apps", "Ready")
    assert ready is not None and (ready["status"], ready["reason"]) == (
        "Unknown",
        "DeprovisionCallFailed",
    )
    assert cluster.status("instance", "doomed", "apps")["lastConditionState"] == "OrphanMitigation"
    assert len(journal(broker_admin, operation="deprovision")) >= 2
    cluster.delete("instance", "doomed", "apps", abandon=True)
    assert cluster.get("instance", "doomed", "apps") is None


def test_an_async_provision_failure_after_orphan_mitigation_stays_failed(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("doomed", "mock-async", "manual"))
    assert not cluster.reconcile(timeout=0.2)
    (put,) = journal(broker_admin, operation="provision")
    broker_admin.finish_operation(put["response"]["operation"], "failed", "no capacity")
    assert cluster.reconcile()
    (delete,) = journal(broker_admin, operation="deprovision")
    assert delete["status"] in (200, 410)  # the broker kept nothing of the failed instance
    status = cluster.status("instance", "doomed", "apps")
    assert status["lastConditionState"] == "Failed"
    ready = cluster.condition("instance", "doomed", "apps", "Ready")
    assert ready is not None and ready["reason"] == "OrphanMitigationSuccessful"
    assert cluster.condition("instance", "doomed", "apps", "OrphanMitigation") is None
    assert (
        status["provisionStatus"] == "NotProvisioned" and status["deprovisionStatus"] == "Succeeded"
    )
    assert len(journal(broker_admin, operation="provision")) == 1


def test_a_409_provision_is_retried_without_orphan_mitigation(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("conflicted", "mock-async", "sync"))
    broker_admin.add_fault(
        {
            "match": {"operation": "provision"},
            "trigger": {"times": 2},
            "action": {"status": 409, "error": "Conflict", "description": "busy"},
        }
    )
    assert cluster.reconcile()
    assert cluster.status("instance", "conflicted", "apps")["lastConditionState"] == "Ready"
    assert [entry["status"] for entry in journal(broker_admin, operation="provision")] == [
        409,
        409,
        201,
    ]
    assert journal(broker_admin, operation="deprovision") == []


def test_an_unreferenced_class_leaves_the_instance_waiting_and_deletable(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("ghost", "no-service-class", "no-plan"))
    assert not cluster.reconcile(timeout=0.5)
    ready = cluster.condition("instance", "ghost", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ReferencesNonexistentServiceClass"
    assert ready["message"] == (
        "The instance references a ClusterServiceClass that does not exist. "
        "References a non-existent ClusterServiceClass "
        '{ClusterServiceClassExternalName:"no-service-class"} '
        "or there is more than one (found: 0)"
    )
    assert_deleted_without_a_deprovision(cluster, broker_admin, "ghost")


def test_a_plan_change_sends_a_patch_with_previous_values_and_polls_an_async_update(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("db", "mock-database", "small", "  parameters: {storage_gb: 5}"))
    assert cluster.reconcile()
    small = cluster.status("instance", "db", "apps")["externalProperties"][
        "clusterServicePlanExternalID"
    ]
    cluster.apply(instance("db", "mock-database", "large", "  parameters: {storage_gb: 5}"))
    assert cluster.reconcile()
    status = cluster.status("instance", "db", "apps")
    assert status["lastConditionState"] == "Ready"
    assert (
        cluster.condition("instance", "db", "apps", "Ready")["reason"]
        == "InstanceUpdatedSuccessfully"
    )  # type: ignore[index]
    assert status["externalProperties"]["clusterServicePlanExternalName"] == "large"
    assert status["observedGeneration"] == 2
    (patch,) = journal(broker_admin, operation="update")
    assert patch["status"] == 200
    assert patch["body"]["plan_id"] == status["externalProperties"]["clusterServicePlanExternalID"]
    assert patch["body"]["previous_values"] == {
        "plan_id": small,
        "service_id": patch["body"]["service_id"],
    }
    assert "parameters" not in patch["body"]  # unchanged parameters are not sent


def test_an_async_update_is_polled_to_completion(cluster: Cluster, broker_admin: OSBClient) -> None:
    setup(cluster, instance("svc", "mock-async", "polls"))
    assert cluster.reconcile()
    cluster.apply(instance("svc", "mock-async", "polls", "  updateRequests: 1"))
    assert cluster.reconcile()
    (patch,) = journal(broker_admin, operation="update")
    assert patch["status"] == 202 and patch["query"] == {"accepts_incomplete": "true"}
    reasons = cluster.reasons("svc")
    assert reasons[-2:] == ["UpdatingInstance", "InstanceUpdatedSuccessfully"]
    polls = journal(broker_admin, operation="last_operation", since=patch["id"])
    assert len(polls) == 3 and all(
        entry["query"]["operation"] == patch["response"]["operation"] for entry in polls
    )


def test_a_parameter_change_sends_the_full_map_and_an_update_requests_bump_sends_neither(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("db", "mock-database", "small", "  parameters: {storage_gb: 5}"))
    assert cluster.reconcile()
    cluster.apply(
        instance(
            "db", "mock-database", "small", "  parameters: {storage_gb: 8, extensions: [postgis]}"
        )
    )
    assert cluster.reconcile()
    cluster.apply(
        instance(
            "db",
            "mock-database",
            "small",
            "  parameters: {storage_gb: 8, extensions: [postgis]}\n  updateRequests: 1",
        )
    )
    assert cluster.reconcile()
    first, second = journal(broker_admin, operation="update")
    assert first["body"]["parameters"] == {"storage_gb": 8, "extensions": ["postgis"]}
    assert "plan_id" not in first["body"]
    assert "parameters" not in second["body"] and "plan_id" not in second["body"]
    assert cluster.status("instance", "db", "apps")["observedGeneration"] == 3


def test_parameters_from_a_secret_are_sent_and_redacted_in_the_status(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    secret = """
apiVersion: v1
kind: Secret
metadata: {name: db-params, namespace: apps}
stringData:
  options: '{"backup": {"enabled": true, "retention_days": 7}}'
"""
    setup(
        cluster,
        secret,
        instance(
            "db",
            "mock-database",
            "small",
            """  parameters: {storage_gb: 5}
  parametersFrom:
    - secretKeyRef: {name: db-params, key: options}""",
        ),
    )
    assert cluster.reconcile()
    (put,) = journal(broker_admin, operation="provision")
    assert put["body"]["parameters"] == {
        "storage_gb": 5,
        "backup": {"enabled": True, "retention_days": 7},
    }
    external = cluster.status("instance", "db", "apps")["externalProperties"]
    assert external["parameters"] == {"storage_gb": 5, "backup": "<redacted>"}


def test_a_bad_parameters_secret_gives_error_with_parameters_and_no_call(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    secret = """
apiVersion: v1
kind: Secret
metadata: {name: db-params, namespace: apps}
stringData: {options: 'not json'}
"""
    setup(
        cluster,
        secret,
        instance(
            "db",
            "mock-database",
            "small",
            """  parametersFrom:
    - secretKeyRef: {name: db-params, key: options}""",
        ),
    )
    assert not cluster.reconcile(timeout=0.3)
    ready = cluster.condition("instance", "db", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ErrorWithParameters"
    assert "failed to unmarshal parameters as JSON object" in ready["message"]
    assert journal(broker_admin, operation="provision") == []
    # Fixing the Secret and bumping updateRequests is how a user retries.
    fixed = base64.b64encode(json.dumps({"storage_gb": 3}).encode()).decode()
    cluster.apply(
        secret.replace("stringData: {options: 'not json'}", f"data: {{options: {fixed}}}")
    )
    assert cluster.reconcile()
    assert cluster.status("instance", "db", "apps")["lastConditionState"] == "Ready"


def test_deprovision_waits_for_bindings_and_then_polls_an_async_delete(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    binding = """
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {name: queue-binding, namespace: apps}
spec:
  instanceRef: {name: queue}
"""
    setup(cluster, instance("queue", "cloud-provider-service", "service-plan-name"), binding)
    assert cluster.reconcile()
    cluster.delete("instance", "queue", "apps")
    assert not cluster.reconcile(timeout=0.3)
    ready = cluster.condition("instance", "queue", "apps", "Ready")
    assert ready is not None and ready["reason"] == "DeprovisionBlockedByExistingCredentials"
    assert ready["message"] == (
        "All associated ServiceBindings must be removed before this ServiceInstance can be deleted"
    )
    assert journal(broker_admin, operation="deprovision") == []
    cluster.delete("binding", "queue-binding", "apps")
    assert cluster.reconcile()
    assert cluster.get("instance", "queue", "apps") is None
    (delete,) = journal(broker_admin, operation="deprovision")
    assert delete["status"] == 202
    assert broker_admin.state()["instances"] == []


def test_disabling_orphan_mitigation_retries_a_500_without_a_delete(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster, instance("flaky", "mock-flaky", "provision-fails-500-3x"))
    assert cluster.reconcile(orphan_mitigation=False)
    assert cluster.status("instance", "flaky", "apps")["lastConditionState"] == "Ready"
    assert journal(broker_admin, operation="deprovision") == []
    assert len(journal(broker_admin, operation="provision")) == 4


def test_instances_may_name_class_and_plan_by_external_id_or_kubernetes_name(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    setup(cluster)
    catalog = OSBClient(
        BROKER_URL, username="broker", password="broker", transport=cluster.transport
    ).catalog()
    service, plan = catalog.plan("mock-async", "sync")
    cluster.apply(f"""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {{name: by-id, namespace: apps}}
spec:
  clusterServiceClassExternalID: {service["id"]}
  clusterServicePlanExternalID: {plan["id"]}
  externalID: 11111111-2222-3333-4444-555555555555
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {{name: by-k8s-name, namespace: apps}}
spec:
  clusterServiceClassName: {service["id"]}
  clusterServicePlanName: {plan["id"]}
""")
    assert cluster.reconcile()
    for name in ("by-id", "by-k8s-name"):
        assert cluster.status("instance", name, "apps")["lastConditionState"] == "Ready"
    assert [entry["instance_id"] for entry in journal(broker_admin, operation="provision")][0] == (
        "11111111-2222-3333-4444-555555555555"
    )


def test_a_class_with_one_plan_fills_the_plan_and_one_with_many_needs_it(cluster: Cluster) -> None:
    setup(cluster)
    cluster.apply("""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: drain, namespace: apps}
spec: {clusterServiceClassExternalName: mock-log-drain}
""")
    obj = cluster.get("instance", "drain", "apps")
    assert obj is not None and obj["spec"]["clusterServicePlanExternalName"] == "default"
    with pytest.raises(ApplyError, match="has more than one plan, PlanName must be specified"):
        cluster.apply("""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: many, namespace: apps}
spec: {clusterServiceClassExternalName: mock-database}
""")
    assert cluster.reconcile()
    assert cluster.status("instance", "drain", "apps")["lastConditionState"] == "Ready"


def test_a_spec_change_while_an_operation_runs_is_refused(cluster: Cluster) -> None:
    setup(cluster, instance("slow", "mock-async", "manual"))
    assert not cluster.reconcile(timeout=0.2)
    with pytest.raises(ApplyError, match="Another update for this service instance is in progress"):
        cluster.apply(instance("slow", "mock-async", "manual", "  updateRequests: 1"))
