"""ServiceBinding reconciliation: the bind request, credentials → Secret, transforms,
ownership, terminal failures, orphan mitigation and unbinding."""

from __future__ import annotations

import json
from pathlib import Path

from broker.client import OSBClient
from tests.controller.conftest import BROKER_URL, Cluster, broker_manifest, journal
from tests.controller.test_ctl_instances import instance


def binding(name: str, instance_name: str, extra: str = "", namespace: str = "apps") -> str:
    return f"""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  instanceRef: {{name: {instance_name}}}
{extra}"""


def bound(cluster: Cluster, service: str, plan: str, extra: str = "", *documents: str) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    for document in documents:
        cluster.apply(document)
    cluster.apply(instance("inst", service, plan) + "---\n" + binding("creds", "inst", extra))


def test_a_binding_writes_top_level_credentials_into_its_secret_and_folder(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    bound(cluster, "cloud-provider-service", "service-plan-name")
    assert cluster.reconcile()
    status = cluster.status("binding", "creds", "apps")
    ready = cluster.condition("binding", "creds", "apps", "Ready")
    assert ready is not None and (ready["reason"], ready["message"]) == (
        "InjectedBindResult",
        "Injected bind result",
    )
    assert status["reconciledGeneration"] == 1 and status["unbindStatus"] == "Required"
    data = cluster.secret_data("apps", "creds")  # secretName defaults to the binding's name
    assert data is not None
    key = json.loads(data["key.json"])
    assert key["type"] == "service_account"
    assert list(key) == sorted(key)  # nested objects are written as compact JSON, keys sorted
    assert b" " not in data["key.json"].replace(b"BEGIN PRIVATE KEY", b"").replace(
        b"END PRIVATE KEY", b""
    )
    assert data["port"] == b"5672"  # numbers as Go prints them, strings without quotes
    assert not data["uri"].startswith(b'"')
    folder = cluster.settings.volumes_dir / "apps" / "creds"
    assert json.loads((folder / "key.json").read_text()) == key
    assert (folder / "..data").is_symlink()
    secret = cluster.get("secret", "creds", "apps")
    assert secret is not None
    (owner,) = secret["metadata"]["ownerReferences"]
    assert owner["kind"] == "ServiceBinding" and owner["controller"] is True
    (put,) = journal(broker_admin, operation="bind")
    namespace = cluster.get("namespace", "apps")
    assert namespace is not None
    assert put["body"]["bind_resource"] == {"app_guid": namespace["metadata"]["uid"]}
    assert put["body"]["context"]["instance_name"] == "inst"
    assert put["query"] == {}  # bindings are synchronous
    assert put["originating_identity"]["value"]["username"] == "alice"


def test_secret_transforms_apply_in_order(cluster: Cluster) -> None:
    extra_secret = """
apiVersion: v1
kind: Secret
metadata: {name: extra, namespace: shared}
stringData: {region: eu-1, tier: gold}
"""
    transforms = """  secretName: app-creds
  secretTransforms:
    - addKey: {key: DATABASE_URL, jsonPathExpression: "{.uri}"}
    - addKey: {key: greeting, stringValue: hello}
    - addKey: {key: raw, value: aGk=}
    - renameKey: {from: username, to: DB_USER}
    - renameKey: {from: missing, to: never}
    - addKeysFrom: {secretRef: {namespace: shared, name: extra}}
    - removeKey: {key: password}
    - addKey: {key: key-email, jsonPathExpression: "{['key.json'].client_email}"}
"""
    bound(cluster, "cloud-provider-service", "premium", transforms, extra_secret)
    assert cluster.reconcile()
    data = cluster.secret_data("apps", "app-creds")
    assert data is not None
    assert data["DATABASE_URL"] == data["uri"]
    assert data["greeting"] == b"hello" and data["raw"] == b"hi"
    assert "username" not in data and data["DB_USER"]
    assert "never" not in data and "password" not in data
    assert data["region"] == b"eu-1" and data["tier"] == b"gold"
    assert data["key-email"] == json.loads(data["key.json"])["client_email"].encode()


def test_a_json_path_that_does_not_resolve_fails_injection_and_retries(cluster: Cluster) -> None:
    bound(
        cluster,
        "cloud-provider-service",
        "premium",
        '  secretTransforms:\n    - addKey: {key: x, jsonPathExpression: "{.nope}"}',
    )
    assert not cluster.reconcile(timeout=0.3)
    ready = cluster.condition("binding", "creds", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ErrorInjectingBindResult"
    assert "nope is not found" in ready["message"]
    assert cluster.get("secret", "creds", "apps") is None


def test_a_secret_owned_by_someone_else_is_never_overwritten(
    cluster: Cluster, tmp_path: Path
) -> None:
    mine = """
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: apps}
stringData: {mine: keep}
"""
    bound(cluster, "cloud-provider-service", "premium", "", mine)
    assert not cluster.reconcile(timeout=0.3)
    ready = cluster.condition("binding", "creds", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ErrorInjectingBindResult"
    assert (
        'Secret "apps/creds" is not owned by ServiceBinding, controllerRef: nil' in ready["message"]
    )
    assert cluster.secret_data("apps", "creds") == {"mine": b"keep"}


def test_a_binding_waits_for_its_instance_then_binds(cluster: Cluster) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    cluster.apply(binding("early", "later"))
    assert not cluster.reconcile(timeout=0.2)
    ready = cluster.condition("binding", "early", "apps", "Ready")
    assert ready is not None and ready["reason"] == "ReferencesNonexistentInstance"
    assert ready["message"] == 'References a non-existent ServiceInstance "apps/later"'
    cluster.apply(instance("later", "mock-async", "sync"))
    assert cluster.reconcile()
    assert cluster.status("binding", "early", "apps")["lastConditionState"] == "Ready"


def test_a_bind_500_is_terminal_and_orphan_mitigated(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    bound(cluster, "mock-flaky", "bind-fails-twice")
    assert cluster.reconcile()
    status = cluster.status("binding", "creds", "apps")
    failed = cluster.condition("binding", "creds", "apps", "Failed")
    assert failed is not None and failed["reason"] == "ServiceBindingReturnedFailure"
    assert failed["message"].startswith(
        "ServiceBroker returned failure; bind operation will not be retried: Status: 500"
    )
    ready = cluster.condition("binding", "creds", "apps", "Ready")
    assert ready is not None and ready["reason"] == "OrphanMitigationSuccessful"
    assert status["unbindStatus"] == "Succeeded" and status["reconciledGeneration"] == 1
    assert [entry["status"] for entry in journal(broker_admin, operation="bind")] == [500]
    assert len(journal(broker_admin, operation="unbind")) == 1
    assert cluster.get("secret", "creds", "apps") is None


def test_a_bind_409_is_terminal_without_orphan_mitigation(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    bound(cluster, "mock-async", "sync")
    broker_admin.add_fault({"match": {"operation": "bind"}, "action": {"status": 409}})
    assert cluster.reconcile()
    failed = cluster.condition("binding", "creds", "apps", "Failed")
    assert failed is not None and "Status: 409" in failed["message"]
    assert cluster.status("binding", "creds", "apps").get("orphanMitigationInProgress") is not True
    assert journal(broker_admin, operation="unbind") == []


def test_a_non_bindable_plan_fails_the_binding(cluster: Cluster, broker_admin: OSBClient) -> None:
    broker_admin.put_catalog(
        {
            "services": [
                {
                    "name": "no-bind",
                    "description": "Not bindable",
                    "bindable": False,
                    "plans": [
                        {"name": "only", "description": "The plan"},
                        {"name": "bindable-plan", "description": "Plan override", "bindable": True},
                    ],
                }
            ]
        }
    )
    cluster.apply(broker_manifest(BROKER_URL))
    cluster.apply(instance("inst", "no-bind", "only") + "---\n" + binding("b", "inst"))
    cluster.apply(instance("inst2", "no-bind", "bindable-plan") + "---\n" + binding("b2", "inst2"))
    assert cluster.reconcile()
    failed = cluster.condition("binding", "b", "apps", "Failed")
    assert failed is not None and failed["reason"] == "ErrorNonbindableServiceClass"
    assert failed["message"].startswith("References a non-bindable ClusterServiceClass (K8S: ")
    assert failed["message"].endswith('and Plan ("only") combination')
    assert (
        journal(
            broker_admin,
            operation="bind",
            instance_id=cluster.get("instance", "inst", "apps")["spec"]["externalID"],
        )
        == []
    )  # type: ignore[index]
    assert cluster.status("binding", "b2", "apps")["lastConditionState"] == "Ready"


def test_unbinding_deletes_the_secret_first_and_treats_410_as_gone(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    bound(cluster, "mock-async", "sync")
    assert cluster.reconcile()
    folder = cluster.settings.volumes_dir / "apps" / "creds"
    assert folder.is_dir()
    broker_admin.add_fault({"match": {"operation": "unbind"}, "action": {"status": 410}})
    cluster.delete("binding", "creds", "apps")
    assert cluster.reconcile()
    assert cluster.get("binding", "creds", "apps") is None
    assert cluster.get("secret", "creds", "apps") is None
    assert not folder.exists()
    assert [entry["status"] for entry in journal(broker_admin, operation="unbind")] == [410]


def test_a_failing_unbind_is_retried_until_it_succeeds(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    bound(cluster, "mock-async", "sync")
    assert cluster.reconcile()
    broker_admin.add_fault(
        {
            "match": {"operation": "unbind"},
            "trigger": {"times": 2},
            "action": {"status": 500, "description": "try later"},
        }
    )
    cluster.delete("binding", "creds", "apps")
    assert cluster.reconcile()
    assert cluster.get("binding", "creds", "apps") is None
    assert [entry["status"] for entry in journal(broker_admin, operation="unbind")] == [
        500,
        500,
        200,
    ]
    messages = [message for key, reason, message in cluster.events if reason == "UnbindCallFailed"]
    assert messages and messages[0].startswith(
        'Error unbinding from ServiceInstance "apps/inst" of ClusterServiceClass (K8S: '
    )
