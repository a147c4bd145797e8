"""The Store contract (broker/storage/base.py), checked the same way on every store.

Each test runs on the memory store, on SQLite and on PostgreSQL (a fresh schema per
test, dropped afterwards). Locks and counters are also checked across processes for
the stores that several processes share.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.journal.retention import CHECK_EVERY
from broker.storage import Store, open_store
from broker.storage.base import Delete, JournalQuery, Put
from tests.support import store_workers
from tests.support.records import binding, instance, operation
from tests.support.store_urls import ALL_STORES, SHARED_STORES, store_url_for

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def all_stores(test: Any) -> Any:
    return pytest.mark.parametrize("store_url", ALL_STORES, indirect=True)(test)


def shared_stores(test: Any) -> Any:
    return pytest.mark.parametrize("store_url", SHARED_STORES, indirect=True)(test)


# --- records ---------------------------------------------------------------------------
def entry(**fields: Any) -> dict[str, Any]:
    return {
        "epoch": time.time(),
        "method": "PUT",
        "path": "/v2/x",
        "operation": "provision",
        "instance_id": "inst-1",
        "binding_id": None,
        "status": 201,
        **fields,
    }


def in_thread(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


# --- OSB state -------------------------------------------------------------------------
@all_stores
def test_a_stored_instance_reads_back_equal_with_every_field(store: Store) -> None:
    record = instance(
        created_at=1712345678.123456,
        organization_guid="org",
        space_guid="space",
        context={"platform": "kubernetes", "namespace": "ns"},
        parameters={"size": 3, "tags": ["a", "b"]},
        maintenance_info={"version": "1.0.0"},
        dashboard_url="http://x/dash",
        metadata={"labels": {"a": "b"}},
        originating_identity={"platform": "kubernetes", "value": {"uid": "1"}},
        backend_state={"database": "db1", "ratio": 0.1},
        operation="op-1",
    )
    store.apply([Put(record)])
    assert store.get_instance("inst-1") == record
    assert store.get_instance("missing") is None


@all_stores
def test_bindings_and_operations_read_back_equal(store: Store) -> None:
    bound = binding(
        response={"credentials": {"uri": "x://y", "key.json": "{}"}},
        expires_at=2000.5,
        bind_resource={"app_guid": "app"},
        app_guid="app",
    )
    running = operation("op-1", payload={"plan_id": "p2"}, finish_kind="seconds", finish_amount=1.5)
    store.apply([Put(instance()), Put(bound), Put(running)])
    assert store.get_binding("bind-1") == bound
    assert store.get_operation("op-1") == running
    assert store.get_binding("missing") is None
    assert store.get_operation("missing") is None


@all_stores
def test_a_put_replaces_the_stored_record_and_a_delete_removes_it(store: Store) -> None:
    store.apply([Put(instance()), Put(binding()), Put(operation("op-1"))])
    store.apply(
        [
            Put(instance(state="updating", plan_id="plan-2")),
            Put(operation("op-1", state="succeeded")),
        ]
    )
    assert store.get_instance("inst-1").state == "updating"  # type: ignore[union-attr]
    assert store.get_operation("op-1").state == "succeeded"  # type: ignore[union-attr]
    assert store.counts().instances == {("svc-1", "plan-2"): 1}

    store.apply(
        [
            Delete("binding", "bind-1"),
            Delete("instance", "inst-1"),
            Delete("operation", "op-1"),
            Delete("instance", "never-existed"),
        ]
    )
    assert store.get_instance("inst-1") is None
    assert store.get_binding("bind-1") is None
    assert store.get_operation("op-1") is None


@all_stores
def test_apply_writes_every_change_or_none(store: Store) -> None:
    store.apply([Put(instance())])
    unstorable = binding(parameters={"not json": object()})
    with pytest.raises(TypeError):
        store.apply([Put(instance(state="updating")), Put(operation("op-1")), Put(unstorable)])
    assert store.get_instance("inst-1").state == "ready"  # type: ignore[union-attr]
    assert store.get_operation("op-1") is None
    assert store.get_binding("bind-1") is None
    assert store.list_operations() == []


@all_stores
def test_a_stored_record_is_a_copy_the_caller_cannot_change(store: Store) -> None:
    record = instance(parameters={"size": 1})
    store.apply([Put(record)])
    record.parameters["size"] = 2
    assert store.get_instance("inst-1").parameters == {"size": 1}  # type: ignore[union-attr]


@all_stores
def test_latest_operation_is_the_newest_per_instance_and_per_binding(store: Store) -> None:
    store.apply([Put(operation("provision-1", type="provision", state="succeeded"))])
    store.apply([Put(operation("bind-1-op", binding_id="bind-1", type="bind"))])
    store.apply([Put(operation("update-1", type="update"))])
    store.apply([Put(operation("bind-2-op", binding_id="bind-2", type="bind"))])
    store.apply([Put(operation("other", instance_id="inst-2"))])
    # Changing an older operation does not make it the newest.
    store.apply([Put(operation("provision-1", type="provision", state="failed"))])

    assert store.latest_operation("inst-1").id == "update-1"  # type: ignore[union-attr]
    assert store.latest_operation("inst-1", "bind-1").id == "bind-1-op"  # type: ignore[union-attr]
    assert store.latest_operation("inst-1", "bind-2").id == "bind-2-op"  # type: ignore[union-attr]
    assert store.latest_operation("inst-2").id == "other"  # type: ignore[union-attr]
    assert store.latest_operation("inst-1", "bind-3") is None
    assert store.latest_operation("inst-3") is None


@all_stores
def test_bindings_of_lists_one_instances_bindings_by_id(store: Store) -> None:
    store.apply(
        [Put(binding("b-2")), Put(binding("b-1")), Put(binding("b-3", instance_id="inst-2"))]
    )
    assert [found.id for found in store.bindings_of("inst-1")] == ["b-1", "b-2"]
    assert [found.id for found in store.bindings_of("inst-2")] == ["b-3"]
    assert store.bindings_of("inst-3") == []
    store.apply([Delete("binding", "b-1")])
    assert [found.id for found in store.bindings_of("inst-1")] == ["b-2"]


@all_stores
def test_lists_are_ordered_by_creation_and_operations_by_insertion(store: Store) -> None:
    store.apply(
        [
            Put(instance("late", created_at=30.0)),
            Put(instance("early", created_at=10.0)),
            Put(binding("b-late", created_at=20.0)),
            Put(binding("b-early", created_at=5.0)),
        ]
    )
    for number in range(5):
        store.apply([Put(operation(f"op-{number}"))])
    store.apply([Put(operation("op-1", state="succeeded"))])

    assert [found.id for found in store.list_instances()] == ["early", "late"]
    assert [found.id for found in store.list_bindings()] == ["b-early", "b-late"]
    assert [found.id for found in store.list_operations()] == [f"op-{n}" for n in range(5)]
    assert [found.id for found in store.list_operations(limit=2)] == ["op-3", "op-4"]


@all_stores
def test_instances_and_bindings_page_by_creation_in_either_direction(store: Store) -> None:
    # Two share a creation time: the id breaks the tie, so no page skips or repeats one.
    created = {"i-a": 10.0, "i-b": 20.0, "i-c": 20.0, "i-d": 30.0, "i-e": 40.0}
    store.apply([Put(instance(name, created_at=at)) for name, at in created.items()])
    store.apply([Put(binding(f"b-{name}", name, created_at=at)) for name, at in created.items()])

    def pages(lister: Any, newest_first: bool) -> list[list[str]]:
        found, after = [], None
        while True:
            page = lister(2, after, newest_first=newest_first)
            if not page:
                return found
            found.append([record.id for record in page])
            after = (page[-1].created_at, page[-1].id)

    assert pages(store.list_instances, False) == [["i-a", "i-b"], ["i-c", "i-d"], ["i-e"]]
    assert pages(store.list_instances, True) == [["i-e", "i-d"], ["i-c", "i-b"], ["i-a"]]
    assert pages(store.list_bindings, False) == [["b-i-a", "b-i-b"], ["b-i-c", "b-i-d"], ["b-i-e"]]
    assert [record.id for record in store.list_instances()] == list(created)


@all_stores
def test_operations_filter_by_state_and_instance_and_page_back_from_an_operation(
    store: Store,
) -> None:
    for number in range(6):
        state = "in progress" if number % 2 else ("failed" if number == 4 else "succeeded")
        owner = "inst-1" if number < 3 else "inst-2"
        store.apply([Put(operation(f"op-{number}", owner, state=state))])

    def ids(**filters: Any) -> list[str]:
        return [found.id for found in store.list_operations(**filters)]

    assert ids(state="in progress") == ["op-1", "op-3", "op-5"]
    assert ids(state="finished") == ["op-0", "op-2", "op-4"]
    assert ids(state="failed") == ["op-4"]
    assert ids(instance_id="inst-2") == ["op-3", "op-4", "op-5"]
    assert ids(limit=2, before="op-4") == ["op-2", "op-3"]
    assert ids(limit=2, before="op-2", state="finished") == ["op-0"]
    assert ids(before="op-0") == []


@all_stores
def test_pruning_forgets_old_finished_operations_but_the_newest_of_what_still_exists(
    store: Store,
) -> None:
    def done(operation_id: str, owner: str, at: float, **fields: Any) -> Put:
        return Put(operation(operation_id, owner, state="succeeded", finished_at=at, **fields))

    store.apply([Put(instance("alive")), Put(binding("b-alive", "alive"))])
    store.apply(
        [
            done("alive-provision", "alive", 100.0),
            done("alive-update", "alive", 200.0),  # the newest of a live instance: kept
            done("b-alive-bind", "alive", 100.0, binding_id="b-alive"),  # the same, binding
            done("gone-provision", "gone", 100.0),
            done("gone-deprovision", "gone", 200.0),  # newest, but its instance is gone
            done("b-gone-bind", "alive", 100.0, binding_id="b-gone"),
            done("recent", "gone-2", 900.0),  # within the retention
            Put(operation("running", "gone-3")),  # never pruned while in progress
        ]
    )
    assert store.prune_operations(finished_before=500.0) == 4
    remaining = {found.id for found in store.list_operations()}
    assert remaining == {"alive-update", "b-alive-bind", "recent", "running"}
    assert store.latest_operation("alive").id == "alive-update"  # type: ignore[union-attr]
    assert store.latest_operation("gone") is None
    assert store.prune_operations(finished_before=500.0) == 0


@all_stores
def test_the_journal_keeps_within_its_byte_budget_dropping_the_oldest(store: Store) -> None:
    padding = "x" * 4000
    ids = [store.journal_append(entry(body=padding), 10_000, 256 * 1024) for _ in range(400)]
    kept = [item["id"] for item in store.journal_query(JournalQuery(limit=100_000))]
    # About 4 KB an entry: 256 KiB holds about 60. The budget is checked every
    # CHECK_EVERY entries, and trimming leaves 90 % of it.
    assert 40 <= len(kept) <= 256 * 1024 // 4000 + CHECK_EVERY, len(kept)
    assert kept == ids[-len(kept) :]


@all_stores
def test_journal_queries_stop_before_an_id(store: Store) -> None:
    ids = [store.journal_append(entry(), 100) for _ in range(5)]
    newest_before = store.journal_query(JournalQuery(before_id=ids[3], limit=2))
    assert [item["id"] for item in newest_before] == ids[1:3]
    window = store.journal_query(JournalQuery(since_id=ids[0], before_id=ids[4]))
    assert [item["id"] for item in window] == ids[1:4]


@all_stores
def test_counts_group_by_service_and_plan_and_running_operation_type(store: Store) -> None:
    store.apply(
        [
            Put(instance("a")),
            Put(instance("b")),
            Put(instance("c", plan_id="plan-2")),
            Put(binding("x", instance_id="a")),
            Put(binding("y", instance_id="c", plan_id="plan-2")),
            Put(operation("o1", type="provision")),
            Put(operation("o2", type="provision")),
            Put(operation("o3", type="bind", binding_id="x")),
            Put(operation("o4", type="update", state="succeeded")),
        ]
    )
    counts = store.counts()
    assert counts.instances == {("svc-1", "plan-1"): 2, ("svc-1", "plan-2"): 1}
    assert counts.bindings == {("svc-1", "plan-1"): 1, ("svc-1", "plan-2"): 1}
    assert counts.operations_in_progress == {"provision": 2, "bind": 1}


@all_stores
def test_reset_forgets_state_rules_and_catalogs_and_bumps_the_generation(store: Store) -> None:
    store.apply([Put(instance()), Put(binding()), Put(operation("op-1"))])
    store.fault_add({"match": {"operation": "bind"}})
    store.catalog_set([{"services": []}])
    store.journal_append(entry(), 100)
    before = store.generation()

    store.reset()

    assert store.generation() != before
    assert (store.list_instances(), store.list_bindings(), store.list_operations()) == ([], [], [])
    assert store.get_operation("op-1") is None
    assert store.fault_list() == []
    assert store.catalog_documents() == []
    assert store.journal_query(JournalQuery()) == []
    assert store.counts().instances == {}


@all_stores
def test_reset_can_keep_the_journal(store: Store) -> None:
    first = store.journal_append(entry(), 100)
    store.apply([Put(instance())])
    store.reset(keep_journal=True)
    assert [found["id"] for found in store.journal_query(JournalQuery())] == [first]
    assert store.get_instance("inst-1") is None


# --- journal ---------------------------------------------------------------------------
@all_stores
def test_journal_entries_get_increasing_ids_and_read_back_oldest_first(store: Store) -> None:
    ids = [store.journal_append(entry(path=f"/v2/{n}", headers={"A": "b"}), 100) for n in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    found = store.journal_query(JournalQuery())
    assert [item["id"] for item in found] == ids
    assert [item["path"] for item in found] == ["/v2/0", "/v2/1", "/v2/2"]
    assert found[0]["headers"] == {"A": "b"}


@all_stores
def test_the_journal_keeps_only_the_newest_entries_up_to_the_limit(store: Store) -> None:
    ids = [store.journal_append(entry(), 3) for _ in range(7)]
    assert [item["id"] for item in store.journal_query(JournalQuery())] == ids[-3:]


@all_stores
def test_journal_filters_match_exactly(store: Store) -> None:
    provision = store.journal_append(entry(), 100)
    bind = store.journal_append(entry(operation="bind", binding_id="b-1", status=201), 100)
    failed = store.journal_append(entry(operation="bind", binding_id="b-2", status=500), 100)
    other = store.journal_append(
        entry(method="GET", operation="catalog", instance_id=None, status=200), 100
    )

    def ids(**filters: Any) -> list[int]:
        return [item["id"] for item in store.journal_query(JournalQuery(**filters))]

    assert ids(operation="bind") == [bind, failed]
    assert ids(instance_id="inst-1") == [provision, bind, failed]
    assert ids(binding_id="b-2") == [failed]
    assert ids(method="GET") == [other]
    assert ids(status=500) == [failed]
    assert ids(operation="bind", status=201) == [bind]
    assert ids(operation="unbind") == []


@all_stores
def test_journal_since_and_limit(store: Store) -> None:
    ids = [store.journal_append(entry(epoch=1000.0 + n), 100) for n in range(6)]

    def found(**filters: Any) -> list[int]:
        return [item["id"] for item in store.journal_query(JournalQuery(**filters))]

    # since_id is exclusive and reads forward from there; limit keeps the oldest.
    assert found(since_id=ids[2]) == ids[3:]
    assert found(since_id=ids[2], limit=2) == ids[3:5]
    assert found(since_id=ids[-1]) == []
    # since_time is inclusive.
    assert found(since_time=1003.0) == ids[3:]
    assert found(since_time=1002.5, limit=1) == [ids[3]]
    # Without since, limit keeps the newest, still oldest first.
    assert found(limit=2) == ids[-2:]
    assert found(limit=0) == []


@all_stores
def test_journal_ids_are_never_reused_after_a_clear(store: Store) -> None:
    first = store.journal_append(entry(), 100)
    store.journal_clear()
    assert store.journal_query(JournalQuery()) == []
    second = store.journal_append(entry(), 100)
    assert second > first
    assert store.journal_query(JournalQuery(since_id=first))[0]["id"] == second


@all_stores
def test_a_reader_following_since_id_never_skips_entries_of_concurrent_writers(
    store: Store,
) -> None:
    written: list[int] = []
    mutex = threading.Lock()
    writers_done = threading.Event()

    def write() -> None:
        for _ in range(50):
            entry_id = store.journal_append(entry(), 10_000)
            with mutex:
                written.append(entry_id)

    seen: list[int] = []

    def follow() -> None:
        last = 0
        while True:
            finished = writers_done.is_set()
            for item in store.journal_query(JournalQuery(since_id=last)):
                seen.append(item["id"])
                last = item["id"]
            if finished:
                return

    follower = in_thread(follow)
    writers = [in_thread(write) for _ in range(6)]
    for writer in writers:
        writer.join(60)
    writers_done.set()
    follower.join(60)
    assert seen == sorted(written)


# --- fault rules -----------------------------------------------------------------------
@all_stores
def test_fault_rules_get_ids_and_list_in_creation_order_with_counters(store: Store) -> None:
    first = store.fault_add({"match": {"operation": "bind"}, "action": {"status": 500}})
    second = store.fault_add({"id": "chosen-id", "match": {}, "calls": 9, "fired": 9})
    assert first and second == "chosen-id"
    rules = store.fault_list()
    assert [rule["id"] for rule in rules] == [first, "chosen-id"]
    assert rules[0]["match"] == {"operation": "bind"} and rules[0]["action"] == {"status": 500}
    assert [(rule["calls"], rule["fired"]) for rule in rules] == [(0, 0), (0, 0)]


@all_stores
def test_fault_counters_count_calls_and_firings(store: Store) -> None:
    rule_id = store.fault_add({"match": {}})
    assert [store.fault_hit(rule_id) for _ in range(3)] == [1, 2, 3]
    store.fault_fired(rule_id)
    assert store.fault_hit("no-such-rule") == 0
    store.fault_fired("no-such-rule")
    (rule,) = store.fault_list()
    assert (rule["calls"], rule["fired"]) == (3, 1)


@all_stores
def test_fault_hit_is_atomic_across_threads(store: Store) -> None:
    rule_id = store.fault_add({"match": {}})
    seen: list[int] = []
    mutex = threading.Lock()

    def hit() -> None:
        mine = [store.fault_hit(rule_id) for _ in range(25)]
        with mutex:
            seen.extend(mine)

    threads = [in_thread(hit) for _ in range(6)]
    for thread in threads:
        thread.join(60)
    assert sorted(seen) == list(range(1, 151))


@all_stores
def test_deleting_fault_rules(store: Store) -> None:
    kept = store.fault_add({"match": {}})
    gone = store.fault_add({"match": {}})
    assert store.fault_delete(gone) is True
    assert store.fault_delete(gone) is False
    assert [rule["id"] for rule in store.fault_list()] == [kept]
    store.fault_delete_all()
    assert store.fault_list() == []


@all_stores
def test_deleting_the_fault_rules_of_one_origin_keeps_the_others(store: Store) -> None:
    store.fault_seed([{"id": "catalog-a", "origin": "catalog", "match": {}}], marker="v1")
    added = store.fault_add({"origin": "admin", "match": {}})
    unlabelled = store.fault_add({"match": {}})  # a rule without an origin counts as admin
    assert store.fault_delete_all(origin="admin") == 2
    assert [rule["id"] for rule in store.fault_list()] == ["catalog-a"]
    again = store.fault_add({"origin": "admin", "match": {}})
    assert store.fault_delete_all(origin="catalog") == 1
    assert [rule["id"] for rule in store.fault_list()] == [again]
    assert store.fault_delete_all() == 1
    assert store.fault_list() == []
    assert added != unlabelled


@all_stores
def test_fault_seed_installs_catalog_rules_once_per_marker(store: Store) -> None:
    admin_rule = store.fault_add({"match": {"operation": "bind"}})
    rule_a = {"id": "catalog-a", "origin": "catalog", "match": {"plan": "p"}}
    rule_b = {"id": "catalog-b", "origin": "catalog", "match": {"plan": "q"}}

    store.fault_seed([rule_a, rule_b], marker="v1")
    store.fault_hit("catalog-a")
    assert [rule["id"] for rule in store.fault_list()] == [admin_rule, "catalog-a", "catalog-b"]

    # The same marker again changes nothing: a deleted rule stays deleted.
    store.fault_delete("catalog-b")
    store.fault_seed([rule_a, rule_b], marker="v1")
    assert [rule["id"] for rule in store.fault_list()] == [admin_rule, "catalog-a"]

    # A new marker removes catalog rules that are gone, adds new ones, keeps counters.
    rule_c = {"id": "catalog-c", "origin": "catalog", "match": {}}
    store.fault_seed([rule_a, rule_c], marker="v2")
    rules = {rule["id"]: rule for rule in store.fault_list()}
    assert set(rules) == {admin_rule, "catalog-a", "catalog-c"}
    assert rules["catalog-a"]["calls"] == 1 and rules["catalog-c"]["calls"] == 0
    assert rules["catalog-c"]["origin"] == "catalog"

    # A reset forgets the markers, so the catalog rules come back.
    store.reset()
    store.fault_seed([rule_a], marker="v1")
    assert [(rule["id"], rule["calls"]) for rule in store.fault_list()] == [("catalog-a", 0)]


@all_stores
def test_fault_seed_with_no_rules_removes_the_catalog_ones(store: Store) -> None:
    store.fault_seed([{"id": "catalog-a", "origin": "catalog", "match": {}}], marker="v1")
    admin_rule = store.fault_add({"match": {}})
    store.fault_seed([], marker="v2")
    assert [rule["id"] for rule in store.fault_list()] == [admin_rule]


# --- catalogs and generation -----------------------------------------------------------
@all_stores
def test_catalog_documents_are_replaced_as_a_whole_and_keep_their_order(store: Store) -> None:
    assert store.catalog_documents() == []
    one = {"services": [{"name": "one"}]}
    two = {"services": [{"name": "two", "plans": [{"free": True}]}]}
    store.catalog_set([one, two])
    assert store.catalog_documents() == [one, two]
    store.catalog_set([two, {"services": []}])
    assert store.catalog_documents() == [two, {"services": []}]


@all_stores
def test_the_generation_changes_with_every_catalog_or_rule_change(store: Store) -> None:
    seen = [store.generation()]

    def changed() -> bool:
        seen.append(store.generation())
        return seen[-1] != seen[-2]

    store.catalog_set([{"services": []}])
    assert changed()
    rule_id = store.fault_add({"match": {}})
    assert changed()
    store.fault_delete(rule_id)
    assert changed()
    store.fault_delete_all()
    assert changed()
    store.fault_seed([], marker="m")
    assert changed()
    store.reset()
    assert changed()
    # OSB state, counters and the journal are not part of it.
    store.apply([Put(instance())])
    store.journal_append(entry(), 10)
    assert not changed()
    assert len(set(seen)) == len(seen) - 1


@shared_stores
def test_a_second_store_on_the_same_url_sees_every_change(store: Store, store_url: str) -> None:
    other = open_store(store_url)
    try:
        before = other.generation()
        store.apply([Put(instance())])
        rule_id = store.fault_add({"match": {}})
        store.fault_hit(rule_id)
        store.catalog_set([{"services": []}])
        entry_id = store.journal_append(entry(), 100)
        assert other.get_instance("inst-1") == instance()
        assert [(rule["id"], rule["calls"]) for rule in other.fault_list()] == [(rule_id, 1)]
        assert other.fault_hit(rule_id) == 2
        assert other.catalog_documents() == [{"services": []}]
        assert other.generation() != before
        assert [item["id"] for item in other.journal_query(JournalQuery())] == [entry_id]
    finally:
        other.close()


@shared_stores
def test_a_second_store_sees_every_generation_change_on_its_next_look(
    store: Store, store_url: str
) -> None:
    # Looked at between changes, as a worker does per request: whatever it remembers
    # of its last look must not hide the next change.
    other = open_store(store_url)
    try:
        seen = [other.generation(), other.generation()]

        def changed() -> bool:
            seen.append(other.generation())
            return seen[-1] != seen[-2]

        store.catalog_set([{"services": []}])
        assert changed()
        rule_id = store.fault_add({"match": {}})
        assert changed()
        store.fault_seed([], marker="m")
        assert changed()
        store.fault_delete(rule_id)
        assert changed()
        store.fault_delete_all()
        assert changed()
        store.reset()
        assert changed()
        store.apply([Put(instance())])
        store.fault_hit(store.fault_add({"match": {}}))
        assert changed()
        assert not changed()
        assert other.generation() == store.generation()
    finally:
        other.close()


# --- locks -----------------------------------------------------------------------------
@all_stores
def test_a_lock_excludes_other_threads(store: Store) -> None:
    counter = {"value": 0}

    def add() -> None:
        for _ in range(20):
            with store.lock("instance:shared"):
                value = counter["value"]
                time.sleep(0.001)
                counter["value"] = value + 1

    threads = [in_thread(add) for _ in range(4)]
    for thread in threads:
        thread.join(60)
    assert counter["value"] == 80


@all_stores
def test_an_instance_lock_does_not_block_the_binding_lock_of_another_thread(store: Store) -> None:
    acquired = threading.Event()

    def take_binding() -> None:
        with store.lock("binding:x"):
            acquired.set()

    with store.lock("instance:x"):
        in_thread(take_binding)
        assert acquired.wait(10)


@all_stores
def test_a_held_lock_blocks_another_thread_until_released(store: Store) -> None:
    acquired = threading.Event()

    def take() -> None:
        with store.lock("instance:x"):
            acquired.set()

    with store.lock("instance:x"):
        in_thread(take)
        assert not acquired.wait(0.3)
    assert acquired.wait(10)


@all_stores
def test_a_lock_key_needs_a_known_namespace(store: Store) -> None:
    with pytest.raises(ValueError), store.lock("nonsense:x"):
        pass


@shared_stores
def test_a_lock_excludes_other_processes(store_url: str, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    open_store(store_url).close()  # the schema exists before the workers start
    workers = [
        SPAWN.Process(
            target=store_workers.count_under_lock,
            args=(store_url, "instance:shared", str(counter), 15),
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(90)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert counter.read_text() == "45"


@shared_stores
def test_a_killed_process_releases_its_locks(store: Store, store_url: str) -> None:
    holding = SPAWN.Event()
    holder = SPAWN.Process(
        target=store_workers.hold_lock_forever, args=(store_url, "instance:x", holding)
    )
    holder.start()
    try:
        assert holding.wait(60), "the other process never took the lock"
        acquired = threading.Event()

        def take() -> None:
            with store.lock("instance:x"):
                acquired.set()

        in_thread(take)
        assert not acquired.wait(0.3), "the lock of another process did not exclude us"
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        assert acquired.wait(20), "the lock of a killed process was never released"
    finally:
        if holder.is_alive():
            holder.kill()
        holder.join(10)


@shared_stores
def test_fault_hit_is_atomic_across_processes(store: Store, store_url: str) -> None:
    rule_id = store.fault_add({"match": {}})
    results = SPAWN.Queue()
    workers = [
        SPAWN.Process(target=store_workers.hit_fault, args=(store_url, rule_id, 20, results))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    seen = [count for _ in workers for count in results.get(timeout=90)]
    for worker in workers:
        worker.join(30)
    assert sorted(seen) == list(range(1, 61))
    assert store.fault_list()[0]["calls"] == 60


def _use_after_fork(url: str, queue: Any) -> None:
    # Runs in a forked child that inherited the parent's open store.
    inherited = FORKED_STORE["store"]
    inherited.apply([Put(instance("from-child"))])
    queue.put(inherited.fault_hit(FORKED_STORE["rule"]))
    inherited.close()  # must not close the parent's connections


FORKED_STORE: dict[str, Any] = {}


@shared_stores
def test_a_forked_child_gets_its_own_connections(store: Store, store_url: str) -> None:
    rule_id = store.fault_add({"match": {}})
    store.apply([Put(instance("from-parent"))])  # the parent's connection is open now
    FORKED_STORE.update(store=store, rule=rule_id)
    try:
        queue = multiprocessing.get_context("fork").Queue()
        child = multiprocessing.get_context("fork").Process(
            target=_use_after_fork, args=(store_url, queue)
        )
        child.start()
        assert queue.get(timeout=60) == 1
        child.join(30)
        assert child.exitcode == 0
    finally:
        FORKED_STORE.clear()
    # The parent's own connection still works and sees what the child wrote.
    assert store.get_instance("from-child") is not None
    assert store.fault_hit(rule_id) == 2
