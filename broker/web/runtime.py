"""What one application instance owns, and how a view reaches it.

:func:`broker.app.create_app` builds the :class:`Runtime` and keeps it in
``app.extensions`` under :data:`EXTENSION`; views get it from
:func:`current_runtime` (or, for the OSB endpoints, as their first argument from
:func:`broker.web.osb_api.osb_operation`). Nothing else in the broker reaches for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Request, Response, current_app

from broker.catalog.source import CatalogSource
from broker.config import Settings
from broker.credentials.registry import BackendRegistry
from broker.faults.engine import FaultEngine
from broker.faults.waits import FaultWaits
from broker.osb.operation_retention import OperationRetention
from broker.osb.service_broker import ServiceBroker
from broker.osb.versions import CatalogBodies
from broker.storage import Store
from broker.web.auth import Authenticator
from broker.web.metrics import Metrics
from broker.web.request_state import RequestState

__all__ = ["EXTENSION", "OsbSteps", "Runtime", "current_runtime", "runtime_of"]

EXTENSION = "mockbroker"


@dataclass
class OsbSteps:
    """Steps other parts add to every ``/v2`` request (the platform checks do).

    ``before`` run, in order, after the request checks (credentials, version header,
    originating identity); ``after`` once the answer is counted and journaled. They
    are called by the OSB blueprint's hooks and by the catalog's fast path alike
    (:mod:`broker.web.osb_steps`).
    """

    before: list[Callable[[Request, RequestState], None]] = field(default_factory=list)
    after: list[Callable[[Request, RequestState, Response], None]] = field(default_factory=list)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalogs: CatalogSource
    faults: FaultEngine
    fault_waits: FaultWaits
    backends: BackendRegistry
    broker: ServiceBroker
    osb_auth: Authenticator
    admin_auth: Authenticator
    retention: OperationRetention
    metrics: Metrics
    # GET /v2/catalog as each OSB version defines it.
    catalog_bodies: CatalogBodies = field(default_factory=CatalogBodies)
    # What else a reset forgets (the platform checks' findings, say).
    on_reset: list[Callable[[], None]] = field(default_factory=list)
    osb_steps: OsbSteps = field(default_factory=OsbSteps)
    started_at: float = field(default_factory=time.time)
    _generation: int | None = None
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, *, keep_journal: bool = False) -> list[str]:
        """Forget every instance, binding, operation and runtime fault rule, and the
        journal unless ``keep_journal`` (``POST /admin/reset``); answer the problems of
        releasing what the credential backends hold. Catalogs come back as the files
        say, without a reload when no catalog was pushed."""
        problems = self.broker.release_everything()
        self.store.reset(keep_journal=keep_journal)
        for forget in self.on_reset:
            forget()
        self.sync()
        return problems

    def sync(self) -> None:
        """Follow changes other processes made (catalog, fault rules): one store read.

        Every worker process keeps its own catalog and fault rules in memory; the
        store's generation counter says whether another one changed them since.
        Also forgets finished operations past their retention, now and then.
        """
        if time.monotonic() >= self.retention.due:
            self.retention.tidy()
        generation = self.store.generation()
        if generation == self._generation:
            return
        with self._mutex:
            if self.store.generation() == self._generation:
                return  # another thread followed the change while this one waited
            self.catalogs.refresh()
            self.faults.seed(self.catalogs.catalog)
            generation = self.store.generation()
            self.catalogs.refresh()
            self.faults.refresh(generation)
            self._generation = generation


def runtime_of(app: Flask) -> Runtime:
    """The runtime of an application :func:`broker.app.create_app` built."""
    found: Runtime = app.extensions[EXTENSION]
    return found


def current_runtime() -> Runtime:
    """The runtime of the application handling the current request."""
    found: Runtime = current_app.extensions[EXTENSION]
    return found
