"""The journal across gunicorn workers: every worker writes its own segments, every
worker reads them all, an entry is there before its answer leaves, and a killed
server's journal is there after a restart."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

ADMIN = basic("admin", "admin-secret")
WORKERS = 3


def admin_get(server: RunningServer, query: dict[str, str]) -> dict[str, Any]:
    """``GET /admin/requests`` on a connection of its own (often another worker)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.get("/admin/requests", params=query, headers={"Authorization": ADMIN})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def provision_and_look(server: RunningServer, name: str) -> tuple[int, list[dict[str, Any]]]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        status = OSB(client).provision(name, "mock-async", "sync").status
    return status, admin_get(server, {"instance_id": name})["requests"]


def segment_writers(data: Path) -> set[str]:
    """The processes that wrote the segments in ``data`` (``<first id>-<pid>-<tag>``)."""
    return {path.name.split("-")[1] for path in (data / "broker.journal").glob("*.jsonl")}


def test_entries_of_every_worker_are_one_journal_seen_before_the_answer(
    tmp_path: Path,
) -> None:
    names = [f"spread-{number}" for number in range(40)]
    with serve(tmp_path, env=dict(ADMIN_ENV), workers=WORKERS) as server:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda name: provision_and_look(server, name), names))
        for name, (status, found) in zip(names, results, strict=True):
            assert status == 201
            # Read right after the answer, by whichever worker took the admin call.
            assert [entry["instance_id"] for entry in found] == [name]
        assert len(segment_writers(tmp_path / "data")) >= 2
        everything = admin_get(server, {"limit": "1000"})["requests"]
        ids = [entry["id"] for entry in everything]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        provisions = [entry for entry in everything if entry["method"] == "PUT"]
        assert sorted(entry["instance_id"] for entry in provisions) == sorted(names)

        # A long poll waits for an entry written by any worker.
        waited: dict[str, Any] = {}
        since = str(ids[-1])
        poll = threading.Thread(
            target=lambda: waited.update(
                admin_get(server, {"since": since, "wait": "20", "instance_id": "waited-for"})
            )
        )
        poll.start()
        status, _ = provision_and_look(server, "waited-for")
        poll.join(30)
        assert status == 201
        assert [entry["instance_id"] for entry in waited["requests"]] == ["waited-for"]

        # A clear forgets every worker's entries; each worker goes on recording.
        with httpx.Client(base_url=server.url, timeout=30) as client:
            cleared = client.delete("/admin/requests", headers={"Authorization": ADMIN})
        assert cleared.status_code == 200
        assert admin_get(server, {})["requests"] == []
        assert list((tmp_path / "data" / "broker.journal").glob("*.jsonl")) == []
        after = [provision_and_look(server, f"after-{number}") for number in range(6)]
        assert all(found and found[0]["id"] > ids[-1] for _, found in after)
        kept = admin_get(server, {})["requests"]
        server.kill()
        server.process.wait(10)
    with serve(tmp_path, env=dict(ADMIN_ENV), workers=WORKERS) as again:
        assert admin_get(again, {})["requests"] == kept
        status, found = provision_and_look(again, "after-restart")
        assert status == 201 and found[0]["id"] > kept[-1]["id"]


def test_reset_keeps_the_journal_when_asked_and_clears_it_otherwise(tmp_path: Path) -> None:
    with serve(tmp_path, env=dict(ADMIN_ENV), workers=WORKERS) as server:
        for number in range(6):
            assert provision_and_look(server, f"reset-{number}")[0] == 201
        with httpx.Client(base_url=server.url, timeout=30) as client:
            auth = {"Authorization": ADMIN}
            kept = client.post("/admin/reset", json={"keep_journal": True}, headers=auth)
            assert kept.status_code == 200, kept.text
            assert len(admin_get(server, {"method": "PUT"})["requests"]) == 6
            assert client.post("/admin/reset", json={}, headers=auth).status_code == 200
        assert admin_get(server, {})["requests"] == []
