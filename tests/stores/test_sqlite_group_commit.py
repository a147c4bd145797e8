"""Group commit in the SQLite store: concurrent writes share transactions, lose nothing,
fail alone, and are durable and visible when the call returns."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from broker.storage.base import Put
from broker.storage.group_commit import GroupCommit
from broker.storage.sqlite import SQLiteStore
from tests.support.records import instance


def write_many(url: str, prefix: str, threads: int, each: int) -> None:
    store = SQLiteStore(url)

    def run(number: int) -> None:
        for index in range(each):
            store.apply([Put(instance(f"{prefix}-{number}-{index}"))])

    workers = [threading.Thread(target=run, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    store.close()


def test_concurrent_applies_from_many_threads_all_land(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    write_many(url, "t", threads=8, each=25)
    stored = {record.id for record in SQLiteStore(url).list_instances()}
    assert stored == {f"t-{n}-{i}" for n in range(8) for i in range(25)}


def test_an_applied_change_is_visible_to_another_connection_when_apply_returns(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    writer, reader = SQLiteStore(url), SQLiteStore(url)
    for index in range(20):
        writer.apply([Put(instance(f"seen-{index}"))])
        assert reader.get_instance(f"seen-{index}") is not None


def test_concurrent_applies_from_two_processes_all_land(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    SQLiteStore(url).close()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=write_many, args=(url, f"p{n}", 4, 20)) for n in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(SQLiteStore(url).list_instances()) == 2 * 4 * 20


def batching_database(tmp_path: Path) -> tuple[GroupCommit, threading.local]:
    local = threading.local()
    path = tmp_path / "batch.db"

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(path, isolation_level=None)
            local.db.execute("PRAGMA journal_mode=WAL")
        db: sqlite3.Connection = local.db
        return db

    connection().execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)")
    return GroupCommit(connection, tmp_path / "batch.lock"), local


def test_a_failing_write_in_a_batch_raises_in_its_own_thread_and_the_others_commit(
    tmp_path: Path,
) -> None:
    commits, _ = batching_database(tmp_path)
    leader_inside, release = threading.Event(), threading.Event()
    results: dict[int, object] = {}

    def hold_the_lead(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO items (id) VALUES (0)")
        leader_inside.set()
        release.wait(10)

    def insert(item: int) -> None:
        try:
            commits.run(lambda db: db.execute("INSERT INTO items (id) VALUES (?)", (item,)))
            results[item] = "ok"
        except sqlite3.IntegrityError as exc:
            results[item] = exc

    leader = threading.Thread(target=commits.run, args=(hold_the_lead,))
    leader.start()
    assert leader_inside.wait(10)
    # Queued behind the leader, these four form the next batch; 0 already exists.
    followers = [threading.Thread(target=insert, args=(item,)) for item in (1, 2, 0, 3)]
    for follower in followers:
        follower.start()
    deadline = time.monotonic() + 10
    while len(commits._queue) < 4:  # all queued before the lead is released
        if time.monotonic() >= deadline:
            release.set()
            pytest.fail(f"only {len(commits._queue)} of 4 writes queued behind the leader")
        threading.Event().wait(0.01)
    release.set()
    for thread in (leader, *followers):
        thread.join(10)
    assert not [thread for thread in (leader, *followers) if thread.is_alive()]
    assert results[1] == results[2] == results[3] == "ok"
    assert isinstance(results[0], sqlite3.IntegrityError)
    check = sqlite3.connect(tmp_path / "batch.db")
    assert [row[0] for row in check.execute("SELECT id FROM items ORDER BY id")] == [0, 1, 2, 3]


def test_a_failing_single_write_rolls_back_and_raises(tmp_path: Path) -> None:
    commits, _ = batching_database(tmp_path)

    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO items (id) VALUES (7)")
        raise ValueError("no")

    with pytest.raises(ValueError):
        commits.run(half_then_fail)
    check = sqlite3.connect(tmp_path / "batch.db")
    assert check.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
