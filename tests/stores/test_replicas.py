"""Three ``mockbroker serve`` processes on one PostgreSQL schema act as one broker.

Each replica runs two gunicorn workers; requests are spread over the replicas and
sent together, so every rule that must hold for one broker (one creator, 409 for a
different body, fault counters, the journal) is checked across six processes.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.osb import OSB, Answer, basic
from tests.support.postgres import fresh_schema
from tests.support.servers import ADMIN_ENV, serve

pytestmark = [pytest.mark.server, pytest.mark.postgres]

REPLICAS = 3
PARALLEL = 32


@dataclass
class Replicas:
    osb: list[OSB]
    admin: list[OSB]

    def ids(self, service: str, plan: str) -> tuple[str, str]:
        return self.osb[0].ids(service, plan)

    def spread(self, calls: list[Callable[[OSB], Answer]]) -> list[Answer]:
        """Run the calls at once, call ``n`` on replica ``n % 3``."""
        start = threading.Barrier(len(calls))

        def run(index: int) -> Answer:
            start.wait()
            return calls[index](self.osb[index % REPLICAS])

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(run, range(len(calls))))


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    with ExitStack() as stack:
        url = stack.enter_context(fresh_schema("mbreplicas"))
        servers = [
            stack.enter_context(
                serve(
                    tmp_path_factory.mktemp(f"replica{n}"), "--store", url, env=ADMIN_ENV, workers=2
                )
            )
            for n in range(REPLICAS)
        ]
        clients = [
            stack.enter_context(httpx.Client(base_url=server.url, timeout=60)) for server in servers
        ]
        yield Replicas(
            osb=[OSB(client, auth=basic()) for client in clients],
            admin=[
                OSB(client, auth=basic("admin", "admin-secret"), version=None) for client in clients
            ],
        )


@pytest.fixture
def fresh(replicas: Replicas) -> Replicas:
    """The replicas after ``POST /admin/reset`` (through the last one)."""
    assert replicas.admin[-1].post("/admin/reset").status == 200
    return replicas


def instances_seen(admin: OSB, instance_id: str) -> list[dict[str, Any]]:
    """The records of ``instance_id`` in one replica's ``GET /admin/state``."""
    answer = admin.get("/admin/state")
    assert answer.status == 200, answer.text
    return [item for item in answer.json["instances"] if item["id"] == instance_id]


def provisions_at_once(
    replicas: Replicas, plan: str, *, accepts_incomplete: bool, differ: bool
) -> tuple[str, list[Answer]]:
    """PARALLEL provisions of one new instance of mock-async ``plan``, spread over the
    replicas; with ``differ``, provision ``n`` asks for space ``space-n``.

    Answers the instance id and the answers in call order.
    """
    # Bodies are built before the burst: OSB.provision would read the catalog inside it.
    same = replicas.osb[0].provision_body("mock-async", plan)
    instance_id = str(uuid.uuid4())
    query = {"accepts_incomplete": "true"} if accepts_incomplete else None

    def call(number: int) -> Callable[[OSB], Answer]:
        body = {**same, "space_guid": f"space-{number}"} if differ else same
        return lambda osb: osb.put(f"/v2/service_instances/{instance_id}", body, query=query)

    return instance_id, replicas.spread([call(number) for number in range(PARALLEL)])


def statuses(answers: list[Answer]) -> Counter[int]:
    return Counter(answer.status for answer in answers)


def assert_one_instance_everywhere(replicas: Replicas, instance_id: str) -> None:
    for admin in replicas.admin:
        found = instances_seen(admin, instance_id)
        assert len(found) == 1, (
            f"{admin.client.base_url} shows {len(found)} instances {instance_id}"
        )


# --- one creator -------------------------------------------------------------------------
def test_identical_sync_provisions_over_three_replicas_create_once(fresh: Replicas) -> None:
    instance_id, answers = provisions_at_once(fresh, "sync", accepts_incomplete=False, differ=False)
    assert statuses(answers) == {201: 1, 200: PARALLEL - 1}, [a.text for a in answers]
    assert_one_instance_everywhere(fresh, instance_id)


def test_different_sync_provisions_over_three_replicas_create_once_and_conflict(
    fresh: Replicas,
) -> None:
    instance_id, answers = provisions_at_once(fresh, "sync", accepts_incomplete=False, differ=True)
    assert statuses(answers) == {201: 1, 409: PARALLEL - 1}, [a.text for a in answers]
    winner = next(number for number, answer in enumerate(answers) if answer.status == 201)
    (stored,) = instances_seen(fresh.admin[0], instance_id)
    assert stored["space_guid"] == f"space-{winner}"
    assert_one_instance_everywhere(fresh, instance_id)


