"""What every reconciler works with: the store and the state last read from it, the
clock, the broker connections, the Secret folders and where events are reported.

The reconcilers (brokers, instances, bindings) receive it; the :class:`Controller`
(:mod:`broker.controller.manager`) builds it and runs the reconcilers in passes.
Time comes from ``clock`` and ``sleep`` alone, so tests drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from broker.controller.broker_access import BrokerAccess, BrokerConnection
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.secret_volumes import SecretVolumes
from broker.controller.objects.store import State, Store
from broker.controller.settings import ControllerSettings

__all__ = ["Machinery", "Progress"]

Progress = Callable[[ObjectKey, dict[str, Any]], None]


class Machinery:
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
        self.store = store
        self.settings = settings
        self.volumes = SecretVolumes(settings.volumes_dir)
        self.brokers = BrokerAccess(settings, transport)
        self.clock = clock
        self.sleep = sleep
        self.progress = progress
        # The state of the store as last read or written by this process.
        self.state = State({})

    def adopt(self, state: State) -> None:
        """The state just written: what the next reconciler reads."""
        self.state = state

    def report(self, key: ObjectKey, events: list[dict[str, Any]]) -> None:
        if self.progress is not None:
            for event in events:
                self.progress(key, event)

    def connect(self, broker: dict[str, Any]) -> BrokerConnection:
        """A connection to ``broker`` (:class:`~broker.controller.broker_access.AuthError`)."""
        return self.brokers.connect(broker, self.state)

    def close(self) -> None:
        self.brokers.close()
