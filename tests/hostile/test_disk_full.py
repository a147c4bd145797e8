"""A full disk answers 503 with Retry-After, makes /readyz not ready, and loses nothing.

The real test serves from a small tmpfs (it needs root to mount one, and skips with
the reason otherwise); a file fills it, then is removed. A second test runs
everywhere: the same SQLite error raised by a page limit on the state database
(``PRAGMA max_page_count``), through the application in-process.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.storage.sqlite import SQLiteStore
from tests.hostile.conftest import callers
from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, serve

pytestmark = pytest.mark.server


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards; skips where it cannot be mounted."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the in-process test covers the rest")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the file system is full; the file."""
    filler = folder / "filler"
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as file:
        try:
            while True:
                file.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        try:
            while True:
                file.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def expect_unavailable(answer: object) -> None:
    assert answer.status == 503, (answer.status, answer.text)  # type: ignore[attr-defined]
    assert answer.json["error"] == "StoreUnavailable"  # type: ignore[attr-defined]
    headers = {name.lower(): value for name, value in answer.headers.items()}  # type: ignore[attr-defined]
    assert int(headers["retry-after"]) >= 1, headers


def test_a_full_disk_answers_503_and_not_ready_then_recovers_without_loss(
    small_disk: Path, tmp_path: Path
) -> None:
    env = {**ADMIN_ENV, "BROKER_DATA_DIR": str(small_disk / "data")}
    with serve(tmp_path, env=env) as server, callers(server) as (osb, admin):
        for number in range(5):
            assert osb.provision(f"before-{number}", "mock-async", "sync").status == 201
        assert osb.bind("before-0", "before-b", "mock-async", "sync").status == 201
        filler = fill(small_disk)

        refused = []
        for number in range(3):
            answer = osb.provision(
                f"during-{number}", "mock-async", "sync", parameters={"pad": "p" * 60_000}
            )
            expect_unavailable(answer)
            refused.append(f"during-{number}")
        expect_unavailable(osb.bind("before-1", "during-b", "mock-async", "sync"))
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
        reason = admin.get("/readyz").json["checks"]["store"]
        assert "disk is full" in reason
        # Reading goes on.
        assert osb.get("/v2/service_instances/before-3").status == 200

        filler.unlink()
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
        assert osb.provision("after", "mock-async", "sync").status == 201
        ids = {instance["id"] for instance in admin.get("/admin/state").json["instances"]}
        assert ids == {f"before-{number}" for number in range(5)} | {"after"}
        assert [b["id"] for b in admin.get("/admin/state").json["bindings"]] == ["before-b"]
        for name in refused:
            assert osb.get(f"/v2/service_instances/{name}").status == 404
        assert osb.bind("before-1", "during-b", "mock-async", "sync").status == 201


class _PageLimitedStore(SQLiteStore):
    """SQLite whose state database may not grow past a number of pages (``max_page_count``)."""

    pages: int | None = None

    def _connect(self, path: Path, synchronous: str, shared: bool = False) -> sqlite3.Connection:
        connection = super()._connect(path, synchronous, shared)
        if path == self.path and self.pages is not None:
            connection.execute(f"PRAGMA max_page_count={self.pages}")
        return connection


@pytest.fixture
def limited(tmp_path: Path, settings: Settings) -> Iterator[tuple[Flask, _PageLimitedStore]]:
    url = f"sqlite:///{tmp_path / 'limited' / 'broker.db'}"
    store = _PageLimitedStore(url)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store.close()
    store.pages = pages + 8  # a few pages of room: the database fills up quickly
    app = create_app(settings.replace(store=url), store_instance=store)
    yield app, store
    store.close()


def test_a_full_database_answers_503_and_recovers_when_space_is_freed(
    limited: tuple[Flask, _PageLimitedStore],
) -> None:
    app, _ = limited
    osb = OSB(app.test_client())
    admin = OSB(osb.client, auth=basic("admin", "admin-secret"), version=None)
    acknowledged = []
    answer = None
    for number in range(200):
        answer = osb.provision(f"fill-{number}", "mock-async", "sync", parameters={"p": "x" * 3000})
        if answer.status != 201:
            break
        acknowledged.append(f"fill-{number}")
    assert answer is not None
    expect_unavailable(answer)
    refused = f"fill-{len(acknowledged)}"
    assert acknowledged and osb.get(f"/v2/service_instances/{refused}").status == 404
    expect_unavailable(osb.provision("another", "mock-async", "sync", parameters={"p": "y" * 3000}))

    for name in acknowledged[:3]:  # deleting frees pages: space returns
        assert osb.deprovision(name, "mock-async", "sync").status == 200
    assert osb.provision("after", "mock-async", "sync", parameters={"p": "z" * 3000}).status == 201
    ids = {instance["id"] for instance in admin.get("/admin/state").json["instances"]}
    assert ids == set(acknowledged[3:]) | {"after"}
