"""SIGKILL under load: every acknowledged instance and binding survives, nothing half-written.

Clients provision and bind in parallel against gunicorn (several workers, the
default SQLite store); the whole process group is killed with SIGKILL while
requests are in flight; a new server on the same data dir must know everything
it had acknowledged, and whatever it had written without acknowledging must be
complete (a repeat of the request answers as for an existing resource).

This is the promise of the default settings (``sqlite_synchronous=NORMAL``): the
servers run with no ``BROKER_*`` variable but their data dir and log format.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.config import Settings
from broker.storage.sqlite import SQLiteStore
from tests.support.osb import OSB, Answer
from tests.support.servers import serve

pytestmark = pytest.mark.server

CLIENTS = 12
# Kill once this many resources were acknowledged (or after KILL_AFTER seconds).
ACKNOWLEDGED_BEFORE_KILL = 120
KILL_AFTER = 20.0


@dataclass
class Ledger:
    """What the clients were told, and what they asked without getting an answer."""

    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    async_instances: dict[str, str] = field(default_factory=dict)
    bindings: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    unanswered: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self) -> int:
        return len(self.instances) + len(self.async_instances) + len(self.bindings)


def load(
    url: str,
    ids: Callable[[str], tuple[str, str]],
    ledger: Ledger,
    stop: threading.Event,
    client_number: int,
) -> None:
    """Provision, bind and provision async in a loop until the server dies."""
    database = ids("mock-database/small")
    polls = ids("mock-async/polls")
    with httpx.Client(base_url=url, timeout=10) as client:
        osb = OSB(client)

        def put(kind: str, path: str, body: dict[str, Any]) -> Answer | None:
            """The answer to a PUT ("PUT-async": accepting an asynchronous one), or None
            once it is recorded as unanswered because the server died first."""
            query = {"accepts_incomplete": "true"} if kind == "PUT-async" else None
            try:
                return osb.put(path, body, query=query)
            except httpx.TransportError:
                with ledger.lock:
                    ledger.unanswered.append((kind, path, body))
                return None

        round_number = 0
        while not stop.is_set():
            round_number += 1
            instance = f"crash-{client_number}-{round_number}"
            parameters = {"storage_gb": round_number % 1000 + 1}
            body = {
                "service_id": database[0],
                "plan_id": database[1],
                "organization_guid": "o",
                "space_guid": "s",
                "parameters": parameters,
            }
            path = f"/v2/service_instances/{instance}"
            answer = put("PUT", path, body)
            if answer is None:
                return
            assert answer.status == 201, answer.text
            with ledger.lock:
                ledger.instances[instance] = parameters
            binding_path = f"{path}/service_bindings/{instance}-b"
            binding_body = {"service_id": database[0], "plan_id": database[1]}
            bound = put("PUT", binding_path, binding_body)
            if bound is None:
                return
            assert bound.status == 201, bound.text
            with ledger.lock:
                ledger.bindings[f"{instance}-b"] = (instance, bound.json["credentials"])
            async_path = f"/v2/service_instances/{instance}-async"
            async_body = {
                "service_id": polls[0],
                "plan_id": polls[1],
                "organization_guid": "o",
                "space_guid": "s",
            }
            started = put("PUT-async", async_path, async_body)
            if started is None:
                return
            assert started.status == 202, started.text
            with ledger.lock:
                ledger.async_instances[f"{instance}-async"] = started.json["operation"]


def test_a_killed_server_keeps_every_acknowledged_instance_and_binding(tmp_path: Path) -> None:
    # The durability proven here is the default one, not FULL's.
    assert Settings().sqlite_synchronous == "NORMAL"
    ledger = Ledger()
    stop = threading.Event()
    with serve(tmp_path, workers=3) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            catalog_ids = OSB(client)

            def ids(name: str) -> tuple[str, str]:
                service, plan = name.split("/")
                return catalog_ids.ids(service, plan)

            resolved = {name: ids(name) for name in ("mock-database/small", "mock-async/polls")}
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [
                pool.submit(load, server.url, resolved.__getitem__, ledger, stop, number)
                for number in range(CLIENTS)
            ]
            deadline = time.monotonic() + KILL_AFTER
            while ledger.acknowledged() < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
                time.sleep(0.01)
            server.kill(signal.SIGKILL)  # the whole process group, mid-load
            stop.set()
            for future in futures:
                future.result()  # a client failing an assertion fails the test
    assert ledger.acknowledged() >= 30, "too little load before the kill to prove anything"
    assert ledger.unanswered, "the kill should have caught requests in flight"

    with serve(tmp_path, workers=2) as restarted:
        with httpx.Client(base_url=restarted.url, timeout=10) as client:
            osb = OSB(client)
            check_acknowledged(osb, ledger)
            check_unanswered(osb, ledger)
    check_store(tmp_path / "data" / "broker.db", ledger)


def check_acknowledged(osb: OSB, ledger: Ledger) -> None:
    for instance, parameters in ledger.instances.items():
        answer = osb.get(f"/v2/service_instances/{instance}")
        assert answer.status == 200, f"acknowledged instance {instance} is lost: {answer.text}"
        assert answer.json["parameters"] == parameters
    for binding, (instance, credentials) in ledger.bindings.items():
        answer = osb.get(f"/v2/service_instances/{instance}/service_bindings/{binding}")
        assert answer.status == 200, f"acknowledged binding {binding} is lost: {answer.text}"
        assert answer.json["credentials"] == credentials
    for instance, operation in ledger.async_instances.items():
        final = osb.poll(instance, operation)
        assert final.json == {"state": "succeeded"}, f"{instance}: {final.text}"


def check_unanswered(osb: OSB, ledger: Ledger) -> None:
    """A request without an answer either took effect completely or not at all."""
    for method, path, body in ledger.unanswered:
        query = {"accepts_incomplete": "true"} if method == "PUT-async" else None
        answer = osb.put(path, body, query=query)
        assert answer.status in (200, 201, 202), f"repeat of {path}: {answer.status} {answer.text}"


def check_store(database: Path, ledger: Ledger) -> None:
    store = SQLiteStore(f"sqlite:///{database}")
    try:
        instances = {instance.id: instance for instance in store.list_instances()}
        operations = {operation.id: operation for operation in store.list_operations(limit=100_000)}
        assert set(ledger.instances) | set(ledger.async_instances) <= set(instances)
        for instance in instances.values():
            assert instance.fingerprint
            if instance.state == "provisioning":
                assert instance.operation in operations, f"{instance.id} lost its operation"
            else:
                assert instance.state == "ready", f"{instance.id} is {instance.state}"
                assert instance.backend_state is not None, f"{instance.id} was half provisioned"
        for binding in store.list_bindings():
            assert binding.instance_id in instances, f"{binding.id} outlived its instance"
            assert binding.state == "ready"
            assert binding.response.get("credentials", {}).get("password"), (
                f"{binding.id} has no credentials"
            )
        assert set(ledger.bindings) <= {binding.id for binding in store.list_bindings()}
    finally:
        store.close()
