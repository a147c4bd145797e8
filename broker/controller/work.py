"""One object being reconciled: a working copy, its events and schedule, and how it is saved.

The controller never writes an object wholesale. :meth:`Work.save` re-reads the
object under the store's write lock and takes from the working copy only what
the controller owns (the status, the refs it resolved, its finalizer, labels it
adds), so a user's ``apply`` or ``delete`` between the read and the save is kept.
Whatever must be persisted *before* a broker call (the ``*RequestInFlight``
status) is saved before that call.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from broker.controller.machinery import Machinery
from broker.controller.objects.admission import collect_garbage
from broker.controller.objects.conditions import (
    drop_condition,
    epoch_of,
    go_time,
    is_true,
    rfc3339,
    set_condition,
)
from broker.controller.objects.kinds import FINALIZER, ObjectKey, key_of
from broker.controller.objects.status_shape import shape_status
from broker.controller.objects.store import State
from broker.controller.settings import QUEUE_RETRIES

__all__ = ["RETRY_TIMEOUT", "Work"]

Write = Callable[[State], None]
# Fields of the schedule entry that describe one generation's retries and polls:
# failed calls (the provision/update backoff), polls of the current async operation,
# and the work queue's retries since the last pass that ended without an error.
COUNTERS = ("failures", "polls", "requeues")
RETRY_TIMEOUT = "Stopping reconciliation retries because too much time has elapsed"


class Work:
    def __init__(self, machinery: Machinery, obj: dict[str, Any]) -> None:
        self.machinery = machinery
        self.obj = copy.deepcopy(obj)
        self.key: ObjectKey = key_of(obj)
        self.status: dict[str, Any] = self.obj.setdefault("status", {})
        self.schedule: dict[str, Any] = machinery.state.peek_schedule(self.key)
        generation = self.generation
        if self.schedule.get("generation") != generation:
            for name in COUNTERS:
                self.schedule.pop(name, None)
            self.schedule["generation"] = generation
        self._events: list[dict[str, Any]] = []
        self._spec: dict[str, Any] = {}
        self._labels: dict[str, str] = {}
        self._writes: list[Write] = []
        self._drop_finalizer = False
        self.gone = False
        self._saved_status = copy.deepcopy(self.status)
        self._saved_schedule = dict(self.schedule)

    # --- reading -------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.machinery.clock()

    @property
    def state(self) -> State:
        return self.machinery.state

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.obj.setdefault("spec", {})
        return spec

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")

    @property
    def generation(self) -> int:
        return int(self.obj["metadata"].get("generation", 1))

    @property
    def deleting(self) -> bool:
        return bool(self.obj["metadata"].get("deletionTimestamp"))

    @property
    def has_finalizer(self) -> bool:
        return FINALIZER in (self.obj["metadata"].get("finalizers") or [])

    def is_true(self, kind: str) -> bool:
        return is_true(self.status, kind)

    # --- changing ------------------------------------------------------------------------

    def condition(
        self, kind: str, value: str, reason: str, message: str, event: str | None = None
    ) -> None:
        """Set a condition; ``event`` ("Normal"/"Warning") also records it as an event."""
        set_condition(self.status, kind, value, reason, message, self.now)
        if event is not None:
            self.event(event, reason, message)

    def drop_condition(self, kind: str) -> None:
        drop_condition(self.status, kind)

    def event(self, kind: str, reason: str, message: str) -> None:
        stamp = rfc3339(self.now)
        self._events.append(
            {
                "type": kind,
                "reason": reason,
                "message": message,
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "source": "service-catalog-controller-manager",
            }
        )

    def set_spec(self, **fields: Any) -> None:
        """Spec fields the controller owns (resolved refs); kept only for this generation."""
        self.spec.update(fields)
        self._spec.update(fields)

    def set_label(self, name: str, value: str) -> None:
        self.obj["metadata"].setdefault("labels", {})[name] = value
        self._labels[name] = value

    def also(self, write: Write) -> None:
        """Another change to make in the same store write as this object's save."""
        self._writes.append(write)

    def drop_finalizer(self) -> None:
        self._drop_finalizer = True
        self.obj["metadata"]["finalizers"] = _without_finalizer(self.obj["metadata"])

    def due_in(self, seconds: float) -> None:
        self.schedule["due"] = self.now + max(seconds, 0.0)

    def settle(self) -> None:
        """Nothing to do until something changes: forget the retry and poll counters."""
        for name in ("due", *COUNTERS):
            self.schedule.pop(name, None)

    def failed_once(self) -> float:
        """Count a failed call; answers the backoff before the next attempt."""
        failures = int(self.schedule.get("failures", 0)) + 1
        self.schedule["failures"] = failures
        delay = self.machinery.settings.retry_delay(failures)
        self.due_in(delay)
        return delay

    def requeue(self) -> None:
        """Back to the work queue after an error: 5 ms doubling, the resync after 15."""
        requeues = int(self.schedule.get("requeues", 0))
        self.due_in(self.machinery.settings.queue_delay(requeues))
        self.schedule["requeues"] = 0 if requeues + 1 > QUEUE_RETRIES else requeues + 1

    def forget(self) -> None:
        """The pass ended without an error: the work queue forgets the object's retries."""
        self.schedule.pop("requeues", None)

    def begin_polling(self, retry_after: float | None) -> None:
        """The first poll of an async operation, after the poll queue's first delay."""
        self.schedule["polls"] = 0
        self.forget()
        self.due_in(self.machinery.settings.poll_delay(0, retry_after))

    def poll_again(self, retry_after: float | None) -> None:
        """Still in progress: the next poll after the poll queue's growing delay."""
        polls = int(self.schedule.get("polls", 0)) + 1
        self.schedule["polls"] = polls
        self.forget()
        self.due_in(self.machinery.settings.poll_delay(polls, retry_after))

    def operation_too_old(self) -> bool:
        """The current operation started longer ago than the retry window."""
        started = epoch_of(self.status.get("operationStartTime"))
        return started > 0 and self.now - started >= self.machinery.settings.retry_duration

    def retry_timeout_condition(self, message: str = RETRY_TIMEOUT) -> None:
        """The terminal ``Failed=True``: the retry window has passed."""
        reason = "ErrorReconciliationRetryTimeout"
        self.condition("Failed", "True", reason, message, "Warning")

    def backoff_event(self, operation: str, delay: float) -> None:
        """The ``RetryBackoff`` event of an ``operation`` tried again after ``delay`` seconds."""
        self.event(
            "Warning",
            "RetryBackoff",
            f"Delaying {operation} retry, next attempt will be after {go_time(self.now + delay)}",
        )

    def save(self) -> None:
        """Persist the controller-owned parts of the working copy, atomically."""
        if self.gone:
            return
        shape_status(self.obj)
        if self._unchanged():
            return
        machinery = self.machinery
        with machinery.store.write() as state:
            current = state.get(self.key)
            if current is None or current["metadata"].get("uid") != self.obj["metadata"].get("uid"):
                self.gone = True
                return
            updated = copy.deepcopy(current)
            updated["status"] = copy.deepcopy(self.status)
            if self._spec and updated["metadata"].get("generation") == self.generation:
                updated.setdefault("spec", {}).update(copy.deepcopy(self._spec))
            if self._labels:
                updated["metadata"].setdefault("labels", {}).update(self._labels)
            if self._drop_finalizer:
                updated["metadata"]["finalizers"] = _without_finalizer(updated["metadata"])
            for write in self._writes:
                write(state)
            for event in self._events:
                state.add_event(self.key, event)
            if updated["metadata"].get("deletionTimestamp") and not updated["metadata"].get(
                "finalizers"
            ):
                state.remove(self.key)
                collect_garbage(state)
                self.gone = True
            else:
                if updated != current:
                    # The working copy stays as read: the pass keeps the generation it began.
                    state.put(updated)
                state.set_schedule(self.key, self.schedule)
            machinery.volumes.sync(state, set(state.touched_secrets))
        machinery.adopt(state)
        machinery.report(self.key, self._events)
        self._events, self._writes, self._spec, self._labels = [], [], {}, {}
        self._drop_finalizer = False
        self._saved_status = copy.deepcopy(self.status)
        self._saved_schedule = dict(self.schedule)

    def _unchanged(self) -> bool:
        return (
            not (self._events or self._writes or self._spec or self._labels or self._drop_finalizer)
            and self.status == self._saved_status
            and self.schedule == self._saved_schedule
        )


def _without_finalizer(metadata: dict[str, Any]) -> list[str]:
    return [name for name in metadata.get("finalizers") or [] if name != FINALIZER]
