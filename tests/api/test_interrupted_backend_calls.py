"""A backend call that dies or fails midway leaves nothing behind for good.

A backend that makes things on a server (``leaves_objects``) is called only after the
attempt is recorded; when the process dies in the middle, the next request that
finds the record under the lock (the platform's retry, a poll, its delete) removes
what the dead call made and goes on. The backend here keeps its "server" in memory
and can die like a killed worker: it raises :class:`ProcessDied`, a
``BaseException`` nothing in the broker catches, right after making its object.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.credentials.base import (
    BackendError,
    BindingRequest,
    BindResult,
    InstanceRequest,
    leaves_objects,
)
from broker.credentials.registry import BackendRegistry, backend_classes
from broker.web.runtime import runtime_of
from tests.support.leftovers import recorded
from tests.support.osb import OSB

SERVICE = "server-room"


class ProcessDied(BaseException):
    """What a killed worker looks like from inside: nothing after the call runs."""


class ServerRoomBackend:
    """Databases and accounts on a pretend server, named after the ids."""

    name: ClassVar[str] = "server-room"
    leaves_objects: ClassVar[bool] = True

    def __init__(self) -> None:
        self.objects: set[str] = set()
        self.calls: list[str] = []
        # "provision" / "bind": the next such call dies after making its object.
        self.dies_during: set[str] = set()
        # Accounts whose removal fails (the backend answers an error, nothing changes).
        self.undeletable: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerRoomBackend:
        return cls()

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return []

    def check(self) -> None:
        return None

    def provision(self, request: InstanceRequest) -> dict[str, Any]:
        return {"database": self._make("provision", f"db-{request.instance_id}")}

    def deprovision(self, request: InstanceRequest) -> None:
        self.calls.append("deprovision")
        self.objects.discard(f"db-{request.instance_id}")

    def bind(self, request: BindingRequest) -> BindResult:
        user = self._make("bind", f"user-{request.binding_id}")
        return BindResult(credentials={"username": user}, state={"user": user})

    def unbind(self, request: BindingRequest) -> None:
        self.calls.append("unbind")
        user = f"user-{request.binding_id}"
        if user in self.undeletable:
            raise BackendError(f"cannot drop {user}")
        self.objects.discard(user)

    def _make(self, call: str, name: str) -> str:
        self.calls.append(call)
        if name in self.objects:
            raise BackendError(f"{name} already exists and was not made for this request")
        self.objects.add(name)
        if call in self.dies_during:
            self.dies_during.discard(call)
            raise ProcessDied(f"killed during {call}")
        return name


@pytest.fixture
def backend() -> ServerRoomBackend:
    return ServerRoomBackend()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    credentials = {"credentials": {"backend": "server-room"}}
    asynchronous = {"mode": "async", "finish": {"polls": 1}}
    catalog = {
        "services": [
            {
                "name": SERVICE,
                "description": "Objects on a server",
                "bindable": True,
                "instances_retrievable": True,
                "bindings_retrievable": True,
                "plans": [
                    {"name": "sync", "description": "Synchronous", "mockbroker": credentials},
                    {
                        "name": "async",
                        "description": "Provision and bind finish after one poll",
                        "mockbroker": {
                            **credentials,
                            "provision": asynchronous,
                            "bind": asynchronous,
                        },
                    },
                    {
                        "name": "async-delete",
                        "description": "Deprovision finishes after one poll",
                        "mockbroker": {**credentials, "deprovision": asynchronous},
                    },
                ],
            }
        ]
    }
    path = tmp_path / "server-room.yaml"
    path.write_text(yaml.safe_dump(catalog))
    return settings.replace(catalogs=(path,), store=f"sqlite:///{tmp_path / 'broker.db'}")


@pytest.fixture
def app(settings: Settings, backend: ServerRoomBackend) -> Flask:
    registry = BackendRegistry(settings, {**backend_classes(), SERVICE: ServerRoomBackend})
    registry.register(SERVICE, backend)
    return create_app(settings, backends=registry)


def provisioned(osb: OSB, instance_id: str) -> None:
    assert osb.provision(instance_id, SERVICE, "sync").status == 201


def died_provisioning(osb: OSB, backend: ServerRoomBackend, instance_id: str) -> None:
    """A synchronous provision whose process dies once the backend made the database."""
    backend.dies_during.add("provision")
    with pytest.raises(ProcessDied):
        osb.provision(instance_id, SERVICE, "sync")


def died_binding(osb: OSB, backend: ServerRoomBackend, instance_id: str, binding_id: str) -> None:
    """A synchronous bind whose process dies once the backend made the account."""
    backend.dies_during.add("bind")
    with pytest.raises(ProcessDied):
        osb.bind(instance_id, binding_id, SERVICE, "sync")


def died_polling(
    osb: OSB,
    backend: ServerRoomBackend,
    call: str,
    instance_id: str,
    operation: str,
    binding_id: str | None = None,
) -> None:
    """A poll of an asynchronous ``call`` whose process dies once the backend made its object."""
    backend.dies_during.add(call)
    with pytest.raises(ProcessDied):
        osb.last_operation(instance_id, operation, binding_id)


def test_backends_that_only_compute_credentials_record_no_attempt() -> None:
    classes = backend_classes()

    assert [
        name for name in ("fake", "static", "parameters") if leaves_objects(classes[name])
    ] == []
    assert all(leaves_objects(classes[name]) for name in ("postgres", "mysql", "redis"))
    assert leaves_objects(object())  # a backend that does not say: the safe side


# --- synchronous provision ---------------------------------------------------------------


def test_a_provision_that_died_mid_call_is_recorded_as_an_attempt_no_one_can_see(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    died_provisioning(osb, backend, "i-1")

    stored = runtime_of(app).store.get_instance("i-1")
    assert stored is not None
    assert (stored.state, stored.backend_state, stored.operation) == ("provisioning", {}, None)
    assert backend.objects == {"db-i-1"}
    assert osb.get("/v2/service_instances/i-1").status == 404


def test_the_retry_of_a_provision_that_died_removes_the_leftover_and_provisions_again(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    died_provisioning(osb, backend, "i-2")

    answer = osb.provision("i-2", SERVICE, "sync")

    assert answer.status == 201, answer.json
    assert backend.calls == ["provision", "deprovision", "provision"]
    assert backend.objects == {"db-i-2"}
    stored = runtime_of(app).store.get_instance("i-2")
    assert stored is not None
    assert (stored.state, stored.backend_state) == ("ready", {"database": "db-i-2"})
    assert osb.provision("i-2", SERVICE, "sync").status == 200


def test_a_retry_with_other_attributes_is_not_a_conflict_with_a_dead_attempt(
    osb: OSB, backend: ServerRoomBackend
) -> None:
    died_provisioning(osb, backend, "i-3")

    answer = osb.provision("i-3", SERVICE, "sync", space_guid="space-2")

    assert answer.status == 201, answer.json
    assert backend.objects == {"db-i-3"}


def test_the_orphan_mitigation_delete_after_a_provision_died_removes_what_it_made(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    died_provisioning(osb, backend, "i-4")

    answer = osb.deprovision("i-4", SERVICE, "sync")

    assert answer.status == 200, answer.json
    assert backend.objects == set()
    assert recorded(app) == (set(), set())
    assert osb.deprovision("i-4", SERVICE, "sync").status == 410


def test_a_provision_that_fails_takes_its_attempt_back_and_leaves_a_foreign_object_alone(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    backend.objects.add("db-i-5")

    first = osb.provision("i-5", SERVICE, "sync")
    second = osb.provision("i-5", SERVICE, "sync")

    assert (first.status, second.status) == (500, 500)
    assert "db-i-5 already exists" in second.json["description"]
    assert recorded(app) == (set(), set())
    assert backend.objects == {"db-i-5"}
    assert "deprovision" not in backend.calls


def test_a_reprovision_that_fails_leaves_the_failed_instance_as_it_was(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    backend.objects.add("db-i-6")
    assert osb.provision("i-6", SERVICE, "async", accepts_incomplete=True).status == 202
    polled = osb.poll("i-6")
    assert polled.json["state"] == "failed"
    assert "db-i-6 already exists" in polled.json["description"]
    store = runtime_of(app).store
    failed = store.get_instance("i-6")
    assert failed is not None
    assert (failed.state, failed.backend_state) == ("failed", None)

    assert osb.provision("i-6", SERVICE, "sync").status == 500

    assert store.get_instance("i-6") == failed
    assert osb.deprovision("i-6", SERVICE, "sync").status == 200
    assert backend.objects == {"db-i-6"}
    assert "deprovision" not in backend.calls


# --- synchronous bind ----------------------------------------------------------------------


def test_the_retry_of_a_bind_that_died_removes_the_leftover_account_and_binds_again(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    provisioned(osb, "i-7")
    died_binding(osb, backend, "i-7", "b-7")
    stored = runtime_of(app).store.get_binding("b-7")
    assert stored is not None
    assert (stored.state, stored.backend_state) == ("binding", {})
    assert osb.get("/v2/service_instances/i-7/service_bindings/b-7").status == 404

    answer = osb.bind("i-7", "b-7", SERVICE, "sync")

    assert answer.status == 201, answer.json
    assert answer.json["credentials"] == {"username": "user-b-7"}
    assert backend.calls[-3:] == ["bind", "unbind", "bind"]
    assert backend.objects == {"db-i-7", "user-b-7"}


def test_the_orphan_mitigation_unbind_after_a_bind_died_removes_the_account(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    provisioned(osb, "i-8")
    died_binding(osb, backend, "i-8", "b-8")

    answer = osb.unbind("i-8", "b-8", SERVICE, "sync")

    assert answer.status == 200, answer.json
    assert backend.objects == {"db-i-8"}
    assert recorded(app) == ({"i-8"}, set())


def test_deprovisioning_an_instance_removes_the_leftover_of_a_bind_that_died(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    provisioned(osb, "i-9")
    died_binding(osb, backend, "i-9", "b-9")

    assert osb.deprovision("i-9", SERVICE, "sync").status == 200

    assert backend.objects == set()
    assert recorded(app) == (set(), set())


# --- asynchronous operations ---------------------------------------------------------------


def test_a_poll_after_the_asynchronous_provision_died_removes_the_leftover_and_finishes(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    started = osb.provision("i-10", SERVICE, "async", accepts_incomplete=True)
    assert started.status == 202, started.json
    operation = started.json["operation"]
    assert osb.last_operation("i-10", operation).json["state"] == "in progress"
    died_polling(osb, backend, "provision", "i-10", operation)

    answer = osb.poll("i-10", operation)

    assert answer.json["state"] == "succeeded", answer.json
    assert backend.calls == ["provision", "deprovision", "provision"]
    assert backend.objects == {"db-i-10"}
    assert osb.get("/v2/service_instances/i-10").status == 200


def test_a_poll_after_the_asynchronous_bind_died_removes_the_leftover_and_finishes(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    assert osb.provision("i-11", SERVICE, "async", accepts_incomplete=True).status == 202
    assert osb.poll("i-11").json["state"] == "succeeded"
    bound = osb.bind("i-11", "b-11", SERVICE, "async", accepts_incomplete=True)
    assert bound.status == 202, bound.json
    operation = bound.json["operation"]
    assert osb.last_operation("i-11", operation, "b-11").json["state"] == "in progress"
    died_polling(osb, backend, "bind", "i-11", operation, "b-11")

    answer = osb.poll("i-11", operation, "b-11")

    assert answer.json["state"] == "succeeded", answer.json
    assert backend.calls[-3:] == ["bind", "unbind", "bind"]
    assert backend.objects == {"db-i-11", "user-b-11"}


def test_an_asynchronous_retry_of_a_provision_that_died_cleans_up_when_it_finishes(
    osb: OSB, backend: ServerRoomBackend
) -> None:
    died_provisioning(osb, backend, "i-12")

    # The platform retries on the asynchronous plan of the same service.
    assert osb.provision("i-12", SERVICE, "async", accepts_incomplete=True).status == 202
    answer = osb.poll("i-12")

    assert answer.json["state"] == "succeeded", answer.json
    assert backend.calls == ["provision", "deprovision", "provision"]
    assert backend.objects == {"db-i-12"}


def test_a_delete_halting_an_asynchronous_retry_removes_what_the_dead_attempt_made(
    osb: OSB, app: Flask, backend: ServerRoomBackend
) -> None:
    died_provisioning(osb, backend, "i-13")
    assert osb.provision("i-13", SERVICE, "async", accepts_incomplete=True).status == 202

    assert osb.deprovision("i-13", SERVICE, "async").status == 200

    assert backend.objects == set()
    assert recorded(app) == (set(), set())


# --- a deprovision that fails half-way ----------------------------------------------------


@pytest.mark.parametrize("accepts_incomplete", [False, True], ids=["sync", "async"])
def test_a_deprovision_failing_half_way_forgets_the_bindings_it_already_removed(
    osb: OSB, app: Flask, backend: ServerRoomBackend, accepts_incomplete: bool
) -> None:
    assert osb.provision("i-20", SERVICE, "async-delete").status == 201
    for binding_id in ("b-20a", "b-20b"):
        assert osb.bind("i-20", binding_id, SERVICE, "async-delete").status == 201
    backend.undeletable.add("user-b-20b")

    answer = osb.deprovision("i-20", SERVICE, "async-delete", accepts_incomplete=accepts_incomplete)

    if accepts_incomplete:
        assert answer.status == 202, answer.json
        polled = osb.poll("i-20", answer.json["operation"])
        assert polled.json["state"] == "failed", polled.json
        assert "cannot drop user-b-20b" in polled.json["description"]
    else:
        assert answer.status == 500, answer.json
        assert "cannot drop user-b-20b" in answer.json["description"]
    assert backend.objects == {"db-i-20", "user-b-20b"}
    assert recorded(app) == ({"i-20"}, {"b-20b"})
