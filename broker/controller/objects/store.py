"""The local resource store: one JSON document in a state folder, guarded by file locks.

Layout of the state folder::

    store.json       every object, the controller's schedule and events, the cluster id
    store.lock       flock(2): shared is not needed for reads, exclusive for every write
    reconcile.lock   held by the one process reconciling (``ctl reconcile`` / ``ctl run``)

A write takes the exclusive lock, re-reads the document (unless this process wrote
it last), applies its changes and replaces the file atomically (temporary file,
fsync, rename), so concurrent ``ctl`` invocations never lose each other's writes and
a killed process leaves either the old or the new document, never half of one.
Reads need no lock: a rename is atomic. Neither a read nor a write parses the file
again while it is still the one this process wrote last.
"""

from __future__ import annotations

import builtins
import copy
import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from broker.controller.objects.kinds import ObjectKey, key_of

__all__ = ["ReconcilerBusy", "State", "Store"]

FORMAT = 1
MAX_EVENTS = 30


class ReconcilerBusy(RuntimeError):
    """Another process holds the reconcile lock."""


class State:
    """The whole store document, read or being written."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.document.setdefault("format", FORMAT)
        self.document.setdefault("revision", 0)
        self.document.setdefault("objects", {})
        self.document.setdefault("schedule", {})
        self.document.setdefault("events", {})
        self.document.setdefault("eventCount", 0)
        self.touched_secrets: set[ObjectKey] = set()
        # Whether anything changed since the document was read (then a write commits it).
        self.dirty = False

    # --- cluster facts ---------------------------------------------------------------

    @property
    def cluster_id(self) -> str:
        """The cluster id sent as ``context.clusterid`` and ``organization_guid``."""
        found = self.document.get("clusterID")
        if not found:
            found = self.document["clusterID"] = str(uuid.uuid4())
            self.dirty = True
        return str(found)

    @property
    def revision(self) -> int:
        return int(self.document["revision"])

    @property
    def event_count(self) -> int:
        """How many events were ever recorded (repeats included)."""
        return int(self.document["eventCount"])

    # --- objects -----------------------------------------------------------------------

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        found = self.document["objects"].get(str(key))
        return copy.deepcopy(found) if found is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        found: builtins.list[dict[str, Any]] = []
        for text, obj in self.document["objects"].items():
            key = ObjectKey.parse(text)
            if key.kind == kind and (namespace is None or key.namespace == namespace):
                found.append(copy.deepcopy(obj))
        return sorted(
            found, key=lambda obj: (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        )

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (a copy) with a new resourceVersion; answers the stored copy."""
        self.document["revision"] = self.revision + 1
        self.dirty = True
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.revision)
        key = key_of(stored)
        self.document["objects"][str(key)] = stored
        if key.kind == "Secret":
            self.touched_secrets.add(key)
        return copy.deepcopy(stored)

    def remove(self, key: ObjectKey) -> None:
        self.document["revision"] = self.revision + 1
        self.dirty = True
        self.document["objects"].pop(str(key), None)
        self.document["schedule"].pop(str(key), None)
        self.document["events"].pop(str(key), None)
        if key.kind == "Secret":
            self.touched_secrets.add(key)

    # --- controller bookkeeping ----------------------------------------------------------

    def schedule(self, key: ObjectKey) -> dict[str, Any]:
        """The controller's retry/poll bookkeeping of one object (a live dict)."""
        entry: dict[str, Any] = self.document["schedule"].setdefault(str(key), {})
        self.dirty = True  # a live entry: the caller may change it
        return entry

    def peek_schedule(self, key: ObjectKey) -> dict[str, Any]:
        return dict(self.document["schedule"].get(str(key), {}))

    def set_schedule(self, key: ObjectKey, entry: dict[str, Any]) -> None:
        text = str(key)
        if text in self.document["objects"] and self.document["schedule"].get(text) != entry:
            self.document["schedule"][text] = dict(entry)
            self.dirty = True

    def events(self, key: ObjectKey) -> builtins.list[dict[str, Any]]:
        return [dict(event) for event in self.document["events"].get(str(key), [])]

    def add_event(self, key: ObjectKey, event: dict[str, Any]) -> None:
        """Record an event; a repeat of the last one (same type, reason, message) counts up."""
        self.dirty = True
        self.document["eventCount"] = self.event_count + 1
        events: builtins.list[dict[str, Any]] = self.document["events"].setdefault(str(key), [])
        last = events[-1] if events else None
        if last and all(last[name] == event[name] for name in ("type", "reason", "message")):
            last["count"] = int(last.get("count", 1)) + 1
            last["lastTimestamp"] = event["lastTimestamp"]
        else:
            events.append({**event, "count": 1})
            del events[:-MAX_EVENTS]


class Store:
    """The state folder. ``read()`` for a snapshot, ``with write() as state`` to change it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # The document as this process last committed it, with the file identity it got:
        # reads and the next write skip re-reading it if nobody else wrote in between.
        self._cached: tuple[tuple[int, int, int], dict[str, Any]] | None = None

    @property
    def path(self) -> Path:
        return self.root / "store.json"

    def _ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def read(self) -> State:
        """A snapshot of the document, to look at and let go of.

        Unless another process wrote since, this is the document this store last wrote,
        shared with its next write: don't change it, and don't keep it across a write.
        """
        cached = self._cached
        if cached is not None and cached[0] == self._identity():
            return State(cached[1])
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return State({})
        return State(json.loads(text))

    @contextmanager
    def write(self) -> Iterator[State]:
        """Exclusive: read, let the caller change, and commit if it raised nothing."""
        self._ensure_root()
        with self._locked("store.lock", blocking=True):
            identity = self._identity()
            cached, self._cached = self._cached, None  # invalid while the caller changes it
            if cached is not None and identity is not None and cached[0] == identity:
                state = State(cached[1])
            else:
                state = self.read()
            # Fixed once, at the first write: the id a platform's brokers see forever after.
            state.cluster_id  # noqa: B018 - creates it if missing
            yield state
            if state.dirty:
                self._commit(state)
            found = self._identity()
            if found is not None:
                self._cached = (found, state.document)

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns, found.st_size

    def _commit(self, state: State) -> None:
        payload = json.dumps(state.document, separators=(",", ":")).encode()
        handle, temporary = tempfile.mkstemp(prefix=".store-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            # The content is on disk before the rename makes it the store: a killed process
            # (or a crash) leaves the old document or the new one, never an empty file.
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @contextmanager
    def reconciling(self, *, blocking: bool = True) -> Iterator[None]:
        """Be the only reconciler; :class:`ReconcilerBusy` if not blocking and taken."""
        self._ensure_root()
        with self._locked("reconcile.lock", blocking=blocking):
            yield

    @contextmanager
    def _locked(self, name: str, *, blocking: bool) -> Iterator[None]:
        descriptor = os.open(self.root / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(descriptor, flags)
            except BlockingIOError:
                raise ReconcilerBusy(f"another process holds {self.root / name}") from None
            yield
        finally:
            os.close(descriptor)
