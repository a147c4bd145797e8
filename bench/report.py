"""Turning rounds into numbers: medians, spreads, ratios, the table and the JSON file."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import LoadResult

__all__ = ["Series", "percentile", "render_table", "write_json"]


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence (``fraction`` in 0..1)."""
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Round:
    load: LoadResult
    cpu_seconds: float


class Series:
    """Every measured round of one workload against one server."""

    def __init__(self, workload: str, server: str) -> None:
        self.workload = workload
        self.server = server
        self.rounds: list[Round] = []

    def add(self, load: LoadResult, cpu_seconds: float) -> None:
        self.rounds.append(Round(load, cpu_seconds))

    @property
    def is_lifecycle(self) -> bool:
        return self.workload == "lifecycle"

    def throughputs(self) -> list[float]:
        return [
            r.load.cycles_per_second if self.is_lifecycle else r.load.requests_per_second
            for r in self.rounds
        ]

    def p50s(self) -> list[float]:
        if self.is_lifecycle:
            return [percentile(r.load.cycle_latencies_ms, 0.50) for r in self.rounds]
        return [r.load.request_p50_ms for r in self.rounds]

    def p99s(self) -> list[float]:
        if self.is_lifecycle:
            return [percentile(r.load.cycle_latencies_ms, 0.99) for r in self.rounds]
        return [r.load.request_p99_ms for r in self.rounds]

    def cpu_ms_per_unit(self) -> list[float]:
        units = [r.load.cycles if self.is_lifecycle else r.load.requests for r in self.rounds]
        return [1000 * r.cpu_seconds / max(1, n) for r, n in zip(self.rounds, units, strict=True)]

    @property
    def errors(self) -> int:
        return sum(r.load.errors for r in self.rounds)

    @property
    def problems(self) -> str:
        return "".join(r.load.problems for r in self.rounds)

    def summary(self) -> dict[str, Any]:
        def spread(values: list[float]) -> dict[str, float]:
            return {
                "median": round(statistics.median(values), 3),
                "min": round(min(values), 3),
                "max": round(max(values), 3),
            }

        return {
            "workload": self.workload,
            "server": self.server,
            "unit": "cycles/s" if self.is_lifecycle else "requests/s",
            "rounds": len(self.rounds),
            "throughput": spread(self.throughputs()),
            "p50_ms": spread(self.p50s()),
            "p99_ms": spread(self.p99s()),
            "server_cpu_ms_per_unit": spread(self.cpu_ms_per_unit()),
            "errors": self.errors,
            "per_round_throughput": [round(value, 1) for value in self.throughputs()],
        }


def ratio(numerator: Series, denominator: Series) -> dict[str, float]:
    """Median ratio and the spread of the paired per-round ratios."""
    paired = [
        a / b for a, b in zip(numerator.throughputs(), denominator.throughputs(), strict=True)
    ]
    return {
        "median": round(
            statistics.median(numerator.throughputs())
            / statistics.median(denominator.throughputs()),
            3,
        ),
        "min": round(min(paired), 3),
        "max": round(max(paired), 3),
    }


def _row(series: Series) -> str:
    def cell(values: list[float], digits: int) -> str:
        middle, low, high = statistics.median(values), min(values), max(values)
        return f"{middle:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"

    return (
        f"  {series.workload:<10} {series.server:<16} {cell(series.throughputs(), 0):>22}"
        f" {cell(series.p50s(), 1):>20} {cell(series.p99s(), 1):>22}"
        f" {statistics.median(series.cpu_ms_per_unit()):>9.3f} {series.errors:>6}"
    )


def render_table(series: Sequence[Series], checks: Sequence[dict[str, Any]]) -> str:
    lines = [
        "  throughput: requests/s (catalog) or cycles/s (lifecycle); median [min-max] over rounds",
        f"  {'workload':<10} {'server':<16} {'throughput':>22} {'p50 ms':>20} {'p99 ms':>22}"
        f" {'cpu ms/op':>9} {'errors':>6}",
    ]
    lines += [_row(item) for item in series]
    lines.append("")
    for check in checks:
        verdict = "PASS" if check["met"] else "FAIL"
        lines.append(
            f"  {verdict}  {check['name']}: {check['value']:.3f} "
            f"[{check['min']:.3f}-{check['max']:.3f}] (target {check['target']})"
        )
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
