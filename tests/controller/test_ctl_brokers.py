"""ClusterServiceBroker: catalog → classes and plans, auth, relists and deletion."""

from __future__ import annotations

from broker.client import OSBClient
from broker.controller.objects import k8s_name, label_value
from tests.controller.conftest import BROKER_URL, Cluster, broker_manifest, journal
from tests.support.clock import FakeClock


def test_the_catalog_becomes_classes_and_plans_named_by_their_ids(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    broker = cluster.get("broker", "mockbroker")
    assert broker is not None
    ready = cluster.condition("broker", "mockbroker", "", "Ready")
    assert ready is not None and ready["reason"] == "FetchedCatalog"
    assert ready["message"] == "Successfully fetched catalog entries from broker."
    assert (
        broker["status"]["reconciledGeneration"] == 1
        and broker["status"]["lastCatalogRetrievalTime"]
    )
    catalog = OSBClient(
        BROKER_URL, username="broker", password="broker", transport=cluster.transport
    ).catalog()
    classes = {obj["metadata"]["name"]: obj for obj in cluster.list("classes")}
    plans = {obj["metadata"]["name"]: obj for obj in cluster.list("plans")}
    assert len(classes) == len(catalog.services)
    assert len(plans) == sum(len(service["plans"]) for service in catalog.services)
    service, plan = catalog.plan("cloud-provider-service", "service-plan-name")
    cls = classes[service["id"]]  # lowercase GUIDs are their own Kubernetes names
    assert cls["spec"]["externalName"] == "cloud-provider-service"
    assert cls["spec"]["clusterServiceBrokerName"] == "mockbroker"
    assert cls["spec"]["planUpdatable"] is False and cls["spec"]["bindable"] is True
    assert cls["metadata"]["labels"]["servicecatalog.k8s.io/spec.externalName"] == label_value(
        "cloud-provider-service"
    )
    assert cls["metadata"]["ownerReferences"][0]["uid"] == broker["metadata"]["uid"]
    entry = plans[plan["id"]]
    assert entry["spec"]["clusterServiceClassRef"] == {"name": service["id"]}
    assert entry["spec"]["free"] is True
    assert "bindable" not in entry["spec"]  # set only when the plan declares it
    _, premium = catalog.plan("cloud-provider-service", "premium")
    assert plans[premium["id"]]["spec"]["free"] is False
    _, small = catalog.plan("mock-database", "small")
    assert plans[small["id"]]["spec"]["instanceCreateParameterSchema"]["properties"]["storage_gb"]
    request = journal(broker_admin, operation="catalog")[0]  # the controller's, before ours
    assert request["headers"]["X-Broker-Api-Version"] == "2.14"
    assert request["originating_identity"] is None


def test_kubernetes_names_escape_what_a_name_cannot_hold() -> None:
    assert (
        k8s_name("4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468") == "4f6e6cf6-ffdd-425f-a2c7-3c9258ad2468"
    )
    assert k8s_name("My_Service") == "z4dzyz5fzz53zervice"
    assert k8s_name("azure.sql") == "az7azure.sql"
    assert k8s_name("-edge-") == "z2dzedgez2dz"
    long_name = k8s_name("A" * 40)
    assert len(long_name) == 30 + 1 + 32 and long_name.startswith("z41zz41z")
    assert (
        label_value("user-provided-service")
        == "730d36fa34c1b3308cbf85856900e29eac970fdb23febe2c193c4ea5"
    )


def test_wrong_credentials_in_the_auth_secret_leave_the_broker_not_ready(cluster: Cluster) -> None:
    cluster.apply(broker_manifest(BROKER_URL, password="wrong"))
    assert not cluster.reconcile(timeout=0.3)
    ready = cluster.condition("broker", "mockbroker", "", "Ready")
    assert ready is not None and ready["reason"] == "ErrorFetchingCatalog"
    assert ready["message"].startswith(
        "Error fetching catalog.Error getting broker catalog: Status: 401"
    )
    assert cluster.list("classes") == []
    # Fixing the Secret is enough: credentials are read on every attempt.
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    assert cluster.list("classes")


def test_an_auth_secret_without_a_password_is_reported_as_service_catalog_does(
    cluster: Cluster,
) -> None:
    cluster.apply(broker_manifest(BROKER_URL).replace("password: broker", "other: x"))
    assert not cluster.reconcile(timeout=0.3)
    ready = cluster.condition("broker", "mockbroker", "", "Ready")
    assert ready is not None and ready["message"] == (
        "Error fetching catalog.Error getting broker auth credentials: "
        "auth secret didn't contain password"
    )
    reasons = [event["reason"] for event in cluster.events_of("broker", "mockbroker")]
    assert "ErrorGettingAuthCredentials" in reasons


def test_entries_that_leave_the_catalog_are_marked_then_deleted_when_unused(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    document = {
        "services": [
            {
                "name": "keeps",
                "description": "stays",
                "bindable": True,
                "plans": [{"name": "a", "description": "a"}, {"name": "b", "description": "b"}],
            },
            {
                "name": "goes",
                "description": "leaves",
                "bindable": True,
                "plans": [{"name": "a", "description": "a"}],
            },
        ]
    }
    broker_admin.put_catalog(document)
    cluster.apply(broker_manifest(BROKER_URL))
    cluster.apply("""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {name: user, namespace: apps}
spec: {clusterServiceClassExternalName: keeps, clusterServicePlanExternalName: b}
""")
    assert cluster.reconcile()
    document["services"] = [
        {**document["services"][0], "plans": [{"name": "a", "description": "a"}]}
    ]
    broker_admin.put_catalog(document)
    broker = cluster.get("broker", "mockbroker")
    assert broker is not None
    cluster.apply(
        broker_manifest(BROKER_URL).replace("  authInfo:", "  relistRequests: 1\n  authInfo:")
    )
    assert cluster.reconcile()
    names = {obj["spec"]["externalName"]: obj for obj in cluster.list("classes")}
    assert set(names) == {"keeps"}  # "goes" had no instance: deleted
    plans = {obj["spec"]["externalName"]: obj for obj in cluster.list("plans")}
    assert plans["b"]["status"]["removedFromBrokerCatalog"] is True  # still used by "user"
    assert plans["a"]["status"]["removedFromBrokerCatalog"] is False
    cluster.delete("instance", "user", "apps")
    assert cluster.reconcile()
    assert {obj["spec"]["externalName"] for obj in cluster.list("plans")} == {"a"}


def test_deleting_a_broker_removes_its_classes_and_plans(cluster: Cluster) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    assert cluster.list("classes")
    cluster.delete("broker", "mockbroker")
    assert cluster.reconcile()
    assert cluster.get("broker", "mockbroker") is None
    assert cluster.list("classes") == [] and cluster.list("plans") == []


def test_a_relist_request_fetches_the_catalog_again(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    assert cluster.reconcile()  # nothing due: no second fetch
    assert len(journal(broker_admin, operation="catalog")) == 1
    cluster.apply(
        broker_manifest(BROKER_URL).replace("  authInfo:", "  relistRequests: 1\n  authInfo:")
    )
    assert cluster.reconcile()
    assert len(journal(broker_admin, operation="catalog")) == 2
    broker = cluster.get("broker", "mockbroker")
    assert broker is not None and broker["status"]["reconciledGeneration"] == 2


def test_a_bearer_token_from_the_auth_secret_is_sent(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from broker.app import create_app
    from tests.controller.conftest import fast_settings

    app = create_app(settings.replace(bearer_tokens=("t0k3n",)))
    cluster = Cluster(tmp_path, fast_settings(tmp_path), httpx.WSGITransport(app=app))
    cluster.apply(f"""
apiVersion: v1
kind: Secret
metadata: {{name: token, namespace: catalog}}
stringData: {{token: t0k3n}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {{name: bearer}}
spec:
  url: {BROKER_URL}
  authInfo: {{bearer: {{secretRef: {{namespace: catalog, name: token}}}}}}
""")
    assert cluster.reconcile()
    assert cluster.status("broker", "bearer")["lastConditionState"] == "Ready"
    assert cluster.list("classes")


def test_a_duration_broker_relists_after_its_relist_duration(
    cluster: Cluster, broker_admin: OSBClient
) -> None:
    import time

    cluster.clock = FakeClock(time.time())  # a slow pass must not count as the second
    cluster.apply(
        broker_manifest(BROKER_URL).replace("  authInfo:", "  relistDuration: 1s\n  authInfo:")
    )
    assert cluster.reconcile()
    assert len(journal(broker_admin, operation="catalog")) == 1
    cluster.clock.advance(1.1)
    assert cluster.reconcile()
    assert len(journal(broker_admin, operation="catalog")) == 2
    cluster.apply(
        broker_manifest(BROKER_URL).replace("  authInfo:", "  relistBehavior: Manual\n  authInfo:")
    )
    assert (
        cluster.reconcile()
    )  # the spec changed: one more fetch, then no relist for a Manual broker
    cluster.clock.advance(1.1)
    assert cluster.reconcile()
    assert len(journal(broker_admin, operation="catalog")) == 3
