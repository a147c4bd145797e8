"""A local cluster (store + controller) wired to the broker app in-process or over HTTP."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask

from broker.client import OSBClient
from broker.controller import Controller, ControllerSettings
from broker.controller.objects import (
    Manifest,
    ObjectKey,
    SecretVolumes,
    Store,
    apply_manifests,
    delete_objects,
    kind_named,
)
from tests.support.clock import FakeClock
from tests.support.servers import ADMIN_ENV, RunningServer, serve

BROKER_URL = "http://broker.test"
USER = {"username": "alice", "uid": "", "groups": ["system:authenticated"]}


def broker_manifest(url: str, *, username: str = "broker", password: str = "broker") -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: broker-auth, namespace: catalog}}
stringData: {{username: {username}, password: {password}}}
---
apiVersion: servicecatalog.k8s.io/v1beta1
kind: ClusterServiceBroker
metadata: {{name: mockbroker}}
spec:
  url: {url}
  authInfo:
    basic:
      secretRef: {{namespace: catalog, name: broker-auth}}
"""


@dataclass
class Cluster:
    """A store, its Secret folders and a controller, with helpers that read like kubectl.

    With a ``clock`` the controller runs on it: its sleeps move the clock instead of
    waiting, so days of Service Catalog's backoffs and windows pass in a moment, and
    ``timeline`` says when (on that clock) each event happened.
    """

    root: Path
    settings: ControllerSettings
    transport: httpx.BaseTransport | None
    clock: FakeClock | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    timeline: list[tuple[float, str, str, str]] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return Store(self.settings.state_dir)

    @property
    def volumes(self) -> SecretVolumes:
        return SecretVolumes(self.settings.volumes_dir)

    def controller(self, **changes: Any) -> Controller:
        timing: dict[str, Any] = {}
        if self.clock is not None:
            timing = {"clock": self.clock, "sleep": self.clock.advance}
        return Controller(
            self.store,
            self.settings.replace(**changes),
            transport=self.transport,
            progress=self._record,
            **timing,
        )

    def _record(self, key: ObjectKey, event: dict[str, Any]) -> None:
        self.events.append((str(key), event["reason"], event["message"]))
        moment = self.clock() if self.clock is not None else time.time()
        self.timeline.append((moment, str(key), event["reason"], event["message"]))

    def times_of(self, reason: str, name: str = "") -> list[float]:
        """When (on the cluster's clock) events with ``reason`` happened to ``name``."""
        return [
            moment
            for moment, key, found, _ in self.timeline
            if found == reason and key.endswith(f"/{name}")
        ]

    def apply(self, text: str, user: dict[str, Any] | None = None) -> list[str]:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        manifests = [Manifest("test", index, doc) for index, doc in enumerate(documents)]
        applied = apply_manifests(self.store, self.volumes, manifests, user or USER)
        return [str(entry) for entry in applied]

    def reconcile(
        self,
        *,
        wait: bool = True,
        timeout: float = 20.0,
        fail_fast: bool = True,
        interval: float = 0.05,
        **changes: Any,
    ) -> bool:
        controller = self.controller(**changes)
        try:
            return controller.reconcile(
                wait=wait, timeout=timeout, interval=interval, fail_fast=fail_fast
            )
        finally:
            controller.close()

    def delete(self, kind: str, name: str, namespace: str = "", **options: Any) -> None:
        found = kind_named(kind)
        key = ObjectKey(found.name, namespace if found.namespaced else "", name)
        delete_objects(self.store, self.volumes, found, [key], **options)

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        found = kind_named(kind)
        return self.store.read().get(
            ObjectKey(found.name, namespace if found.namespaced else "", name)
        )

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.store.read().list(kind_named(kind).name, namespace)

    def status(self, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
        found = self.get(kind, name, namespace)
        assert found is not None, f"{kind} {namespace}/{name} does not exist"
        return dict(found.get("status") or {})

    def condition(self, kind: str, name: str, namespace: str, type_: str) -> dict[str, Any] | None:
        for found in self.status(kind, name, namespace).get("conditions") or []:
            if found["type"] == type_:
                return dict(found)
        return None

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        secret = self.get("secret", name, namespace)
        if secret is None:
            return None
        return {key: base64.b64decode(value) for key, value in secret.get("data", {}).items()}

    def reasons(self, name: str) -> list[str]:
        """The reasons of the progress events of every object named ``name``, in order."""
        return [reason for key, reason, _ in self.events if key.endswith(f"/{name}")]

    def events_of(self, kind: str, name: str, namespace: str = "") -> list[dict[str, Any]]:
        found = kind_named(kind)
        return self.store.read().events(
            ObjectKey(found.name, namespace if found.namespaced else "", name)
        )


def fast_settings(root: Path) -> ControllerSettings:
    return ControllerSettings(
        state_dir=root / "ctl",
        secrets_dir=root / "secrets",
        poll_start=0.02,
        poll_max=0.1,
        retry_start=0.02,
        retry_max=0.1,
        retry_duration=20.0,
        request_timeout=10.0,
    )


@pytest.fixture
def broker_transport(app: Flask) -> httpx.WSGITransport:
    return httpx.WSGITransport(app=app)


@pytest.fixture
def cluster(tmp_path: Path, broker_transport: httpx.WSGITransport) -> Cluster:
    """A cluster whose brokers are the in-process app (apply ``broker_manifest(BROKER_URL)``)."""
    return Cluster(tmp_path, fast_settings(tmp_path), broker_transport)


@pytest.fixture
def broker_admin(broker_transport: httpx.WSGITransport) -> Iterator[OSBClient]:
    """The in-process broker's admin API."""
    with OSBClient(
        BROKER_URL, username="admin", password="admin-secret", transport=broker_transport
    ) as client:
        yield client


def journal(admin: OSBClient, **filters: Any) -> list[dict[str, Any]]:
    return admin.journal(**filters)


def as_json(data: bytes) -> Any:
    return json.loads(data.decode())


class AdminAPI:
    """mockbroker's admin HTTP API, spoken directly (its shapes are a stable contract)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, auth=("admin", "admin-secret"), timeout=30)

    def reset(self) -> None:
        self.http.post("/admin/reset", json={}).raise_for_status()

    def add_fault(self, rule: dict[str, Any]) -> str:
        answer = self.http.post("/admin/faults", json=rule)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def delete_fault(self, rule_id: str) -> None:
        self.http.delete(f"/admin/faults/{rule_id}").raise_for_status()

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        answer = self.http.get("/admin/requests", params=filters)
        answer.raise_for_status()
        return list(answer.json()["requests"])

    def calls(self, *operations: str) -> list[tuple[str, str, int]]:
        """(operation, method, status) of the broker calls of those operations, in order."""
        return [
            (entry["operation"], entry["method"], entry["status"])
            for entry in self.journal()
            if entry["operation"] in operations
        ]

    def finish(self, operation: str, state: str = "succeeded") -> None:
        answer = self.http.post(f"/admin/operations/{operation}", json={"state": state})
        assert answer.status_code == 200, answer.text

    def instances(self) -> list[dict[str, Any]]:
        answer = self.http.get("/admin/state")
        answer.raise_for_status()
        return list(answer.json()["instances"])

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """``mockbroker serve`` (gunicorn, two workers) for the tests of one module."""
    with serve(tmp_path_factory.mktemp("ctl-server"), env=ADMIN_ENV, workers=2) as running:
        yield running


@pytest.fixture
def admin_api(server: RunningServer) -> Iterator[AdminAPI]:
    """The served broker's admin API, reset for every test."""
    api = AdminAPI(server.url)
    api.reset()
    yield api
    api.close()


@pytest.fixture
def clock() -> FakeClock:
    """Service Catalog's clock, starting now: the controller's sleeps move it."""
    return FakeClock(time.time())


@pytest.fixture
def timed_cluster(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI, clock: FakeClock
) -> Cluster:
    """A cluster with Service Catalog's default settings on a clock the tests drive,
    its broker registered at the served broker over real HTTP."""
    found = Cluster(
        tmp_path,
        ControllerSettings(state_dir=tmp_path / "ctl", secrets_dir=tmp_path / "secrets"),
        None,
        clock,
    )
    found.apply(broker_manifest(server.url))
    assert found.reconcile()
    return found


def run_ctl(
    state_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``mockbroker ctl --state-dir STATE_DIR ARGS…`` in a process of its own."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "broker", "ctl", "--state-dir", str(state_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=90,
    )


@pytest.fixture(autouse=True)
def graded_platform(request: pytest.FixtureRequest) -> Iterator[None]:
    """The controller is graded like any platform: a test whose broker recorded a
    MUST or MUST NOT finding about it fails (broker.platform_checks)."""
    from broker.platform_checks.findings_store import FindingsQuery
    from broker.platform_checks.service import platform_checks

    # Taken now, so that they are torn down after this fixture looked at them.
    app: Flask | None = request.getfixturevalue("app") if "app" in request.fixturenames else None
    api: AdminAPI | None = (
        request.getfixturevalue("admin_api") if "admin_api" in request.fixturenames else None
    )
    yield
    found: list[dict[str, Any]] = []
    if app is not None:
        found = platform_checks(app).query(FindingsQuery(levels=("MUST", "MUST NOT")))
    elif api is not None:
        answer = api.http.get("/admin/findings", params={"level": "MUST,MUST NOT"})
        answer.raise_for_status()
        found = answer.json()["findings"]
    assert found == [], "the controller broke OSB rules:\n" + "\n".join(
        f"- {f['rule']} ({f['level']}) {f['instance_id']}/{f['binding_id']}: {f['summary']}"
        for f in found
    )
