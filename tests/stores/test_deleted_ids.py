"""Deleted ids (broker/storage/deleted_ids.py), the same on every store.

Memory, SQLite and PostgreSQL (a fresh schema per test); for the stores several
processes share, a second store object on the same URL stands for another worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.storage import Store, open_store
from broker.storage.base import Delete, Put
from broker.storage.deleted_ids import TRIM_EVERY, end_expected_delete, expect_delete
from tests.support.records import instance
from tests.support.store_urls import ALL_STORES, store_url_for


@pytest.fixture(params=ALL_STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    end_expected_delete()
    opened.close()


def remember(store: Store, kind: str, resource_id: str, keep: int) -> None:
    store.settle_deleted(store.remember_deleted(kind, resource_id), keep, stands=True)


def deleted_in_a_request(store: Store, instance_id: str, keep: int, stands: bool) -> None:
    """What a DELETE does: announce, apply the delete, settle once answered."""
    store.apply([Put(instance(instance_id))])
    expected = expect_delete("instance", instance_id)
    store.apply([Delete("instance", instance_id)])
    assert end_expected_delete() is expected
    assert expected.remembered is not None
    store.settle_deleted(expected.remembered, keep, stands=stands)


def test_a_deleted_id_is_taken_once(store: Store) -> None:
    assert store.take_deleted("instance", "i-1", 10) is False
    remember(store, "instance", "i-1", 10)
    assert store.take_deleted("binding", "i-1", 10) is False  # kinds are apart
    assert store.take_deleted("instance", "i-1", 10) is True
    assert store.take_deleted("instance", "i-1", 10) is False


@pytest.mark.parametrize("kind", ["instance", "binding"])
@pytest.mark.parametrize("keep", [5, TRIM_EVERY + 3])
def test_only_the_newest_deleted_ids_are_remembered(store: Store, kind: str, keep: int) -> None:
    forgotten = 3
    ids = [f"{kind}-{number}" for number in range(keep + forgotten)]
    for deleted in ids:
        remember(store, kind, deleted, keep)
    assert [store.take_deleted(kind, old, keep) for old in ids[:forgotten]] == [False] * 3
    assert all(store.take_deleted(kind, recent, keep) for recent in ids[forgotten:])


def test_deleting_an_id_again_makes_it_the_newest(store: Store) -> None:
    for deleted in ("a", "b", "c", "a", "d"):
        remember(store, "binding", deleted, 3)
    assert store.take_deleted("binding", "b", 3) is False
    assert [store.take_deleted("binding", kept, 3) for kept in ("c", "a", "d")] == [True] * 3


def test_the_memory_of_deleted_ids_stays_bounded(store: Store) -> None:
    for number in range(4 * TRIM_EVERY):
        remember(store, "instance", f"i-{number}", 10)
    assert remembered_rows(store, "instance") < 10 + TRIM_EVERY


def remembered_rows(store: Store, kind: str) -> int:
    """How many deleted ids of ``kind`` the store holds, however it holds them."""
    from broker.storage.memory import MemoryStore
    from broker.storage.postgres import PostgresStore
    from broker.storage.sql.deleted_ids import TABLES
    from broker.storage.sqlite import SQLiteStore

    if isinstance(store, MemoryStore):
        return len(store._deleted._ids[kind])
    sql = f"SELECT count(*) FROM {TABLES[kind]}"  # noqa: S608
    assert isinstance(store, SQLiteStore | PostgresStore)
    row = store._state._database.row(sql)
    assert row is not None
    return int(row[0])


def test_the_delete_a_request_announced_is_remembered_with_it(store: Store) -> None:
    deleted_in_a_request(store, "i-1", 10, stands=True)
    assert store.get_instance("i-1") is None
    assert store.take_deleted("instance", "i-1", 10) is True


def test_only_the_announced_delete_is_remembered(store: Store) -> None:
    store.apply([Put(instance("i-1")), Put(instance("i-2"))])
    expect_delete("instance", "i-1")
    store.apply([Delete("instance", "i-2")])
    assert end_expected_delete() is not None
    store.apply([Delete("instance", "i-1")])  # no longer announced
    assert store.take_deleted("instance", "i-1", 10) is False
    assert store.take_deleted("instance", "i-2", 10) is False


def test_a_delete_taken_back_is_not_remembered(store: Store) -> None:
    deleted_in_a_request(store, "i-1", 10, stands=False)
    assert store.take_deleted("instance", "i-1", 10) is False


def test_a_delete_taken_back_leaves_an_earlier_one_where_it_was(store: Store) -> None:
    remember(store, "instance", "old", 3)
    remember(store, "instance", "i-1", 3)
    remember(store, "instance", "new", 3)
    deleted_in_a_request(store, "old", 3, stands=False)
    remember(store, "instance", "newest", 3)
    # "old" is the oldest again, and one more delete pushed it out of the bound (a
    # PostgreSQL sequence does not give back the number taken back: the bound keeps at
    # most 3 ids, so "i-1" may be out of it too).
    assert store.take_deleted("instance", "old", 3) is False
    assert [store.take_deleted("instance", i, 3) for i in ("new", "newest")] == [True] * 2


def test_a_delete_that_fails_remembers_nothing(store: Store) -> None:
    store.apply([Put(instance("i-1"))])
    expected = expect_delete("instance", "i-1")
    unstorable = instance("i-2", parameters={"not json": object()})
    with pytest.raises(TypeError):
        store.apply([Delete("instance", "i-1"), Put(unstorable)])
    assert expected.remembered is None
    end_expected_delete()
    assert store.get_instance("i-1") is not None
    assert store.take_deleted("instance", "i-1", 10) is False


def test_clear_and_reset_forget_deleted_ids(store: Store) -> None:
    remember(store, "instance", "i-1", 10)
    store.clear_deleted()
    assert store.take_deleted("instance", "i-1", 10) is False
    remember(store, "binding", "b-1", 10)
    store.reset()
    assert store.take_deleted("binding", "b-1", 10) is False


@pytest.mark.parametrize("store_url", ALL_STORES[1:], indirect=True)
def test_another_process_on_the_same_store_sees_the_same_deleted_ids(
    store_url: str, store: Store
) -> None:
    other = open_store(store_url)
    try:
        for number in range(7):
            remember(other, "instance", f"i-{number}", 5)
        assert store.take_deleted("instance", "i-1", 5) is False
        assert store.take_deleted("instance", "i-2", 5) is True
        assert other.take_deleted("instance", "i-2", 5) is False
    finally:
        other.close()
