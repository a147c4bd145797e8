"""The request journal in append-only segment files, shared by every worker process.

Layout, in a folder next to the state file (``broker.journal/``, 0700, files 0600):

* ``counter``: the last id handed out, the *floor* (every entry at or below it
  is dropped) and a generation that grows whenever segments are deleted, 24
  bytes. It is also the append lock: a writer holds ``flock(2)`` on it while it
  takes the next id and writes its line, so ids are integers that become visible
  in increasing order across processes (a reader following ``since_id`` never
  skips an entry written late), and they keep growing across a clear and a
  restart.
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
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import stat
import struct
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from broker.journal.retention import bytes_to_free
from broker.storage.base import JournalQuery

__all__ = ["SEGMENTS_PER_BUDGET", "SegmentJournal"]

log = logging.getLogger("broker.storage")

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


class _Record(NamedTuple):
    """Where a line is and what queries filter it by."""

    id: int
    epoch: float
    method: Any
    operation: Any
    instance_id: Any
    binding_id: Any
    status: Any
    offset: int
    length: int


@dataclass
class _SegmentIndex:
    name: str
    read: int = 0
    records: list[_Record] = field(default_factory=list)
    # Where each shared response of the segment is: digest -> (offset, length).
    shared: dict[str, tuple[int, int]] = field(default_factory=dict)


def _encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits, say
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class _SharedResponses:
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
        data = _encode(response)
        shared = (hashlib.sha256(data).hexdigest()[:32], data)
        with self._mutex:
            if len(self._encoded) >= SHARED_RESPONSES_REMEMBERED:
                self._encoded.clear()
            self._encoded[key] = (response, shared)
        return shared


class SegmentJournal:
    """:class:`~broker.storage.protocols.JournalStore` over segment files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) & 0o077:
            folder.chmod(0o700)
        self._mutex = threading.Lock()
        self._responses = _SharedResponses()
        self._index: dict[str, _SegmentIndex] = {}
        self._index_mutex = threading.Lock()
        self._open_process()
        this = weakref.ref(self)

        def reopen() -> None:  # a forked worker needs its own lock and segment
            journal = this()
            if journal is not None:
                journal._open_process()

        os.register_at_fork(after_in_child=reopen)

    def _open_process(self) -> None:
        for inherited in (getattr(self, "_counter", None), getattr(self, "_segment", None)):
            if inherited is not None and inherited >= 0:
                os.close(inherited)
        self._mutex = threading.Lock()
        self._counter = os.open(
            self.folder / "counter", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
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
                os.close(self._counter)
                self._counter = -1

    # --- writing ----------------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        shared = self._responses.encoded(entry.get("response"))
        if shared is not None:
            entry = {**entry, "response": None, "response_shared": shared[0]}
        data = _encode(entry)
        with self._mutex:
            counter = self._counter
            fcntl.flock(counter, fcntl.LOCK_EX)
            try:
                last, floor, generation = self._counters()
                entry_id = last + 1
                line = b'%b,"id":%d}\n' % (data[:-1], entry_id)
                segment = self._segment_for(entry_id, limit, max_bytes, generation)
                if self._segment_entries == 0:  # a new segment: trimming may have raised it
                    floor = self._counters()[1]
                if shared is not None and shared[0] not in self._shared_written:
                    line = b'{"shared":"%b","data":%b}\n' % (shared[0].encode(), shared[1]) + line
                    self._shared_written.add(shared[0])
                # The id is taken before the line is written: a broker killed in
                # between skips an id, never hands one out twice.
                os.pwrite(counter, IDS.pack(entry_id, max(floor, entry_id - limit)), 0)
                os.write(segment, line)
                self._segment_bytes += len(line)
                self._segment_entries += 1
                self._unchecked += len(line)
                if max_bytes and self._unchecked >= max_bytes * CHECK_SHARE:
                    self._keep_within(max_bytes)
            finally:
                fcntl.flock(counter, fcntl.LOCK_UN)
        return entry_id

    def _counters(self) -> tuple[int, int, int]:
        """The last id, the floor and the generation."""
        raw = os.pread(self._counter, COUNTER.size, 0)
        if len(raw) < COUNTER.size:
            raw = raw.ljust(COUNTER.size, b"\0")
        last, floor, generation = COUNTER.unpack(raw)
        return int(last), int(floor), int(generation)

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
        self._generation = self._counters()[2]
        return segment

    def _segments(self) -> list[tuple[str, int]]:
        """Every segment's name and size, oldest first."""
        found = []
        with os.scandir(self.folder) as entries:
            for item in entries:
                if item.name.endswith(SUFFIX):
                    try:
                        found.append((item.name, item.stat().st_size))
                    except FileNotFoundError:
                        continue
        found.sort()
        return found

    def _last_id(self, name: str, size: int) -> int:
        """The id of a segment's last whole line (0 for none)."""
        try:
            with open(self.folder / name, "rb") as file:
                file.seek(max(size - 32, 0))
                tail = file.read(32)
        except FileNotFoundError:
            return 0
        start = tail.rfind(b'"id":')
        if start < 0 or not tail.endswith(b"}\n"):
            return 0
        return int(tail[start + 5 : -2])

    def _keep_within(self, max_bytes: int | None) -> None:
        """Raise the floor over the byte budget; delete segments below it (lock held)."""
        self._unchecked = 0
        last, floor, generation = self._counters()
        segments = self._segments()
        excess = bytes_to_free(sum(size for _, size in segments), max_bytes) if max_bytes else 0
        ends = {}
        for name, size in segments:
            if excess <= 0:
                break
            ends[name] = self._last_id(name, size)
            floor = max(floor, ends[name])
            excess -= size
        deleted = False
        for name, size in segments:
            if int(name.split("-", 1)[0]) > floor:
                break  # segments are in order of their first id
            end = ends[name] if name in ends else self._last_id(name, size)
            if end <= floor:
                self._unlink(name)
                deleted = True
        os.pwrite(self._counter, COUNTER.pack(last, floor, generation + deleted), 0)

    def _unlink(self, name: str) -> None:
        try:
            os.unlink(self.folder / name)
        except FileNotFoundError:
            pass

    def journal_clear(self) -> None:
        with self._mutex:
            fcntl.flock(self._counter, fcntl.LOCK_EX)
            try:
                last, _, generation = self._counters()
                os.pwrite(self._counter, COUNTER.pack(last, last, generation + 1), 0)
                for name, _ in self._segments():
                    self._unlink(name)
            finally:
                fcntl.flock(self._counter, fcntl.LOCK_UN)

    # --- reading ----------------------------------------------------------------------
    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        _, floor, _ = self._counters()
        low = floor if query.since_id is None else max(floor, query.since_id)
        found: list[tuple[_Record, _SegmentIndex]] = []
        with self._index_mutex:
            for index in self._refreshed():
                found += [(record, index) for record in index.records if record.id > low]
        found = [item for item in found if _matches(query, item[0])]
        found.sort(key=lambda item: item[0].id)
        if query.limit <= 0:
            chosen = []
        elif query.forward:
            chosen = found[: query.limit]
        else:
            chosen = found[max(len(found) - query.limit, 0) :]
        return self._entries(chosen)

    def _refreshed(self) -> list[_SegmentIndex]:
        """Every segment's records, with the lines appended since the last look."""
        segments = self._segments()
        present = {name for name, _ in segments}
        for name in [name for name in self._index if name not in present]:
            del self._index[name]
        result = []
        for name, size in segments:
            index = self._index.get(name)
            if index is None:
                index = self._index[name] = _SegmentIndex(name)
            if size > index.read:
                self._read_new(index)
            result.append(index)
        return result

    def _read_new(self, index: _SegmentIndex) -> None:
        try:
            with open(self.folder / index.name, "rb") as file:
                file.seek(index.read)
                data = file.read()
        except FileNotFoundError:
            return
        # Only whole lines: a line may be seen while another process writes it.
        end = data.rfind(b"\n") + 1
        position = 0
        while position < end:
            stop = data.index(b"\n", position)
            try:
                entry = orjson.loads(data[position:stop])
                if "shared" in entry and "id" not in entry:
                    start = index.read + data.index(b'"data":', position) + 7
                    index.shared[entry["shared"]] = (start, index.read + stop - 1 - start)
                    position = stop + 1
                    continue
                index.records.append(
                    _Record(
                        int(entry["id"]),
                        float(entry["epoch"]),
                        entry.get("method"),
                        entry.get("operation"),
                        entry.get("instance_id"),
                        entry.get("binding_id"),
                        entry.get("status"),
                        index.read + position,
                        stop - position,
                    )
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("skipping an unreadable journal line in %s", index.name)
            position = stop + 1
        index.read += end

    def _entries(self, chosen: list[tuple[_Record, _SegmentIndex]]) -> list[dict[str, Any]]:
        files: dict[str, Any] = {}
        responses: dict[tuple[str, str], bytes] = {}
        entries = []
        try:
            for record, index in chosen:
                name = index.name
                if name not in files:
                    try:
                        files[name] = open(self.folder / name, "rb")  # noqa: SIM115
                    except FileNotFoundError:
                        files[name] = None
                file = files[name]
                if file is None:
                    continue  # trimmed or cleared meanwhile
                file.seek(record.offset)
                entry = orjson.loads(file.read(record.length))
                digest = entry.pop("response_shared", None)
                if digest is not None:
                    if (name, digest) not in responses:
                        offset, length = index.shared[digest]
                        file.seek(offset)
                        responses[name, digest] = file.read(length)
                    # Parsed for each entry: no two entries share a mutable object.
                    entry["response"] = orjson.loads(responses[name, digest])
                entries.append(entry)
        finally:
            for file in files.values():
                if file is not None:
                    file.close()
        return entries

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
                    self._adopt(database)
            finally:
                fcntl.flock(self._counter, fcntl.LOCK_UN)

    def _adopt(self, database: Path) -> None:
        try:
            connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
                rows: list[tuple[int, str, str | None]] = []
                if "journal" in tables:
                    shared = "journal_responses" in tables
                    rows = connection.execute(
                        "SELECT journal.id, journal.data, journal_responses.data FROM journal "
                        "LEFT JOIN journal_responses "
                        "ON journal_responses.digest = journal.response_digest ORDER BY id"
                        if shared
                        else "SELECT id, data, NULL FROM journal ORDER BY id"
                    ).fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.warning("could not read the older journal %s: %s", database, exc)
            rows = []
        last, floor, _ = self._counters()
        if rows:
            lines = []
            for entry_id, data, response in rows:
                entry = json.loads(data)
                if response is not None:
                    entry["response"] = json.loads(response)
                entry["id"] = entry_id
                lines.append(_encode(entry) + b"\n")
            name = f"{rows[0][0]:020d}-adopted{SUFFIX}"
            fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"".join(lines))
            finally:
                os.close(fd)
            last = max(last, rows[-1][0])
        os.pwrite(self._counter, IDS.pack(last, floor), 0)
        for suffix in ("", "-wal", "-shm"):
            leftover = database.with_name(database.name + suffix)
            if leftover.exists():
                leftover.unlink()


def _matches(query: JournalQuery, record: _Record) -> bool:
    if query.operation is not None and record.operation != query.operation:
        return False
    if query.instance_id is not None and record.instance_id != query.instance_id:
        return False
    if query.binding_id is not None and record.binding_id != query.binding_id:
        return False
    if query.method is not None and record.method != query.method:
        return False
    if query.status is not None and record.status != query.status:
        return False
    if query.since_time is not None and record.epoch < query.since_time:
        return False
    return query.before_id is None or record.id < query.before_id
