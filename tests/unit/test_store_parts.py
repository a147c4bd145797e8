"""A store's methods are its parts' own, and a subclass may still override them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from broker.storage.base import Change, Put
from broker.storage.memory import MemoryStore
from broker.storage.sqlite import SQLiteStore
from tests.support.records import instance


class CountingMemoryStore(MemoryStore):
    applied = 0

    def apply(self, changes: Sequence[Change]) -> None:
        self.applied += 1
        super().apply(changes)


class CountingSQLiteStore(SQLiteStore):
    applied = 0

    def apply(self, changes: Sequence[Change]) -> None:
        self.applied += 1
        super().apply(changes)


def test_a_store_calls_its_parts_directly() -> None:
    store = MemoryStore()

    assert store.apply == store._state.apply
    assert store.get_instance == store._state.get_instance


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_subclass_overriding_a_method_keeps_it_and_reaches_the_part_through_super(
    kind: str, tmp_path: Path
) -> None:
    store = (
        CountingMemoryStore()
        if kind == "memory"
        else CountingSQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    )

    store.apply([Put(instance("i-1"))])

    assert store.applied == 1
    assert store.get_instance("i-1") is not None
