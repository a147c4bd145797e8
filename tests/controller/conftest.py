"""A local cluster (store + controller) wired to the broker app in-process or over HTTP."""

from __future__ import annotations

import base64
import json
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
    """A store, its Secret folders and a controller, with helpers that read like kubectl."""

    root: Path
    settings: ControllerSettings
    transport: httpx.BaseTransport | None
    events: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return Store(self.settings.state_dir)

    @property
    def volumes(self) -> SecretVolumes:
        return SecretVolumes(self.settings.volumes_dir)

    def controller(self, **changes: Any) -> Controller:
        return Controller(
            self.store,
            self.settings.replace(**changes),
            transport=self.transport,
            progress=lambda key, event: self.events.append(
                (str(key), event["reason"], event["message"])
            ),
        )

    def apply(self, text: str, user: dict[str, Any] | None = None) -> list[str]:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        manifests = [Manifest("test", index, doc) for index, doc in enumerate(documents)]
        applied = apply_manifests(self.store, self.volumes, manifests, user or USER)
        return [str(entry) for entry in applied]

    def reconcile(self, *, wait: bool = True, timeout: float = 20.0, **changes: Any) -> bool:
        controller = self.controller(**changes)
        try:
            return controller.reconcile(wait=wait, timeout=timeout, interval=0.05)
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
    return admin.requests(**filters)


def as_json(data: bytes) -> Any:
    return json.loads(data.decode())
