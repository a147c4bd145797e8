"""Everything one application instance owns, built once by :func:`broker.app.create_app`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from broker.catalog.loader import bundled_catalog_paths, load_catalog
from broker.catalog.model import Catalog
from broker.catalog.source import CatalogSource
from broker.config import Settings
from broker.credentials.registry import BackendRegistry
from broker.faults.engine import FaultEngine
from broker.faults.rules import fault_rule_problems
from broker.faults.waits import FaultWaits
from broker.osb.parts import BrokerParts
from broker.osb.retention import OperationRetention
from broker.osb.service_broker import ServiceBroker
from broker.storage import Store, open_store
from broker.web.auth import Authenticator

__all__ = ["Runtime", "build_runtime", "load_configured_catalog", "runtime"]

EXTENSION = "mockbroker"


def load_configured_catalog(settings: Settings, registry: BackendRegistry) -> Catalog:
    """Load the catalogs named by the settings (bundled ones by default)."""
    paths = settings.catalogs or bundled_catalog_paths()
    return load_catalog(
        paths,
        backend_problems=registry.option_problems,
        fault_problems=fault_rule_problems,
        backend_names=registry.names,
    )


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
    # The web layer's Prometheus metrics (broker.web.metrics.Metrics), set by create_app.
    metrics: Any = None
    started_at: float = field(default_factory=time.time)
    _generation: int | None = None
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def sync(self) -> None:
        """Follow changes other processes made (catalog, fault rules): one store read.

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


def build_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    backends: BackendRegistry | None = None,
    clock: Callable[[], float] = time.time,
) -> Runtime:
    registry = backends or BackendRegistry(settings)
    catalog = load_configured_catalog(settings, registry)
    store = store or open_store(settings.store_url, sqlite_synchronous=settings.sqlite_synchronous)
    catalogs = CatalogSource(
        catalog,
        store,
        backend_problems=registry.option_problems,
        fault_problems=fault_rule_problems,
        backend_names=registry.names,
    )
    parts = BrokerParts.assemble(
        catalogs,
        store,
        registry,
        base_url=settings.base_url,
        credential_seed=settings.credential_seed,
        clock=clock,
    )
    runtime = Runtime(
        settings=settings,
        store=store,
        catalogs=catalogs,
        faults=FaultEngine(store),
        fault_waits=FaultWaits(store, settings.max_delayed),
        backends=registry,
        broker=ServiceBroker(parts),
        osb_auth=Authenticator(settings.osb_credentials, settings.bearer_tokens),
        admin_auth=Authenticator(settings.admin_credentials, realm="mockbroker-admin"),
        retention=OperationRetention(store, settings.operation_retention, clock),
    )
    runtime.sync()
    return runtime


def runtime(app: Flask | None = None) -> Runtime:
    found: Runtime = (app or current_app).extensions[EXTENSION]
    return found
