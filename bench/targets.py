"""The performance budget: every target, the figure measured for it, met or missed.

Both ``python -m bench`` (under gunicorn) and ``python -m bench --in-process`` end
with this table for the rows they measure. Where an in-process target is missed,
:func:`profile_split` says where the time of a request went: the broker's own code,
the web framework it runs on (Flask, werkzeug, gunicorn), SQLite, and the other
libraries (marshmallow, prometheus-client, the standard library ...), each in µs of
CPU per request, from a cProfile of the requests (profiling slows every call alike,
so the split is given in shares and scaled to the measured figure).
"""

from __future__ import annotations

import pstats
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FIXTURE_ROWS", "Target", "profile_split", "render_targets"]

# The rows of the budget measured by ``python -m bench fixture``, not by this run.
FIXTURE_ROWS = (
    "fixture: median overhead of osb_broker per test (reset and handle) <= 1 ms",
    "fixture: an in-process catalog request <= 0.3 ms",
    "fixture: the first test's setup <= 200 ms",
    "fixture with pytest-xdist: the same as without",
)


@dataclass
class Target:
    name: str
    target: str
    measured: str
    met: bool
    note: str = ""


def render_targets(targets: Sequence[Target]) -> str:
    width = max(len(item.name) for item in targets)
    lines = ["  budget (target, measured, met or missed):"]
    for item in targets:
        verdict = "met" if item.met else "MISSED"
        lines.append(
            f"  {item.name:<{width}}  {item.target:<14} {item.measured:<28} {verdict}"
            + (f"  ({item.note})" if item.note else "")
        )
    return "\n".join(lines)


FRAMEWORK = ("/flask/", "/werkzeug/", "/gunicorn/")


def _owner(filename: str, function: str) -> str:
    if filename == "~":  # a built-in: named by its C function
        return "SQLite" if "sqlite3" in function else "libraries"
    if "/broker/" in filename and "site-packages" not in filename:
        return "broker"
    if any(part in filename for part in FRAMEWORK):
        return "framework"
    return "libraries"


OWNERS = ("broker", "framework", "SQLite", "libraries")


def profile_split(stats: pstats.Stats) -> dict[str, float]:
    """Own time by owner, as shares of the profiled total."""
    totals = dict.fromkeys(OWNERS, 0.0)
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, _, _) in raw.items():
        totals[_owner(filename, function)] += own
    everything = sum(totals.values()) or 1.0
    return {owner: seconds / everything for owner, seconds in totals.items()}


def describe_split(shares: dict[str, float], measured_us: float) -> str:
    parts = [f"{owner} {share * measured_us:.0f} µs" for owner, share in shares.items()]
    return "of " + f"{measured_us:.0f} µs: " + ", ".join(parts)
