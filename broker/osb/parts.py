"""The parts the OSB rules are built from, put together once per application."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from broker.catalog.source import CatalogSource
from broker.credentials.registry import BackendRegistry
from broker.osb.async_operations import Operations
from broker.osb.backend_calls import BackendCalls
from broker.osb.finding_hook import FindingRecorder, NoFindings
from broker.osb.rendering import Renderer
from broker.storage.protocols import StateStore

__all__ = ["BrokerParts", "Rules"]


@dataclass(frozen=True)
class BrokerParts:
    """What the OSB rules work with; built by :meth:`assemble`."""

    catalogs: CatalogSource
    store: StateStore
    backends: BackendRegistry
    renderer: Renderer
    calls: BackendCalls
    operations: Operations
    clock: Callable[[], float]
    # Where deviations the broker lets through are reported (broker.osb.finding_hook).
    findings: FindingRecorder
    # BROKER_STRICT: refuse what the lenient default accepts and reports.
    strict: bool = False

    @classmethod
    def assemble(
        cls,
        catalogs: CatalogSource,
        store: StateStore,
        backends: BackendRegistry,
        *,
        base_url: str,
        credential_seed: str | None,
        clock: Callable[[], float] = time.time,
        findings: FindingRecorder | None = None,
        strict: bool = False,
    ) -> BrokerParts:
        renderer = Renderer(base_url, credential_seed)
        calls = BackendCalls(backends, store, renderer, clock)
        operations = Operations(store, catalogs, calls, renderer, clock)
        return cls(
            catalogs,
            store,
            backends,
            renderer,
            calls,
            operations,
            clock,
            findings or NoFindings(),
            strict,
        )


class Rules:
    """Base of the rule classes (:class:`~broker.osb.instances.Instances`,
    :class:`~broker.osb.bindings.Bindings`): the parts, each as an attribute."""

    def __init__(self, parts: BrokerParts) -> None:
        self.parts = parts
        self.catalogs = parts.catalogs
        self.store = parts.store
        self.backends = parts.backends
        self.renderer = parts.renderer
        self.calls = parts.calls
        self.operations = parts.operations
        self.clock = parts.clock
        self.findings = parts.findings
        self.strict = parts.strict
