"""The findings store contract (broker/platform_checks/findings_store.py), the same on every store.

Memory, SQLite and PostgreSQL (a fresh schema per test); for the stores several
processes share, a second store object on the same URL stands for another worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.platform_checks.findings_store import (
    MAX_REQUEST_IDS,
    FindingsQuery,
    FindingsStore,
    NewFinding,
)
from broker.platform_checks.stores import findings_store_for
from broker.storage import Store, open_store
from tests.support.store_urls import ALL_STORES, store_url_for


@pytest.fixture(params=ALL_STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def state(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def findings(state: Store) -> FindingsStore:
    return findings_store_for(state)


def sighting(
    rule: str = "context-platform",
    instance_id: str | None = "i-1",
    request_id: int = 1,
    time: float = 1000.0,
    level: str = "MUST",
) -> NewFinding:
    return NewFinding(
        rule=rule,
        level=level,
        summary=f"{rule} seen",
        spec={"quote": "q", "section": "s", "url": "u", "since": "2.13", "document": "spec.md"},
        instance_id=instance_id,
        binding_id=None,
        request_ids=(request_id,),
        time=time,
    )


def test_the_findings_store_of_a_state_store_is_one_object(state: Store) -> None:
    assert findings_store_for(state) is findings_store_for(state)


def test_sightings_of_one_rule_and_resource_are_one_finding(findings: FindingsStore) -> None:
    assert findings.record(sighting(request_id=1, time=1000.0)) is True
    assert findings.record(sighting(request_id=2, time=1005.0)) is False
    (found,) = findings.findings(FindingsQuery())
    assert found["count"] == 2
    assert found["request_ids"] == [1, 2]
    assert (found["first_seen_epoch"], found["last_seen_epoch"]) == (1000.0, 1005.0)


def test_other_rules_and_resources_are_other_findings_oldest_first(
    findings: FindingsStore,
) -> None:
    findings.record(sighting("id-reuse", "i-2", time=1002.0, level="SHOULD NOT"))
    findings.record(sighting("context-platform", "i-1", time=1001.0))
    findings.record(sighting("version-header", None, time=1003.0))
    found = findings.findings(FindingsQuery())
    assert [(f["rule"], f["instance_id"]) for f in found] == [
        ("context-platform", "i-1"),
        ("id-reuse", "i-2"),
        ("version-header", None),
    ]
    assert [f["rule"] for f in findings.findings(FindingsQuery(instance_id="i-2"))] == ["id-reuse"]
    assert [f["rule"] for f in findings.findings(FindingsQuery(levels=("MUST",)))] == [
        "context-platform",
        "version-header",
    ]
    assert findings.findings(FindingsQuery(rules=("id-reuse",), since=1002.5)) == []


def test_a_finding_keeps_the_newest_request_ids(findings: FindingsStore) -> None:
    for number in range(MAX_REQUEST_IDS + 10):
        findings.record(sighting(request_id=number))
    (found,) = findings.findings(FindingsQuery())
    assert found["count"] == MAX_REQUEST_IDS + 10
    assert found["request_ids"] == list(range(10, MAX_REQUEST_IDS + 10))


def test_watches_are_set_read_replaced_and_taken_once(findings: FindingsStore) -> None:
    assert findings.watch_get("poll:i-1") is None
    findings.watch_put("poll:i-1", {"operation": "a"})
    findings.watch_put("poll:i-1", {"operation": "b"})
    assert findings.watch_get("poll:i-1") == {"operation": "b"}
    assert findings.watch_take("poll:i-1") == {"operation": "b"}
    assert findings.watch_take("poll:i-1") is None


def test_due_watches_are_taken_once_when_their_time_came(findings: FindingsStore) -> None:
    findings.watch_put("orphan:a", {"n": 1}, due=100.0)
    findings.watch_put("orphan:b", {"n": 2}, due=200.0)
    findings.watch_put("gone:i:c", {"n": 3})
    assert findings.take_due(50.0) == []
    assert findings.take_due(150.0) == [("orphan:a", {"n": 1})]
    assert findings.take_due(150.0) == []
    findings.watch_put("orphan:b", {"n": 2})  # no longer due
    assert findings.take_due(1000.0) == []
    assert findings.watch_get("gone:i:c") == {"n": 3}


def test_clear_forgets_findings_and_watches(findings: FindingsStore) -> None:
    findings.record(sighting())
    findings.watch_put("orphan:a", {"n": 1}, due=1.0)
    findings.clear()
    assert findings.findings(FindingsQuery()) == []
    assert findings.take_due(10.0) == []


def test_concurrent_sightings_are_all_counted(findings: FindingsStore) -> None:
    def record(start: int) -> None:
        for number in range(start, start + 20):
            findings.record(sighting(request_id=number))

    threads = [threading.Thread(target=record, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (found,) = findings.findings(FindingsQuery())
    assert found["count"] == 80


@pytest.mark.parametrize("store_url", ALL_STORES[1:], indirect=True)
def test_another_process_on_the_same_store_sees_the_same_findings(
    store_url: str, findings: FindingsStore
) -> None:
    other_state = open_store(store_url)
    try:
        other = findings_store_for(other_state)
        other.record(sighting(request_id=7))
        findings.record(sighting(request_id=8))
        other.watch_put("orphan:x", {"n": 1}, due=1.0)
        (found,) = findings.findings(FindingsQuery())
        assert found["request_ids"] == [7, 8]
        assert findings.take_due(2.0) == [("orphan:x", {"n": 1})]
        assert other.take_due(2.0) == []
    finally:
        other_state.close()


def test_the_sqlite_findings_file_is_private_and_beside_the_state(tmp_path: Path) -> None:
    state = open_store(f"sqlite:///{tmp_path / 'state' / 'broker.db'}")
    try:
        findings_store_for(state).record(sighting())
        path = tmp_path / "state" / "broker.findings.db"
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        state.close()
