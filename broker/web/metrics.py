"""``/metrics`` in the Prometheus text format, correct with many gunicorn workers.

Two kinds of numbers:

* Per-request counters and the latency histogram are counted in each worker.
  ``mockbroker serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts,
  so prometheus-client keeps them in per-process files and a scrape (by any worker)
  sums all of them. Without that variable (in-process servers, tests) they live in
  the application's own registry.
* Instances, bindings, operations in progress and fault rule counters are read from
  the store at scrape time: the store is shared, so every worker reports the same.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from broker.catalog.source import CatalogSource
from broker.storage import Store
from broker.web.request_state import RequestState

__all__ = ["Metrics"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class StateCollector:
    """Gauges computed from the shared store at scrape time."""

    def __init__(self, store: Store, catalogs: CatalogSource) -> None:
        self.store = store
        self.catalogs = catalogs

    def _names(self, plan_id: str) -> tuple[str, str]:
        resolved = self.catalogs.resolve(plan_id)
        if resolved is None:
            return plan_id, plan_id
        return resolved[0].name, resolved[1].name

    def collect(self) -> Iterator[Metric]:
        counts = self.store.counts()
        for name, help_text, values in (
            (
                "mockbroker_instances",
                "Service instances stored, by service and plan",
                counts.instances,
            ),
            (
                "mockbroker_bindings",
                "Service bindings stored, by service and plan",
                counts.bindings,
            ),
        ):
            family = GaugeMetricFamily(name, help_text, labels=["service", "plan"])
            for (_, plan_id), count in sorted(values.items()):
                family.add_metric(list(self._names(plan_id)), count)
            yield family
        running = GaugeMetricFamily(
            "mockbroker_async_operations_in_progress",
            "Asynchronous operations not finished yet, by type",
            labels=["type"],
        )
        for operation_type in ("provision", "update", "deprovision", "bind", "unbind"):
            running.add_metric(
                [operation_type], counts.operations_in_progress.get(operation_type, 0)
            )
        yield running
        fired = GaugeMetricFamily(
            "mockbroker_fault_rule_fired",
            "How often each fault rule fired since it was added (reset clears)",
            labels=["rule", "origin"],
        )
        for rule in self.store.fault_list():
            fired.add_metric([rule["id"], str(rule.get("origin", "admin"))], rule.get("fired", 0))
        yield fired


class _Combined:
    def __init__(self, *collectors: Any) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


class Metrics:
    """The Prometheus metrics of OSB requests, and gauges of the shared state."""

    def __init__(self, store: Store, catalogs: CatalogSource) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        # In multiprocess mode values go to files; the metric objects need no registry.
        self.registry = None if self.multiprocess else CollectorRegistry()
        self.requests = Counter(
            "mockbroker_requests",
            "OSB requests answered, by operation and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mockbroker_request_duration_seconds",
            "Time to answer OSB requests, by operation",
            ["operation"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.faults = Counter(
            "mockbroker_faults_fired",
            "Requests whose answer a fault rule changed, by operation",
            ["operation"],
            registry=self.registry,
        )
        self.state = StateCollector(store, catalogs)
        # Further scrape-time collectors (the platform checks' findings).
        self.collectors: list[Any] = []
        # Operations and statuses are few (ten operations, a handful of statuses each).
        self._counters: dict[tuple[str, str], Any] = {}
        self._latencies: dict[str, Any] = {}

    def observe(
        self, operation: str, status: int | None, seconds: float, fault: str | None
    ) -> None:
        label = str(status) if status is not None else "dropped"
        # The labelled children, remembered: labels() validates and locks every time.
        counter = self._counters.get((operation, label))
        if counter is None:
            counter = self._counters[(operation, label)] = self.requests.labels(operation, label)
        latency = self._latencies.get(operation)
        if latency is None:
            latency = self._latencies[operation] = self.latency.labels(operation)
        counter.inc()
        latency.observe(seconds)
        if fault:
            self.faults.labels(operation).inc()

    def count(self, state: RequestState, response: Response) -> None:
        """Count an answered OSB request."""
        started = state.started
        if started is None:
            return
        status = None if state.dropped else response.status_code
        seconds = time.perf_counter() - started
        self.observe(state.operation or "unknown", status, seconds, state.fault)

    def render(self) -> bytes:
        if self.multiprocess:
            per_request = CollectorRegistry()
            MultiProcessCollector(per_request)  # type: ignore[no-untyped-call]
        else:
            assert self.registry is not None
            per_request = self.registry
        return generate_latest(_Combined(per_request, self.state, *self.collectors))
