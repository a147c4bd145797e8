"""The SQLite journal keeps a repeated response (the catalog) once and gives it back
in place; old journal files keep working."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from broker.app import create_app
from broker.config import Settings
from broker.storage import sqlite_journal
from broker.storage.base import JournalQuery
from broker.storage.sqlite import SQLiteStore
from broker.web.runtime import runtime_of
from tests.support.osb import basic

HEADERS = {"Authorization": basic(), "X-Broker-API-Version": "2.17"}


def entry(number: int, response: Any) -> dict[str, Any]:
    return {
        "time": "t",
        "epoch": float(number),
        "method": "GET",
        "path": "/v2/catalog",
        "operation": "catalog",
        "status": 200,
        "response": response,
        "duration_ms": 1.0,
    }


def shared_rows(store: SQLiteStore) -> int:
    db = sqlite3.connect(store.journal_path)
    return int(db.execute("SELECT COUNT(*) FROM journal_responses").fetchone()[0])


def test_a_response_object_recorded_again_is_stored_once_and_read_back_in_place(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    catalog = {"services": [{"id": "a", "plans": [{"id": "p"}]}]}
    for number in range(3):
        store.journal_append(entry(number, catalog), limit=100)
    store.journal_append(entry(3, {"services": []}), limit=100)
    assert shared_rows(store) == 1
    found = store.journal_query(JournalQuery())
    assert [item["response"] for item in found] == [catalog, catalog, catalog, {"services": []}]
    assert list(found[0]) == [*entry(0, catalog), "id"]  # same keys, same order


def test_clearing_the_journal_drops_shared_responses(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    catalog = {"services": []}
    for number in range(2):
        store.journal_append(entry(number, catalog), limit=100)
    store.journal_clear()
    assert shared_rows(store) == 0
    assert store.journal_query(JournalQuery()) == []


def test_shared_responses_no_entry_refers_to_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_journal, "SWEEP_EVERY", 4)
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    old, new = {"services": ["old"]}, {"services": ["new"]}
    for number in range(2):
        store.journal_append(entry(number, old), limit=2)
    for number in range(2, 4):
        store.journal_append(entry(number, new), limit=2)
    assert shared_rows(store) == 1
    assert [item["response"] for item in store.journal_query(JournalQuery())] == [new, new]


def test_a_journal_written_before_shared_responses_is_still_read(tmp_path: Path) -> None:
    journal = tmp_path / "broker.journal.db"
    db = sqlite3.connect(journal)
    db.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, epoch REAL NOT NULL, "
        "method TEXT, operation TEXT, instance_id TEXT, binding_id TEXT, status INTEGER, "
        "data TEXT NOT NULL)"
    )
    old = entry(0, {"services": []})
    db.execute(
        "INSERT INTO journal (epoch, method, operation, status, data) VALUES (?, ?, ?, ?, ?)",
        (0.0, "GET", "catalog", 200, json.dumps(old)),
    )
    db.commit()
    db.close()
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    store.journal_append(entry(1, {"services": ["x"]}), limit=100)
    found = store.journal_query(JournalQuery())
    assert [item["response"] for item in found] == [{"services": []}, {"services": ["x"]}]


def test_every_catalog_request_is_journaled_with_the_whole_catalog(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", log_format="json"))
    client = app.test_client()
    answers = [client.get("/v2/catalog", headers=HEADERS) for _ in range(3)]
    assert {answer.status_code for answer in answers} == {200}
    store = runtime_of(app).store
    found = store.journal_query(JournalQuery(operation="catalog"))
    assert len(found) == 3
    assert all(item["response"] == answers[0].get_json() for item in found)
    assert shared_rows(store) == 1  # type: ignore[arg-type]
