"""The controller: passes over the store, one object at a time, until things settle.

A pass reconciles, in this order, brokers (so classes exist), bindings being
deleted (so instances are unblocked), instances, then bindings. An object whose
schedule says "not before T" (a backoff, the next poll, the next relist) waits.
Passes repeat while they change something; ``reconcile(wait=True)`` then sleeps
until the next due time and goes on until every object has settled (Ready or
Failed, nothing in flight, nothing being deleted) or the timeout passes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from broker.controller.bindings import reconcile_binding
from broker.controller.brokers import collect_removed_catalog_entries, reconcile_broker
from broker.controller.instances import reconcile_instance
from broker.controller.machinery import Machinery, Progress
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import Store
from broker.controller.settings import ControllerSettings
from broker.controller.settling import Unsettled, hopeless, unsettled

__all__ = ["Controller"]

log = logging.getLogger("broker.controller")

MAX_PASSES = 50
# The shortest sleep between bursts of passes: below the work queue's first retry (5 ms).
MIN_SLEEP = 0.001
Reconciler = Callable[[Machinery, dict[str, Any]], None]
# (kind, reconciler, only objects being deleted (True), only the others (False), or all)
ORDER: tuple[tuple[str, Reconciler, bool | None], ...] = (
    ("ClusterServiceBroker", reconcile_broker, None),
    ("ServiceBinding", reconcile_binding, True),
    ("ServiceInstance", reconcile_instance, None),
    ("ServiceBinding", reconcile_binding, False),
)


class Controller:
    def __init__(
        self,
        store: Store,
        settings: ControllerSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
    ) -> None:
        self.machinery = Machinery(
            store, settings, transport=transport, clock=clock, sleep=sleep, progress=progress
        )
        # What unsettled() answered at the end of the last reconcile(), and whether that
        # wait stopped early because nothing could settle without the user.
        self.waiting: list[Unsettled] = []
        self.gave_up = False

    @property
    def store(self) -> Store:
        return self.machinery.store

    @property
    def settings(self) -> ControllerSettings:
        return self.machinery.settings

    def clock(self) -> float:
        return self.machinery.clock()

    def close(self) -> None:
        self.machinery.close()

    # --- passes --------------------------------------------------------------------------

    def reconcile_pass(self) -> bool:
        """Reconcile every due object once; answers whether anything changed."""
        machinery = self.machinery
        with machinery.store.write() as state:
            machinery.volumes.sync(state)
            collect_removed_catalog_entries(state)
        machinery.adopt(state)
        before = state.revision, state.event_count
        for kind, reconcile, deleting in ORDER:
            for listed in machinery.state.list(kind):
                key = ObjectKey(
                    kind, listed["metadata"].get("namespace", ""), listed["metadata"]["name"]
                )
                obj = machinery.state.get(key)
                if obj is None or (
                    deleting is not None
                    and bool(obj["metadata"].get("deletionTimestamp")) != deleting
                ):
                    continue
                if float(machinery.state.peek_schedule(key).get("due", 0)) > self.clock():
                    continue
                try:
                    reconcile(machinery, obj)
                except Exception:  # one broken object must not stop the others
                    log.exception("reconciling %s failed", key)
                    self._note_crash(key)
        latest = machinery.store.read()
        return (latest.revision, latest.event_count) != before

    def _note_crash(self, key: ObjectKey) -> None:
        with self.store.write() as state:
            if state.get(key) is not None:
                entry = state.schedule(key)
                failures = int(entry.get("failures", 0)) + 1
                entry["failures"] = failures
                entry["due"] = self.clock() + self.settings.retry_delay(failures)
        self.machinery.adopt(state)

    def settle_passes(self) -> None:
        """Run passes while they change something (bounded)."""
        for _ in range(MAX_PASSES):
            if not self.reconcile_pass():
                return

    def reconcile(
        self,
        *,
        wait: bool = False,
        timeout: float = 300.0,
        interval: float = 1.0,
        fail_fast: bool = True,
        wake: bool = True,
    ) -> bool:
        """Reconcile until nothing changes (with ``wait``: until all settled); answers settled.

        What is still unsettled at the end is kept in :attr:`waiting`. With ``fail_fast``
        the wait ends as soon as everything unsettled is stuck or blocked by something
        stuck (:attr:`gave_up`): retrying goes on at the next reconcile, as in Service
        Catalog, but waiting for it is pointless. ``wake`` starts as a controller
        manager starts (:meth:`wake_up`); without it, backoffs already due later stay.
        """
        deadline = self.clock() + timeout
        self.gave_up = False
        baseline = self.wake_up() if wake else {}
        while True:
            # The lock is held for a burst of passes, not while sleeping: `ctl run` may go on.
            with self.store.reconciling():
                self.settle_passes()
            self.waiting = unsettled(self.store.read(), baseline)
            if not wait or not self.waiting:
                return not self.waiting
            if fail_fast and hopeless(self.waiting):
                self.gave_up = True
                return False
            now = self.clock()
            if now >= deadline:
                return False
            pause = min(self.next_due() - now, deadline - now, interval)
            self.machinery.sleep(max(MIN_SLEEP, pause))

    def run(
        self, *, interval: float = 1.0, should_stop: Callable[[], bool] = lambda: False
    ) -> None:
        """Reconcile forever (until ``should_stop``), sleeping until the next due time."""
        self.wake_up()
        while not should_stop():
            with self.store.reconciling():
                self.settle_passes()
            now = self.clock()
            self.machinery.sleep(max(MIN_SLEEP, min(self.next_due() - now, interval)))

    def wake_up(self) -> dict[str, int]:
        """Start as a controller manager starts: every object is looked at right away.

        Its work queues are empty, so nothing waits for a backoff computed by an earlier
        run; the counts that make the next backoffs longer stay. Answers the failure
        count of every object now, to tell the failures of this run from older ones.
        """
        with self.store.write() as state:
            baseline: dict[str, int] = {}
            for key, entry in state.document["schedule"].items():
                baseline[key] = int(entry.get("failures", 0))
                if entry.pop("due", None) is not None:
                    state.dirty = True
        self.machinery.adopt(state)
        return baseline

    def next_due(self) -> float:
        dues = [
            float(entry["due"])
            for entry in self.store.read().document["schedule"].values()
            if "due" in entry
        ]
        return min(dues, default=self.clock() + 3600)