def test_identical_async_provisions_over_three_replicas_start_one_operation(
    fresh: Replicas,
) -> None:
    instance_id, answers = provisions_at_once(
        fresh, "manual", accepts_incomplete=True, differ=False
    )
    assert statuses(answers) == {202: PARALLEL}, [a.text for a in answers]
    assert len({answer.json["operation"] for answer in answers}) == 1
    assert_one_instance_everywhere(fresh, instance_id)
    state = fresh.admin[1].get("/admin/state").json
    started = [
        item
        for item in state["operations"]
        if item["instance_id"] == instance_id and item["type"] == "provision"
    ]
    assert len(started) == 1


def test_different_async_provisions_over_three_replicas_start_once_and_conflict(
    fresh: Replicas,
) -> None:
    instance_id, answers = provisions_at_once(fresh, "manual", accepts_incomplete=True, differ=True)
    assert statuses(answers) == {202: 1, 409: PARALLEL - 1}, [a.text for a in answers]
    assert_one_instance_everywhere(fresh, instance_id)


# --- fault counters and the journal --------------------------------------------------------
def test_a_fault_rule_added_on_one_replica_fires_exactly_its_times_across_all(
    fresh: Replicas,
) -> None:
    service_id, plan_id = fresh.ids("mock-async", "sync")
    instance_id = str(uuid.uuid4())
    assert fresh.osb[0].provision(instance_id, "mock-async", "sync").status == 201
    added = fresh.admin[0].post(
        "/admin/faults",
        {"match": {"operation": "bind"}, "trigger": {"times": 3}, "action": {"status": 500}},
    )
    assert added.status == 201, added.text
    rule_id = added.json["id"]

    binding_ids = [str(uuid.uuid4()) for _ in range(12)]

    def bind(binding_id: str) -> Callable[[OSB], Answer]:
        path = f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}"
        return lambda osb: osb.put(path, {"service_id": service_id, "plan_id": plan_id})

    answers = fresh.spread([bind(binding_id) for binding_id in binding_ids])
    assert statuses(answers) == {500: 3, 201: 9}, [a.text for a in answers]

    for admin in fresh.admin:
        rules = {rule["id"]: rule for rule in admin.get("/admin/faults").json["faults"]}
        assert rules[rule_id]["fired"] == 3
        journal = admin.get("/admin/requests", query={"operation": "bind"}).json["requests"]
        assert sorted(item["binding_id"] for item in journal) == sorted(binding_ids)
        assert Counter(item["status"] for item in journal) == {500: 3, 201: 9}


# --- manual operations and ConcurrencyError ----------------------------------------------
def test_an_operation_started_on_one_replica_is_finished_and_polled_on_others(
    fresh: Replicas,
) -> None:
    instance_id = str(uuid.uuid4())
    started = fresh.osb[0].provision(instance_id, "mock-async", "manual", accepts_incomplete=True)
    assert started.status == 202, started.text
    operation = started.json["operation"]
    assert fresh.osb[2].last_operation(instance_id, operation).json["state"] == "in progress"

    finished = fresh.admin[1].post(f"/admin/operations/{operation}", {"state": "succeeded"})
    assert finished.status == 200, finished.text
    assert fresh.osb[2].last_operation(instance_id, operation).json["state"] == "succeeded"
    again = fresh.admin[0].post(f"/admin/operations/{operation}", {"state": "failed"})
    assert again.status == 409


def test_a_deprovision_running_on_one_replica_makes_another_answer_concurrency_error(
    fresh: Replicas,
) -> None:
    instance_id = str(uuid.uuid4())
    operation = fresh.osb[0].provision(instance_id, "mock-async", "manual", accepts_incomplete=True)
    assert operation.status == 202, operation.text
    finished = fresh.admin[0].post(
        f"/admin/operations/{operation.json['operation']}", {"state": "succeeded"}
    )
    assert finished.status == 200, finished.text

    deleting = fresh.osb[1].deprovision(
        instance_id, "mock-async", "manual", accepts_incomplete=True
    )
    assert deleting.status == 202, deleting.text
    again = fresh.osb[2].provision(instance_id, "mock-async", "manual", accepts_incomplete=True)
    assert again.status == 422, again.text
    assert again.json["error"] == "ConcurrencyError"
