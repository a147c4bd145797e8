"""``mockbroker_platform_findings_total``: sightings by rule and level, read at scrape time.

Read from the findings store, so every worker reports the same numbers; clearing
the findings (``DELETE /admin/findings``, ``/admin/reset``) starts them again from
zero, which Prometheus treats as a counter reset.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from broker.platform_checks.service import PlatformChecks

__all__ = ["FindingsCollector"]


class FindingsCollector:
    def __init__(self, checks: PlatformChecks) -> None:
        self.checks = checks

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "mockbroker_platform_findings",
            "Requests that broke an OSB platform rule, by rule and level",
            labels=["rule", "level"],
        )
        for (rule, level), count in sorted(self.checks.totals().items()):
            family.add_metric([rule, level], count)
        yield family
