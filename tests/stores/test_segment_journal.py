"""The SQLite store's journal in segment files: one journal whoever wrote it.

Two :class:`SegmentJournal` objects on one folder stand for two worker processes:
each has its own append lock (``flock`` is per open file) and its own segment.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from broker.storage.base import JournalQuery
from broker.storage.segment_journal import SEGMENTS_PER_BUDGET, SUFFIX, SegmentJournal
from broker.storage.sqlite import SQLiteStore


def entry(number: int, response: Any = None, **fields: Any) -> dict[str, Any]:
    return {
        "time": "t",
        "epoch": float(number),
        "method": "GET",
        "path": "/v2/catalog",
        "operation": "catalog",
        "instance_id": None,
        "status": 200,
        "response": response,
        "duration_ms": 1.0,
        **fields,
    }


def segments(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{SUFFIX}"))


def test_two_workers_segments_are_read_as_one_journal_in_order(tmp_path: Path) -> None:
    first, second = SegmentJournal(tmp_path), SegmentJournal(tmp_path)
    ids = []
    for number in range(10):
        writer = first if number % 3 else second
        ids.append(writer.journal_append(entry(number, instance_id=f"i-{number}"), 100))
    assert ids == sorted(ids) and len(set(ids)) == 10
    assert len(segments(tmp_path)) == 2  # one a worker
    for reader in (first, second):
        found = reader.journal_query(JournalQuery())
        assert [item["id"] for item in found] == ids
        assert [item["instance_id"] for item in found] == [f"i-{n}" for n in range(10)]
    since = first.journal_query(JournalQuery(since_id=ids[4], limit=3))
    assert [item["id"] for item in since] == ids[5:8]
    newest = second.journal_query(JournalQuery(limit=2, before_id=ids[-1]))
    assert [item["id"] for item in newest] == ids[-3:-1]
    older = second.journal_query(JournalQuery(limit=200, before_id=ids[-1]))
    assert [item["id"] for item in older] == ids[:-1]
    only = first.journal_query(JournalQuery(instance_id="i-3"))
    assert [item["id"] for item in only] == [ids[3]]
    assert first.journal_query(JournalQuery(since_time=8.0))[0]["id"] == ids[8]


def test_an_entry_keeps_its_keys_in_order_and_a_repeated_response_in_place(
    tmp_path: Path,
) -> None:
    journal = SegmentJournal(tmp_path)
    catalog = {"services": [{"id": "a", "plans": [{"id": "p"}]}]}
    for number in range(3):
        journal.journal_append(entry(number, catalog), limit=100)
    journal.journal_append(entry(3, {"services": []}), limit=100)
    journal.journal_append(entry(4, {"big": 2**70}), limit=100)  # beyond orjson's integers
    found = journal.journal_query(JournalQuery())
    assert [item["response"] for item in found] == [catalog] * 3 + [
        {"services": []},
        {"big": 2**70},
    ]
    assert list(found[0]) == [*entry(0, catalog), "id"]


def test_the_count_limit_drops_the_oldest_and_their_segments(tmp_path: Path) -> None:
    first, second = SegmentJournal(tmp_path), SegmentJournal(tmp_path)
    limit = 2 * SEGMENTS_PER_BUDGET
    for number in range(10 * limit):
        (first if number % 2 else second).journal_append(entry(number), limit)
    found = first.journal_query(JournalQuery(limit=10_000))
    assert [item["epoch"] for item in found] == [float(n) for n in range(9 * limit, 10 * limit)]
    # Segments go whole once every entry in them is dropped; a few stay partly dropped.
    kept = sum(len(path.read_bytes().splitlines()) for path in segments(tmp_path))
    assert kept < 2 * limit


def test_the_byte_budget_drops_the_oldest_segments(tmp_path: Path) -> None:
    first, second = SegmentJournal(tmp_path), SegmentJournal(tmp_path)
    budget = 256 * 1024
    pad = "p" * 1000
    for number in range(1000):  # about 1 MiB, four times the budget
        (first if number % 2 else second).journal_append(entry(number, pad=pad), 100_000, budget)
    stored = sum(path.stat().st_size for path in segments(tmp_path))
    assert stored <= budget * 1.5, stored
    found = second.journal_query(JournalQuery(limit=100_000))
    epochs = [item["epoch"] for item in found]
    assert epochs == [float(n) for n in range(1000 - len(epochs), 1000)]  # the newest stay
    assert 50 < len(epochs) < 220


def test_a_clear_empties_every_workers_segments_and_both_go_on(tmp_path: Path) -> None:
    first, second = SegmentJournal(tmp_path), SegmentJournal(tmp_path)
    before = [first.journal_append(entry(1), 100), second.journal_append(entry(2), 100)]
    first.journal_clear()
    assert segments(tmp_path) == []
    assert second.journal_query(JournalQuery()) == []
    after = [second.journal_append(entry(3), 100), first.journal_append(entry(4), 100)]
    assert min(after) > max(before)  # ids keep growing
    assert [item["id"] for item in first.journal_query(JournalQuery())] == after


def test_a_restart_keeps_the_entries_and_their_ids_go_on(tmp_path: Path) -> None:
    journal = SegmentJournal(tmp_path)
    written = [journal.journal_append(entry(number), 100) for number in range(3)]
    journal.close()
    again = SegmentJournal(tmp_path)
    assert [item["id"] for item in again.journal_query(JournalQuery())] == written
    assert again.journal_append(entry(3), 100) == written[-1] + 1


def test_a_line_being_written_is_not_read_until_whole(tmp_path: Path) -> None:
    journal = SegmentJournal(tmp_path)
    journal.journal_append(entry(1), 100)
    [segment] = segments(tmp_path)
    with open(segment, "ab") as file:
        file.write(b'{"time":"t","epoch":2.0')
    assert len(journal.journal_query(JournalQuery())) == 1
    with open(segment, "ab") as file:
        file.write(b',"id":99}\n')
    assert [item["id"] for item in journal.journal_query(JournalQuery())] == [1, 99]


def test_the_journal_of_an_older_version_is_carried_over(tmp_path: Path) -> None:
    older = tmp_path / "broker.journal.db"
    db = sqlite3.connect(older)
    db.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, epoch REAL NOT NULL, "
        "method TEXT, operation TEXT, instance_id TEXT, binding_id TEXT, status INTEGER, "
        "data TEXT NOT NULL, response_digest TEXT, size INTEGER)"
    )
    db.execute("CREATE TABLE journal_responses (digest TEXT PRIMARY KEY, data TEXT NOT NULL)")
    db.execute("INSERT INTO journal_responses VALUES ('d', ?)", (json.dumps({"services": []}),))
    for entry_id, digest in ((7, "d"), (8, None)):
        db.execute(
            "INSERT INTO journal (id, epoch, data, response_digest) VALUES (?, ?, ?, ?)",
            (entry_id, float(entry_id), json.dumps(entry(entry_id)), digest),
        )
    db.commit()
    db.close()
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    assert not older.exists()
    assert store.journal_append(entry(9), limit=100) == 9
    found = store.journal_query(JournalQuery())
    assert [(item["id"], item["response"]) for item in found] == [
        (7, {"services": []}),
        (8, None),
        (9, None),
    ]


def test_a_repeated_response_is_written_once_a_segment(tmp_path: Path) -> None:
    journal = SegmentJournal(tmp_path)
    catalog = {"services": [{"id": "a", "description": "d" * 2000}]}
    for number in range(20):
        journal.journal_append(entry(number, catalog), limit=1000)
    [segment] = segments(tmp_path)
    assert segment.read_bytes().count(b"d" * 2000) == 2  # the first entry's, then shared
    found = journal.journal_query(JournalQuery())
    assert [item["response"] for item in found] == [catalog] * 20
    assert all("response_shared" not in item for item in found)
