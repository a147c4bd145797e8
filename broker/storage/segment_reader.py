"""Reading the segment journal: every process's segments as one journal.

A reader keeps an index per segment (ids and the filtered fields of each line, and
where the line is), reads only what was appended since it last looked, and reads
the lines a query returns. Only whole lines count: a line may be seen while another
process is writing it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from broker.storage.base import JournalQuery
from broker.storage.segment_files import segments

__all__ = ["SegmentReader"]

log = logging.getLogger("broker.storage")


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


class SegmentReader:
    """The entries of the segments in ``folder``, as queries ask for them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._index: dict[str, _SegmentIndex] = {}
        self._index_mutex = threading.Lock()

    def query(self, query: JournalQuery, floor: int) -> list[dict[str, Any]]:
        """The entries above ``floor`` that ``query`` selects, in id order."""
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
        segments_now = segments(self.folder)
        present = {name for name, _ in segments_now}
        for name in [name for name in self._index if name not in present]:
            del self._index[name]
        result = []
        for name, size in segments_now:
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
