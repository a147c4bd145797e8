"""What ``mockbroker ctl`` leaves behind when a broker misbehaves, as Service Catalog
v0.3.1 would: a fault rule on the real broker (gunicorn, real HTTP), ``ctl`` run as a
user runs it, then the conditions, the status, the broker's journal and the Secrets on
disk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.controller.conftest import AdminAPI, Cluster, broker_manifest, run_ctl
from tests.controller.test_ctl_bindings import binding
from tests.controller.test_ctl_instances import instance
from tests.support.servers import RunningServer

pytestmark = pytest.mark.server

FAST_POLLS = {"BROKER_CTL_POLL_MAX": "1s"}
INSTANCE_STATUS = [
    "conditions",
    "asyncOpInProgress",
    "orphanMitigationInProgress",
    "reconciledGeneration",
    "observedGeneration",
    "provisionStatus",
    "deprovisionStatus",
    "lastConditionState",
    "userSpecifiedPlanName",
    "userSpecifiedClassName",
]


def obj(state: Path, kind: str, name: str, namespace: str = "apps") -> dict[str, Any]:
    shown = run_ctl(state, "get", kind, name, "-n", namespace, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    found: dict[str, Any] = json.loads(shown.stdout)
    return found


def conditions(found: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        entry["type"]: (entry["status"], entry["reason"], entry["message"])
        for entry in found["status"]["conditions"]
    }


def test_a_400_on_the_deprovision_poll_fails_the_deprovision_and_keeps_the_instance(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    state = tmp_path / "ctl"
    manifests = broker_manifest(server.url) + "---" + instance("q", "mock-async", "polls")
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    assert run_ctl(state, "reconcile", "--wait", env=FAST_POLLS).returncode == 0
    external_id = obj(state, "si", "q")["spec"]["externalID"]
    admin_api.add_fault(
        {
            "match": {"operation": "last_operation", "instance_id": external_id},
            "action": {"status": 400, "error": "BadRequest", "description": "no such operation"},
        }
    )
    assert run_ctl(state, "delete", "si", "q", "-n", "apps").returncode == 0
    deleting = run_ctl(state, "reconcile", "--wait", env=FAST_POLLS)
    assert deleting.returncode == 0, deleting.stderr
    message = (
        "Error polling last operation: Status: 400; ErrorMessage: BadRequest; "
        "Description: no such operation; ResponseError: <nil>"
    )
    assert f"ErrorPollingLastOperation: {message}" in deleting.stdout
    found = obj(state, "si", "q")
    assert found["metadata"]["deletionTimestamp"]
    assert found["metadata"]["finalizers"] == ["kubernetes-incubator/service-catalog"]
    assert conditions(found) == {
        "Ready": ("Unknown", "ErrorPollingLastOperation", message),
        "Failed": ("True", "ErrorPollingLastOperation", message),
    }
    status = found["status"]
    assert status["deprovisionStatus"] == "Failed" and status["provisionStatus"] == "Provisioned"
    assert "currentOperation" not in status and status["asyncOpInProgress"] is False
    # One DELETE, never another: the instance is stuck, as in Service Catalog.
    assert run_ctl(state, "reconcile", "--wait", env=FAST_POLLS).returncode == 0
    assert admin_api.calls("deprovision") == [("deprovision", "DELETE", 202)]
    assert len(admin_api.journal(operation="last_operation", status=400)) == 1
    again = run_ctl(state, "delete", "si", "q", "-n", "apps", "--wait")
    assert again.returncode == 1
    assert "error: the deletion failed for good (Service Catalog will not try again): q" in (
        again.stderr
    )


def test_unbinding_deletes_the_secret_named_by_the_binding_whoever_owns_it(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    state = tmp_path / "ctl"
    own_secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: shared, namespace: apps}\n"
        "stringData: {note: made by hand}\n"
    )
    manifests = "---\n".join(
        [
            broker_manifest(server.url),
            own_secret,
            instance("q", "mock-async", "sync"),
            binding("q-creds", "q", "  secretName: shared"),
        ]
    )
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    folder = state / "secrets" / "apps" / "shared"
    assert (folder / "note").read_text() == "made by hand"
    bound = run_ctl(state, "reconcile", "--wait", "--timeout", "20s")
    assert bound.returncode == 1
    assert 'Secret "apps/shared" is not owned by ServiceBinding, controllerRef: nil' in bound.stderr
    assert (folder / "note").read_text() == "made by hand"  # never overwritten
    # The next run starts as a controller manager starts: the bind is sent again.
    again = run_ctl(state, "reconcile", "--wait", "--timeout", "20s")
    assert again.returncode == 1
    assert (folder / "note").read_text() == "made by hand"
    binds = admin_api.calls("bind")
    assert len(binds) >= 2 and {call[2] for call in binds} <= {200, 201}  # the bind is re-sent
    assert run_ctl(state, "delete", "sb", "q-creds", "-n", "apps").returncode == 0
    unbound = run_ctl(state, "reconcile", "--wait")
    assert unbound.returncode == 0, unbound.stderr
    assert "UnboundSuccessfully" in unbound.stdout
    gone = run_ctl(state, "get", "secret", "shared", "-n", "apps")
    assert gone.returncode == 1
    assert gone.stderr.strip() == 'Error from server (NotFound): secrets "shared" not found'
    assert not folder.exists()
    assert admin_api.calls("unbind") == [("unbind", "DELETE", 200)]


def test_json_path_transforms_write_gos_text_form(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    credentials = {
        "big": 1000000,
        "hosts": ["a", "b"],
        "opts": {"b": 1, "a": "x"},
        "users": [{"name": "u1"}, {"name": "u2"}],
    }
    admin_api.add_fault(
        {"match": {"operation": "bind"}, "action": {"body": {"credentials": credentials}}}
    )
    transforms = "".join(
        f'    - addKey: {{key: {key}, jsonPathExpression: "{path}"}}\n'
        for key, path in (
            ("BIG", "{.big}"),
            ("HOSTS", "{.hosts}"),
            ("OPTS", "{.opts}"),
            ("USERS", "{.users[*].name}"),
            ("URL", "https://{.hosts[0]}:{.big}"),
        )
    )
    manifests = "---\n".join(
        [
            broker_manifest(server.url),
            instance("q", "mock-async", "sync"),
            binding("q-creds", "q", "  secretTransforms:\n" + transforms),
        ]
    )
    state = tmp_path / "ctl"
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    done = run_ctl(state, "reconcile", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = state / "secrets" / "apps" / "q-creds"
    written = {path.name: path.read_text() for path in folder.iterdir() if "." not in path.name}
    assert written == {
        "BIG": "1e+06",
        "HOSTS": "[a b]",
        "OPTS": "map[a:x b:1]",
        "USERS": "u1 u2",
        "URL": "https://a:1e+06",
        # The credentials themselves stay Go's JSON.
        "big": "1000000",
        "hosts": '["a","b"]',
        "opts": '{"a":"x","b":1}',
        "users": '[{"name":"u1"},{"name":"u2"}]',
    }


def test_the_status_always_has_service_catalogs_shape(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    state = tmp_path / "ctl"
    manifests = "---\n".join(
        [
            broker_manifest(server.url),
            instance("bad", "mock-flaky", "provision-fails-400"),
            binding("b", "bad"),
        ]
    )
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    waited = run_ctl(state, "reconcile", "--wait")
    assert waited.returncode == 1
    assert "(waits for ServiceInstance apps/bad, which failed)" in waited.stderr
    status = obj(state, "si", "bad")["status"]
    assert list(status) == INSTANCE_STATUS
    assert (status["reconciledGeneration"], status["provisionStatus"]) == (0, "")
    assert (status["asyncOpInProgress"], status["orphanMitigationInProgress"]) == (False, False)
    assert status["lastConditionState"] == "Failed"
    binding_status = obj(state, "sb", "b")["status"]
    assert list(binding_status) == [
        "conditions",
        "asyncOpInProgress",
        "reconciledGeneration",
        "orphanMitigationInProgress",
        "unbindStatus",
        "lastConditionState",
    ]
    broker_status = obj(state, "csb", "mockbroker", "")["status"]
    assert list(broker_status) == [
        "conditions",
        "reconciledGeneration",
        "lastCatalogRetrievalTime",
        "lastConditionState",
    ]


def test_a_deprovision_given_up_ends_the_operation(
    timed_cluster: Cluster, admin_api: AdminAPI
) -> None:
    timed_cluster.apply(instance("db", "mock-database", "small"))
    assert timed_cluster.reconcile()
    admin_api.add_fault({"match": {"operation": "deprovision"}, "action": {"status": 500}})
    timed_cluster.delete("instance", "db", "apps")
    assert timed_cluster.reconcile(timeout=3600, interval=3600, retry_duration=600)
    found = timed_cluster.get("instance", "db", "apps")
    assert found is not None and found["metadata"]["finalizers"]
    status = found["status"]
    ready = timed_cluster.condition("instance", "db", "apps", "Ready")
    failed = timed_cluster.condition("instance", "db", "apps", "Failed")
    assert ready is not None and ready["status"] == "Unknown"
    assert ready["reason"] == "DeprovisionCallFailed"
    assert ready["message"].startswith(
        "Deprovision call failed; received error response from broker: Status: 500; "
    )
    assert failed is not None and failed["reason"] == "ErrorReconciliationRetryTimeout"
    assert status["deprovisionStatus"] == "Failed"
    assert "currentOperation" not in status and "operationStartTime" not in status
    assert "inProgressProperties" not in status and status["asyncOpInProgress"] is False
    deletes = admin_api.calls("deprovision")
    assert len(deletes) > 15 and {call[2] for call in deletes} == {500}


def test_an_undecodable_error_body_is_quoted_with_gos_response_error(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    admin_api.add_fault(
        {
            "match": {"operation": "provision"},
            "trigger": {"times": 1},
            "action": {"status": 500, "body": "malformed"},
        }
    )
    state = tmp_path / "ctl"
    manifests = broker_manifest(server.url) + "---" + instance("db", "mock-database", "small")
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    done = run_ctl(state, "reconcile", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "ProvisionCallFailed: Error provisioning ServiceInstance of ClusterServiceClass "
        '(K8S: "cc05baed-d282-557a-82c4-201593d87a55" ExternalName: "mock-database") at '
        'ClusterServiceBroker "mockbroker": Status: 500; ErrorMessage: <nil>; '
        "Description: <nil>; ResponseError: unexpected end of JSON input"
    ) in done.stdout
    assert "StartingInstanceOrphanMitigation" in done.stdout
    assert "ProvisionedSuccessfully" in done.stdout


class _Redirecting(BaseHTTPRequestHandler):
    """A front that moved the catalog: ``/v2/catalog`` answers 308 to ``/moved/v2/catalog``,
    which it forwards to the broker."""

    broker_url = ""
    seen: list[tuple[str, int]] = []

    def _handle(self) -> None:
        if self.path.startswith("/moved/"):
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() in ("authorization", "x-broker-api-version", "content-type")
            }
            length = int(self.headers.get("Content-Length") or 0)
            answer = httpx.request(
                self.command,
                self.broker_url + self.path.removeprefix("/moved"),
                headers=headers,
                content=self.rfile.read(length) if length else None,
            )
            self.seen.append((self.path, answer.status_code))
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)
            return
        self.seen.append((self.path, 308))
        self.send_response(308)
        self.send_header("Location", "/moved" + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def moved_front(server: RunningServer) -> Iterator[str]:
    _Redirecting.broker_url = server.url
    _Redirecting.seen = []
    front = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{front.server_address[1]}"
    finally:
        front.shutdown()
        front.server_close()


def test_the_catalog_fetch_follows_a_redirect(
    tmp_path: Path, moved_front: str, admin_api: AdminAPI
) -> None:
    state = tmp_path / "ctl"
    assert run_ctl(state, "apply", "-f", "-", stdin=broker_manifest(moved_front)).returncode == 0
    done = run_ctl(state, "reconcile", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FetchedCatalog: Successfully fetched catalog entries from broker." in done.stdout
    assert _Redirecting.seen[:2] == [("/v2/catalog", 308), ("/moved/v2/catalog", 200)]
    assert [entry["status"] for entry in admin_api.journal(operation="catalog")] == [200]
    assert "mock-database" in run_ctl(state, "get", "csc").stdout
