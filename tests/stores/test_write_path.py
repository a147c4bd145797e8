"""A write goes from the store to the database through as few storage files as can be.

Every request that changes state ends in :meth:`Store.apply`; what it passes
through in Python is counted here the way ``python -m bench.trace`` counts it:
consecutive frames of ``broker/storage`` files, switches between them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from broker.storage import Store, open_store
from broker.storage.base import Put
from tests.support.records import instance

STORAGE = Path(__file__).resolve().parents[2] / "broker" / "storage"


def storage_files(call: Callable[[], Any]) -> list[str]:
    """The ``broker/storage`` files ``call`` runs in, in order, repeats collapsed."""
    files: list[str] = []

    def see(frame: FrameType | None) -> None:
        # Library frames (contextlib, functools) are skipped over, as bench.trace does.
        while frame is not None and "/broker/" not in frame.f_code.co_filename:
            frame = frame.f_back
        if frame is None:
            return
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(STORAGE):
            name = str(path.relative_to(STORAGE))
            if not files or files[-1] != name:
                files.append(name)

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            see(frame)
        elif event == "return":
            see(frame.f_back)  # execution continues in the caller

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return files


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'broker.db'}"
    opened = open_store(url)
    opened.apply([Put(instance("warm-up"))])  # connections opened outside the count
    yield opened
    opened.close()


def test_applying_a_change_switches_storage_files_at_most_four_times(store: Store) -> None:
    files = storage_files(lambda: store.apply([Put(instance("counted"))]))

    assert store.get_instance("counted") is not None
    assert files[0] == files[-1] and len(files) <= 5, files  # at most four switches
