"""A fault rule's delay or hang never wedges the broker (a real ``mockbroker serve``).

A ``delay_ms`` of ten minutes with 80 waiting clients must not stop health checks or
the admin API (the DELETE that removes the rule above all), and the waits end as
soon as their rule is removed, in any process, or their client disconnects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = [pytest.mark.server, pytest.mark.hostile]

ADMIN = basic("admin", "admin-secret")
TEN_MINUTES = 600_000
# Health and admin answers while the OSB API is wedged: seconds, against ten minutes.
PROMPT = 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("waits"), env=ADMIN_ENV, workers=2) as running:
        yield running


@pytest.fixture
def admin(server: RunningServer) -> Iterator[OSB]:
    with httpx.Client(base_url=server.url, timeout=PROMPT) as client:
        caller = OSB(client, auth=ADMIN, version=None)
        assert caller.post("/admin/reset").status == 200
        yield caller
        caller.delete("/admin/faults")


def add_fault(admin: OSB, action: dict[str, Any], operation: str = "provision") -> str:
    answer = admin.post("/admin/faults", {"match": {"operation": operation}, "action": action})
    assert answer.status == 201, answer.text
    return str(answer.json["id"])


def provision_body(server: RunningServer, service: str = "mock-async", plan: str = "sync") -> Any:
    with httpx.Client(base_url=server.url, timeout=PROMPT) as client:
        return OSB(client).provision_body(service, plan)


class Clients:
    """``count`` clients that each send one provision and wait (up to ``timeout``)."""

    def __init__(self, url: str, count: int, body: Any, timeout: float) -> None:
        self.pool = ThreadPoolExecutor(max_workers=count)
        self.futures: list[Future[httpx.Response | Exception]] = []
        for n in range(count):
            self.futures.append(
                self.pool.submit(self._provision, url, f"waiting-{n}", body, timeout)
            )

    @staticmethod
    def _provision(
        url: str, instance_id: str, body: Any, timeout: float
    ) -> httpx.Response | Exception:
        headers = {"Authorization": basic(), "X-Broker-API-Version": "2.17"}
        try:
            return httpx.put(
                f"{url}/v2/service_instances/{instance_id}",
                json=body,
                headers=headers,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            return exc

    def results(self, within: float) -> list[httpx.Response | Exception]:
        deadline = time.monotonic() + within
        found = []
        for future in self.futures:
            found.append(future.result(timeout=max(0.01, deadline - time.monotonic())))
        return found

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def wait_for(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        time.sleep(0.05)


def calls_of(admin: OSB, rule_id: str) -> int:
    return int(admin.get(f"/admin/faults/{rule_id}").json["calls"])


@pytest.mark.parametrize("action", [{"delay_ms": TEN_MINUTES}, {"hang": True}], ids=str)
def test_health_and_admin_answer_while_80_clients_wait_in_a_fault(
    server: RunningServer, admin: OSB, action: dict[str, Any]
) -> None:
    rule_id = add_fault(admin, action)
    clients = Clients(server.url, 80, provision_body(server), timeout=60)
    try:
        wait_for(lambda: calls_of(admin, rule_id) == 80, 20, "80 clients waiting")
        with httpx.Client(base_url=server.url, timeout=PROMPT) as probe:
            for _ in range(5):
                assert probe.get("/livez").status_code == 200
                assert probe.get("/readyz").status_code == 200
        assert admin.get("/admin/state").status == 200
        assert OSB(admin.client).get("/v2/catalog").status == 200  # so does the OSB API
        assert admin.delete(f"/admin/faults/{rule_id}").status == 200
        results = clients.results(within=10)
    finally:
        clients.close()
    if "delay_ms" in action:
        # The rest of the delay is skipped; the broker then does what was asked.
        assert [getattr(r, "status_code", r) for r in results] == [201] * 80
    else:
        # A hang ends as hangs do: the connection closes without an answer.
        assert all(isinstance(r, httpx.TransportError) for r in results), results[:3]


def test_a_reset_ends_the_waits_of_a_catalog_rule_that_comes_back_with_it(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "slow.yaml"
    catalog.write_text(
        "services:\n"
        "  - name: glacial\n    description: Slow\n    bindable: false\n    plans:\n"
        "      - name: forever\n        description: Waits ten minutes\n"
        "        mockbroker:\n          faults:\n"
        f"            - action: {{delay_ms: {TEN_MINUTES}}}\n"
    )
    with serve(tmp_path, "--catalog", str(catalog), env=ADMIN_ENV, workers=2) as running:
        with httpx.Client(base_url=running.url, timeout=PROMPT) as client:
            admin = OSB(client, auth=ADMIN, version=None)
            (rule,) = admin.get("/admin/faults").json["faults"]
            body = provision_body(running, "glacial", "forever")
            clients = Clients(running.url, 12, body, timeout=60)
            try:
                wait_for(lambda: calls_of(admin, rule["id"]) == 12, 20, "12 clients waiting")
                assert admin.post("/admin/reset").status == 200
                results = clients.results(within=10)
            finally:
                clients.close()
            # The reset put the catalog's rule back, with fresh counters.
            (again,) = admin.get("/admin/faults").json["faults"]
    assert again["id"] == rule["id"]
    assert [getattr(r, "status_code", r) for r in results] == [201] * 12


def test_deleting_a_rule_through_one_replica_ends_the_waits_in_another(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'shared' / 'broker.db'}"
    with ExitStack() as stack:
        replicas = []
        for name in ("first", "second"):
            (tmp_path / name).mkdir()
            replicas.append(
                stack.enter_context(serve(tmp_path / name, "--store", store, env=ADMIN_ENV))
            )
        first, second = replicas
        with httpx.Client(base_url=first.url, timeout=PROMPT) as client:
            admin = OSB(client, auth=ADMIN, version=None)
            for action in ({"delay_ms": TEN_MINUTES}, {"hang": True}):
                rule_id = add_fault(admin, action)
                clients = Clients(second.url, 20, provision_body(second), timeout=60)
                try:
                    wait_for(
                        lambda rule=rule_id: calls_of(admin, rule) == 20, 20, "20 clients waiting"
                    )
                    started = time.monotonic()
                    assert admin.delete(f"/admin/faults/{rule_id}").status == 200
                    results = clients.results(within=10)
                    ended_after = time.monotonic() - started
                finally:
                    clients.close()
                assert ended_after < 5, ended_after
                if "hang" in action:
                    assert all(isinstance(r, httpx.TransportError) for r in results)
                else:
                    assert [getattr(r, "status_code", r) for r in results] == [201] * 20
                admin.post("/admin/reset")


@pytest.mark.parametrize(
    "action",
    [{"delay_ms": TEN_MINUTES}, {"delay_ms": TEN_MINUTES, "status": 500}, {"hang": True}],
    ids=str,
)
def test_clients_that_give_up_end_their_waits_and_leave_no_state(
    server: RunningServer, admin: OSB, action: dict[str, Any]
) -> None:
    rule_id = add_fault(admin, action)
    clients = Clients(server.url, 10, provision_body(server), timeout=1)
    try:
        results = clients.results(within=10)
    finally:
        clients.close()
    assert all(isinstance(r, httpx.TimeoutException) for r in results), results[:3]

    def recorded() -> list[dict[str, Any]]:
        entries = admin.get("/admin/requests", query={"operation": "provision"}).json
        return [entry for entry in entries["requests"] if entry["fault"] == rule_id]

    # Each wait ended when its client left: the journal has the request, unanswered.
    wait_for(lambda: len(recorded()) == 10, 5, "the abandoned requests in the journal")
    assert {entry["status"] for entry in recorded()} == {None}
    assert admin.get("/admin/state").json["instances"] == []


def test_requests_beyond_the_cap_are_refused_with_503_instead_of_held(tmp_path: Path) -> None:
    env = {**ADMIN_ENV, "BROKER_MAX_DELAYED": "3"}
    with serve(tmp_path, env=env, workers=1) as running:
        with httpx.Client(base_url=running.url, timeout=PROMPT) as client:
            admin = OSB(client, auth=ADMIN, version=None)
            rule_id = add_fault(admin, {"delay_ms": TEN_MINUTES})
            waiting = Clients(running.url, 3, provision_body(running), timeout=60)
            try:
                wait_for(lambda: calls_of(admin, rule_id) == 3, 20, "3 clients waiting")
                refused = [
                    OSB(client).provision(f"refused-{n}", "mock-async", "sync") for n in range(4)
                ]
                assert admin.delete(f"/admin/faults/{rule_id}").status == 200
                results = waiting.results(within=10)
            finally:
                waiting.close()
    for answer in refused:
        assert answer.status == 503, answer.text
        assert answer.headers["retry-after"] == "1"
        assert answer.json["error"] == "TooManyDelayedRequests"
        assert "max_delayed" in answer.json["description"]
    assert [getattr(r, "status_code", r) for r in results] == [201] * 3


def test_admin_long_polls_do_not_starve_health_checks_or_other_admin_calls(
    server: RunningServer, admin: OSB
) -> None:
    def long_poll() -> int:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            caller = OSB(client, auth=ADMIN, version=None)
            answer = caller.get("/admin/requests", query={"operation": "bind", "wait": "8"})
            return answer.status

    with ThreadPoolExecutor(max_workers=40) as pool:
        polls = [pool.submit(long_poll) for _ in range(40)]
        time.sleep(1.0)
        with httpx.Client(base_url=server.url, timeout=PROMPT) as probe:
            assert probe.get("/livez").status_code == 200
        assert admin.get("/admin/faults").status == 200
        assert admin.get("/admin/requests", query={"limit": "1"}).status == 200
        assert [poll.result(timeout=20) for poll in polls] == [200] * 40
