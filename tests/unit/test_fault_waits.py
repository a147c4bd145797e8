"""Waiting in a fault rule's delay or hang, and what ends the wait (broker/faults/waits.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from broker.faults.engine import Fired
from broker.faults.rules import FaultRule
from broker.faults.waits import FaultWaits, TooManyWaits, WaitEnd
from broker.storage.memory import MemoryStore


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def waits(store: MemoryStore) -> FaultWaits:
    return FaultWaits(store, limit=2, check_every=0.01, watch_every=0.02)


def fire(store: MemoryStore, rule_id: str = "slow") -> Fired:
    store.fault_add({"id": rule_id, "match": {}, "action": {"delay_ms": 60_000}})
    rule = FaultRule.from_dict(store.fault_list()[0])
    return Fired(rule, store.fault_hit(rule_id))


def never() -> bool:
    return False


def in_background(
    waits: FaultWaits, fired: Fired, seconds: float = 60, gone: Callable[[], bool] = never
) -> tuple[threading.Thread, dict[str, object]]:
    result: dict[str, object] = {}

    def run() -> None:
        started = time.monotonic()
        result["end"] = waits.wait(fired, seconds, gone)
        result["after"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_wait_lasts_its_time(store: MemoryStore, waits: FaultWaits) -> None:
    started = time.monotonic()
    assert waits.wait(fire(store), 0.2, never) is WaitEnd.ELAPSED
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("how", ["delete", "delete all", "reset", "delete and add again"])
def test_removing_the_rule_ends_the_wait(store: MemoryStore, waits: FaultWaits, how: str) -> None:
    fired = fire(store)
    thread, result = in_background(waits, fired)
    time.sleep(0.1)
    assert thread.is_alive()
    if how == "delete":
        store.fault_delete("slow")
    elif how == "delete all":
        store.fault_delete_all()
    elif how == "reset":
        store.reset()
    else:
        store.fault_delete("slow")
        store.fault_add({"id": "slow", "match": {}, "action": {"delay_ms": 60_000}})
    thread.join(5)
    assert result["end"] is WaitEnd.RULE_REMOVED
    assert result["after"] < 1  # type: ignore[operator]


def test_other_rules_changing_does_not_end_the_wait(store: MemoryStore, waits: FaultWaits) -> None:
    fired = fire(store)
    thread, result = in_background(waits, fired, seconds=0.5)
    time.sleep(0.1)
    store.fault_add({"id": "other", "match": {}, "action": {"status": 500}})
    store.fault_hit("slow")
    thread.join(5)
    assert result["end"] is WaitEnd.ELAPSED


def test_a_rule_added_while_a_wait_ran_is_waited_on_too(
    store: MemoryStore, waits: FaultWaits
) -> None:
    first = fire(store)
    thread, _ = in_background(waits, first, seconds=0.6)
    time.sleep(0.1)  # the watcher has read the rules: "later" is not among them
    store.fault_add({"id": "later", "match": {}, "action": {"delay_ms": 60_000}})
    rule = FaultRule.from_dict(next(r for r in store.fault_list() if r["id"] == "later"))
    second = Fired(rule, store.fault_hit("later"))
    assert waits.wait(second, 0.3, never) is WaitEnd.ELAPSED
    thread.join(5)


def test_a_client_that_leaves_ends_its_wait(store: MemoryStore, waits: FaultWaits) -> None:
    gone = threading.Event()
    thread, result = in_background(waits, fire(store), gone=gone.is_set)
    time.sleep(0.1)
    gone.set()
    thread.join(5)
    assert result["end"] is WaitEnd.CLIENT_GONE


def test_beyond_the_limit_a_wait_is_refused(store: MemoryStore, waits: FaultWaits) -> None:
    fired = fire(store)
    threads = [in_background(waits, fired, seconds=0.5)[0] for _ in range(2)]
    time.sleep(0.1)
    with pytest.raises(TooManyWaits) as refused:
        waits.wait(fired, 0.5, never)
    assert refused.value.limit == 2
    for thread in threads:
        thread.join(5)
    assert waits.wait(fired, 0.01, never) is WaitEnd.ELAPSED  # room again


def test_a_wait_steps_aside_while_it_waits(store: MemoryStore, waits: FaultWaits) -> None:
    seen: list[str] = []

    @contextmanager
    def step_aside() -> Iterator[None]:
        seen.append("aside")
        yield
        seen.append("back")

    waits.wait(fire(store), 0.01, never, step_aside)
    assert seen == ["aside", "back"]
