"""The request journal in append-only segment files, shared by every worker process.

Layout, in a folder next to the state file (``broker.journal/``, 0700, files 0600):

* ``counter``: the last id handed out, the *floor* (every entry at or below it
  is dropped) and a generation that grows whenever segments are deleted, 24
  bytes. It is also the append lock: a writer holds ``flock(2)`` on it while it
  takes the next id and writes its line, so ids are integers that become visible
  in increasing order across processes (a reader following ``since_id`` never
  skips an entry written late), and they keep growing across a clear and a
  restart. Each process maps it (``MAP_SHARED``): an append reads and writes the
  counters in memory, the very page every process reads, so the lock and the
  line's ``write(2)`` are its only system calls.
* ``<first id>-<process>.jsonl``: one segment per process at a time, opened
  ``O_APPEND``; one line per entry, the entry encoded once (orjson) with its
  ``"id"`` last. A write that returned is in the operating system's hands: visible
  to every process at once, and kept when the broker is killed.
* A response recorded again as the very same object (a repeated GET answer, the
  catalog above all) is written once per segment, as a line of its own
  (``{"shared": digest, "data": …}``) before the first entry that refers to it;
  such an entry has ``"response": null`` and ``"response_shared": digest``, and
  queries put the response back in place.

Retention (:mod:`broker.journal.retention`) keeps its meaning (the count is exact,
the bytes are measured now and then): the floor follows the newest id minus
``limit`` on every append, and whenever a process has written
:data:`CHECK_SHARE` of the byte budget since it last looked (or starts a segment),
the segments' bytes are added up; over the budget the floor rises past the oldest
segments that hold the excess. Segments wholly at or below the floor are deleted
and the generation grows. A process that sees a new generation on its next append
(under the lock) checks that its segment is still there, and starts a new one if
not; it also starts a new one when its segment reaches a share of the budget, so
old entries go a segment at a time.

Readers keep an index per process (ids and the filtered fields of each line, where
the line is), read only what was appended since, and read the lines a query returns.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import stat
import threading
import weakref
from pathlib import Path
from typing import Any

from broker.journal.retention import bytes_to_free
from broker.storage.base import JournalQuery
from broker.storage.journal_adoption import adopt_journal_database
from broker.storage.segment_files import (
    CHECK_SHARE,
    COUNTER,
    IDS,
    MIN_SEGMENT_BYTES,
    SEGMENTS_PER_BUDGET,
    SUFFIX,
    SharedResponses,
    encode,
    last_id,
    read_counters,
    segments,
    unlink,
)
from broker.storage.segment_reader import SegmentReader

__all__ = ["SEGMENTS_PER_BUDGET", "SegmentJournal"]


class SegmentJournal:
    """:class:`~broker.storage.protocols.JournalStore` over segment files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) & 0o077:
            folder.chmod(0o700)
        self._mutex = threading.Lock()
        self._responses = SharedResponses()
        self._reader = SegmentReader(folder)
        self._open_process()
        this = weakref.ref(self)

        def reopen() -> None:  # a forked worker needs its own lock and segment
            journal = this()
            if journal is not None:
                journal._open_process()

        os.register_at_fork(after_in_child=reopen)

    def _open_process(self) -> None:
        inherited_counters: mmap.mmap | None = getattr(self, "_counters", None)
        if inherited_counters is not None:
            inherited_counters.close()
        for inherited in (getattr(self, "_counter", None), getattr(self, "_segment", None)):
            if inherited is not None and inherited >= 0:
                os.close(inherited)
        self._mutex = threading.Lock()
        self._counter = counter = os.open(
            self.folder / "counter", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        # A new counter file is empty: zeros are its counters (growing a file to the
        # size it already has, as another process may do at once, changes nothing).
        if os.fstat(counter).st_size < COUNTER.size:
            os.ftruncate(counter, COUNTER.size)
        self._counters = mmap.mmap(counter, COUNTER.size)
        self._token = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._segment: int | None = None
        self._segment_bytes = 0
        self._segment_entries = 0
        self._shared_written: set[str] = set()
        self._unchecked = 0
        self._generation = 0

    def close(self) -> None:
        """Close this process's files; the journal is not used afterwards (a closed
        descriptor's number may be another file's by then: -1 fails instead)."""
        with self._mutex:
            if self._segment is not None:
                os.close(self._segment)
                self._segment = None
            if self._counter >= 0:
                self._counters.close()
                os.close(self._counter)
                self._counter = -1

    # --- writing ----------------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        shared = self._responses.encoded(entry.get("response"))
        if shared is not None:
            entry = {**entry, "response": None, "response_shared": shared[0]}
        data = encode(entry)
        with self._mutex:
            counter, counters = self._counter, self._counters
            fcntl.flock(counter, fcntl.LOCK_EX)
            try:
                last, floor, generation = COUNTER.unpack_from(counters)
                entry_id: int = last + 1
                line = b'%b,"id":%d}\n' % (data[:-1], entry_id)
                segment = self._segment_for(entry_id, limit, max_bytes, generation)
                if self._segment_entries == 0:  # a new segment: trimming may have raised it
                    floor = COUNTER.unpack_from(counters)[1]
                if shared is not None and shared[0] not in self._shared_written:
                    line = b'{"shared":"%b","data":%b}\n' % (shared[0].encode(), shared[1]) + line
                    self._shared_written.add(shared[0])
                # The id is taken before the line is written: a broker killed in
                # between skips an id, never hands one out twice.
                IDS.pack_into(counters, 0, entry_id, max(floor, entry_id - limit))
                os.write(segment, line)
                self._segment_bytes += len(line)
                self._segment_entries += 1
                self._unchecked += len(line)
                if max_bytes and self._unchecked >= max_bytes * CHECK_SHARE:
                    self._keep_within(max_bytes)
            finally:
                fcntl.flock(counter, fcntl.LOCK_UN)
        return entry_id

    def _segment_for(
        self, entry_id: int, limit: int, max_bytes: int | None, generation: int
    ) -> int:
        """This process's segment, a new one when it is full or was deleted (lock held)."""
        segment = self._segment
        if segment is not None:
            full = self._segment_entries >= max(limit // SEGMENTS_PER_BUDGET, 1) or (
                max_bytes is not None
                and self._segment_bytes >= max(max_bytes // SEGMENTS_PER_BUDGET, MIN_SEGMENT_BYTES)
            )
            if not full and (generation == self._generation or os.fstat(segment).st_nlink):
                self._generation = generation
                return segment
            os.close(segment)
            self._segment = None
            if full:
                self._keep_within(max_bytes)
        name = f"{entry_id:020d}-{self._token}{SUFFIX}"
        segment = os.open(
            self.folder / name,
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
            0o600,
        )
        self._segment = segment
        self._segment_bytes = 0
        self._segment_entries = 0
        self._shared_written = set()
        self._generation = read_counters(self._counter)[2]
        return segment

    def _keep_within(self, max_bytes: int | None) -> None:
        """Raise the floor over the byte budget; delete segments below it (lock held)."""
        self._unchecked = 0
        last, floor, generation = read_counters(self._counter)
        present = segments(self.folder)
        excess = bytes_to_free(sum(size for _, size in present), max_bytes) if max_bytes else 0
        ends = {}
        for name, size in present:
            if excess <= 0:
                break
            ends[name] = last_id(self.folder, name, size)
            floor = max(floor, ends[name])
            excess -= size
        deleted = False
        for name, size in present:
            if int(name.split("-", 1)[0]) > floor:
                break  # segments are in order of their first id
            end = ends[name] if name in ends else last_id(self.folder, name, size)
            if end <= floor:
                unlink(self.folder, name)
                deleted = True
        os.pwrite(self._counter, COUNTER.pack(last, floor, generation + deleted), 0)

    def journal_clear(self) -> None:
        with self._mutex:
            fcntl.flock(self._counter, fcntl.LOCK_EX)
            try:
                last, _, generation = read_counters(self._counter)
                os.pwrite(self._counter, COUNTER.pack(last, last, generation + 1), 0)
                for name, _ in segments(self.folder):
                    unlink(self.folder, name)
            finally:
                fcntl.flock(self._counter, fcntl.LOCK_UN)

    # --- reading ----------------------------------------------------------------------
    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        return self._reader.query(query, read_counters(self._counter)[1])

    # --- an older version's journal -------------------------------------------------
    def adopt(self, database: Path) -> None:
        """Carry the entries of a journal database written by an older version over
        into a segment, then remove it (once, at start-up)."""
        if not database.exists():
            return
        with self._mutex:
            fcntl.flock(self._counter, fcntl.LOCK_EX)
            try:
                if database.exists():
                    adopt_journal_database(self.folder, self._counter, database)
            finally:
                fcntl.flock(self._counter, fcntl.LOCK_UN)
