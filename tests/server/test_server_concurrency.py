"""Many clients at once against real gunicorn (several workers, shared SQLite): one winner.

Every test fires 32 requests for one resource through a barrier, so they reach
the workers together, and checks both the answers and what the store kept.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from broker.storage.sqlite import SQLiteStore
from tests.support.osb import OSB, Answer
from tests.support.servers import RunningServer, serve

pytestmark = pytest.mark.server

PARALLEL = 32


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("concurrency"), workers=4) as running:
        yield running


@pytest.fixture
def osb(server: RunningServer) -> Iterator[OSB]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield OSB(client)


@pytest.fixture
def store(server: RunningServer) -> Iterator[SQLiteStore]:
    data_dir = Path(server.log_path).parent / "data"
    opened = SQLiteStore(f"sqlite:///{data_dir / 'broker.db'}")
    yield opened
    opened.close()


def all_at_once(server: RunningServer, call: Callable[[OSB, int], Answer]) -> list[Answer]:
    """Run ``call(osb, index)`` from PARALLEL threads released together; return the answers."""
    barrier = threading.Barrier(PARALLEL)
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL)

    def one(index: int) -> Answer:
        with httpx.Client(base_url=server.url, timeout=60, limits=limits) as client:
            caller = OSB(client)
            barrier.wait()
            return call(caller, index)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(one, range(PARALLEL)))
    server_errors = [answer for answer in answers if answer.status >= 500]
    assert not server_errors, server_errors[0].text
    return answers


def statuses(answers: list[Answer]) -> Counter[int]:
    return Counter(answer.status for answer in answers)


def test_identical_parallel_provisions_create_one_instance(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    body = osb.provision_body("mock-database", "small", parameters={"storage_gb": 7})
    answers = all_at_once(server, lambda caller, _: caller.put("/v2/service_instances/cc-p1", body))
    assert statuses(answers) == {201: 1, 200: PARALLEL - 1}
    assert len({answer.text for answer in answers}) == 1
    instance = store.get_instance("cc-p1")
    assert instance is not None and instance.parameters == {"storage_gb": 7}


def test_identical_parallel_async_provisions_start_one_operation(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    body = osb.provision_body("mock-async", "polls")
    answers = all_at_once(
        server,
        lambda caller, _: caller.put(
            "/v2/service_instances/cc-p2", body, query={"accepts_incomplete": "true"}
        ),
    )
    assert statuses(answers) == {202: PARALLEL}
    assert len({answer.json["operation"] for answer in answers}) == 1
    operations = [op for op in store.list_operations() if op.instance_id == "cc-p2"]
    assert [op.type for op in operations] == ["provision"]


def test_conflicting_parallel_provisions_have_one_winner(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    bodies = [
        osb.provision_body("mock-database", "small", parameters={"storage_gb": index + 1})
        for index in range(PARALLEL)
    ]
    answers = all_at_once(
        server, lambda caller, index: caller.put("/v2/service_instances/cc-p3", bodies[index])
    )
    assert statuses(answers) == {201: 1, 409: PARALLEL - 1}
    winner = next(index for index, answer in enumerate(answers) if answer.status == 201)
    assert store.get_instance("cc-p3").parameters == bodies[winner]["parameters"]  # type: ignore[union-attr]


def test_identical_parallel_binds_create_one_binding(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    assert osb.provision("cc-b1", "mock-database", "small").status == 201
    service_id, plan_id = osb.ids("mock-database", "small")
    body = {"service_id": service_id, "plan_id": plan_id, "parameters": {"role": "read-only"}}
    path = "/v2/service_instances/cc-b1/service_bindings/cc-b1-a"
    answers = all_at_once(server, lambda caller, _: caller.put(path, body))
    assert statuses(answers) == {201: 1, 200: PARALLEL - 1}
    assert len({answer.text for answer in answers}) == 1  # one set of credentials for everyone
    binding = store.get_binding("cc-b1-a")
    assert binding is not None
    assert binding.response["credentials"] == answers[0].json["credentials"]
    assert [b.id for b in store.bindings_of("cc-b1")] == ["cc-b1-a"]


def test_identical_parallel_async_binds_start_one_operation(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    assert osb.provision("cc-b2", "mock-async", "polls").status == 201
    service_id, plan_id = osb.ids("mock-async", "polls")
    path = "/v2/service_instances/cc-b2/service_bindings/cc-b2-a"
    answers = all_at_once(
        server,
        lambda caller, _: caller.put(
            path,
            {"service_id": service_id, "plan_id": plan_id},
            query={"accepts_incomplete": "true"},
        ),
    )
    assert statuses(answers) == {202: PARALLEL}
    assert len({answer.json["operation"] for answer in answers}) == 1
    operations = [op for op in store.list_operations() if op.binding_id == "cc-b2-a"]
    assert [op.type for op in operations] == ["bind"]


def test_conflicting_parallel_binds_have_one_winner(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    assert osb.provision("cc-b3", "mock-async", "sync").status == 201
    service_id, plan_id = osb.ids("mock-async", "sync")
    path = "/v2/service_instances/cc-b3/service_bindings/cc-b3-a"
    answers = all_at_once(
        server,
        lambda caller, index: caller.put(
            path, {"service_id": service_id, "plan_id": plan_id, "parameters": {"n": index}}
        ),
    )
    assert statuses(answers) == {201: 1, 409: PARALLEL - 1}
    winner = next(index for index, answer in enumerate(answers) if answer.status == 201)
    binding = store.get_binding("cc-b3-a")
    assert binding is not None and binding.parameters == {"n": winner}
    assert binding.response["credentials"] == answers[winner].json["credentials"]


def test_parallel_binds_of_one_id_under_different_instances_have_one_winner(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    service_id, plan_id = osb.ids("mock-async", "sync")
    for index in range(4):
        assert osb.provision(f"cc-b4-{index}", "mock-async", "sync").status == 201
    answers = all_at_once(
        server,
        lambda caller, index: caller.put(
            f"/v2/service_instances/cc-b4-{index % 4}/service_bindings/cc-b4-shared",
            {"service_id": service_id, "plan_id": plan_id},
        ),
    )
    counts = statuses(answers)
    assert counts[201] == 1
    assert counts[201] + counts[200] + counts[409] == PARALLEL
    owner = store.get_binding("cc-b4-shared").instance_id  # type: ignore[union-attr]
    for index, answer in enumerate(answers):
        expected = {201, 200} if f"cc-b4-{index % 4}" == owner else {409}
        assert answer.status in expected


def test_parallel_deprovisions_delete_once(
    server: RunningServer, osb: OSB, store: SQLiteStore
) -> None:
    assert osb.provision("cc-d1", "mock-database", "small").status == 201
    assert osb.bind("cc-d1", "cc-d1-a", "mock-database", "small").status == 201
    service_id, plan_id = osb.ids("mock-database", "small")
    answers = all_at_once(
        server,
        lambda caller, _: caller.delete(
            "/v2/service_instances/cc-d1", query={"service_id": service_id, "plan_id": plan_id}
        ),
    )
    assert statuses(answers) == {200: 1, 410: PARALLEL - 1}
    assert store.get_instance("cc-d1") is None
    assert store.get_binding("cc-d1-a") is None
