"""The files of the segment journal (:mod:`broker.storage.segment_journal`): their
names and sizes, the shared counter, and how an entry is encoded once.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "CHECK_SHARE",
    "COUNTER",
    "IDS",
    "MIN_SEGMENT_BYTES",
    "SEGMENTS_PER_BUDGET",
    "SUFFIX",
    "SharedResponses",
    "encode",
    "last_id",
    "read_counters",
    "segments",
    "unlink",
]

# A segment is closed once it holds this share of the entry or byte budget.
SEGMENTS_PER_BUDGET = 16
MIN_SEGMENT_BYTES = 128 * 1024
SUFFIX = ".jsonl"
COUNTER = struct.Struct("<QQQ")  # last id, floor, generation
IDS = struct.Struct("<QQ")  # last id, floor: what an append changes
# The segments' bytes are added up when a process has written this share of the
# budget since it last did: each process outgrows the budget by at most that much.
CHECK_SHARE = 1 / 64
# Response objects whose encoding is remembered (see _SharedResponses).
SHARED_RESPONSES_REMEMBERED = 16


def encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits, say
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class SharedResponses:
    """Recognises a response object recorded before and encodes it once.

    Identity, not equality: the journal passes the same (never changed) object for a
    repeated answer. A strong reference is kept with each id, so an id cannot be
    reused by another object while it is remembered.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._seen: OrderedDict[int, Any] = OrderedDict()
        self._encoded: dict[int, tuple[Any, tuple[str, bytes]]] = {}

    def encoded(self, response: Any) -> tuple[str, bytes] | None:
        """``(digest, JSON)`` when ``response`` was seen before, else ``None``."""
        if not isinstance(response, (dict, list)):
            return None
        key = id(response)
        # Read without the lock first: a dict read is atomic, and most calls end here.
        known = self._encoded.get(key)
        if known is not None and known[0] is response:
            return known[1]
        with self._mutex:
            known = self._encoded.get(key)
            if known is not None and known[0] is response:
                return known[1]
            if self._seen.get(key) is not response:
                self._seen[key] = response
                if len(self._seen) > SHARED_RESPONSES_REMEMBERED:
                    self._seen.popitem(last=False)
                return None
            del self._seen[key]
        data = encode(response)
        shared = (hashlib.sha256(data).hexdigest()[:32], data)
        with self._mutex:
            if len(self._encoded) >= SHARED_RESPONSES_REMEMBERED:
                self._encoded.clear()
            self._encoded[key] = (response, shared)
        return shared


def read_counters(counter: int) -> tuple[int, int, int]:
    """The last id, the floor and the generation held by the ``counter`` file."""
    raw = os.pread(counter, COUNTER.size, 0)
    if len(raw) < COUNTER.size:
        raw = raw.ljust(COUNTER.size, b"\0")
    last, floor, generation = COUNTER.unpack(raw)
    return int(last), int(floor), int(generation)


def segments(folder: Path) -> list[tuple[str, int]]:
    """Every segment's name and size, oldest first."""
    found = []
    with os.scandir(folder) as entries:
        for item in entries:
            if item.name.endswith(SUFFIX):
                try:
                    found.append((item.name, item.stat().st_size))
                except FileNotFoundError:
                    continue
    found.sort()
    return found


def last_id(folder: Path, name: str, size: int) -> int:
    """The id of a segment's last whole line (0 for none)."""
    try:
        with open(folder / name, "rb") as file:
            file.seek(max(size - 32, 0))
            tail = file.read(32)
    except FileNotFoundError:
        return 0
    start = tail.rfind(b'"id":')
    if start < 0 or not tail.endswith(b"}\n"):
        return 0
    return int(tail[start + 5 : -2])


def unlink(folder: Path, name: str) -> None:
    try:
        os.unlink(folder / name)
    except FileNotFoundError:
        pass
