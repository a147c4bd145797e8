"""The controller graded by the broker's platform checks, as Service Catalog would be.

Every controller test already fails on a MUST or MUST NOT finding (the autouse
``graded_platform`` fixture); these tests look at orphan mitigation, whose window
closes after the request, and at what the controller is still told it SHOULD do.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask

from broker.config import Settings
from broker.platform_checks.findings_store import FindingsQuery
from broker.platform_checks.service import platform_checks
from tests.controller.conftest import BROKER_URL, Cluster, broker_manifest

WINDOW = 1


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(orphan_mitigation_window=WINDOW)


def findings(app: Flask, rule: str | None = None) -> list[dict[str, object]]:
    query = FindingsQuery(rules=(rule,) if rule else None)
    return platform_checks(app).query(query)


def instance(name: str, service: str, plan: str) -> str:
    return f"""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceInstance
metadata: {{name: {name}, namespace: apps}}
spec:
  clusterServiceClassExternalName: {service}
  clusterServicePlanExternalName: {plan}
"""


def binding(name: str, instance_name: str) -> str:
    return f"""
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ServiceBinding
metadata: {{name: {name}, namespace: apps}}
spec:
  instanceRef: {{name: {instance_name}}}
"""


def setup(cluster: Cluster, *documents: str) -> None:
    cluster.apply(broker_manifest(BROKER_URL))
    assert cluster.reconcile()
    for document in documents:
        cluster.apply(document)


def test_a_fault_forcing_orphan_mitigation_is_cleared_by_the_controllers_delete(
    cluster: Cluster, app: Flask
) -> None:
    setup(cluster, instance("flaky", "mock-flaky", "provision-fails-500-3x"))
    assert cluster.reconcile()
    time.sleep(WINDOW + 0.5)
    assert findings(app, "orphan-mitigation") == []


def test_without_orphan_mitigation_the_controller_gets_the_finding(
    cluster: Cluster, app: Flask
) -> None:
    setup(cluster, instance("flaky", "mock-flaky", "provision-fails-500-3x"))
    assert cluster.reconcile(orphan_mitigation=False)
    time.sleep(WINDOW + 0.5)
    (finding,) = findings(app, "orphan-mitigation")
    assert finding["level"] == "SHOULD"
    assert finding["instance_id"] is not None


def test_an_async_provision_that_failed_is_mitigated_in_time(cluster: Cluster, app: Flask) -> None:
    setup(cluster, instance("doomed", "mock-async", "failing"))
    assert cluster.reconcile()
    time.sleep(WINDOW + 0.5)
    assert findings(app, "orphan-mitigation") == []


def test_a_bind_500_is_mitigated_by_an_unbind_in_time(cluster: Cluster, app: Flask) -> None:
    setup(cluster, instance("db", "mock-flaky", "bind-fails-twice"), binding("creds", "db"))
    assert cluster.reconcile()
    time.sleep(WINDOW + 0.5)
    assert findings(app, "orphan-mitigation") == []


def test_the_walkthrough_leaves_no_finding_at_all(cluster: Cluster, app: Flask) -> None:
    setup(
        cluster,
        instance("queue", "cloud-provider-service", "service-plan-name"),
        binding("sa", "queue"),
    )
    assert cluster.reconcile()
    cluster.delete("binding", "sa", "apps")
    cluster.delete("instance", "queue", "apps")
    assert cluster.reconcile()
    assert findings(app) == []
