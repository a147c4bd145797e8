"""Strict platform checks for tests: a test whose requests broke a MUST fails.

On with ``--osb-strict-platform``, the ini option ``osb_strict_platform = true``, or
the marker ``@pytest.mark.osb_strict_platform`` on one test. After the test, the
broker's ``MUST`` and ``MUST NOT`` findings that the test's requests show are
listed, each with the request lines (method, path, status) it names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from broker.testing.osb_broker import OSBBroker

__all__ = ["strict_failure"]

MUST_LEVELS = "MUST,MUST NOT"
# Request lines shown per finding; the rest are counted.
SHOWN_REQUESTS = 5


def _request_line(broker: OSBBroker, request_id: int) -> str:
    entries = broker.client.journal(since=request_id - 1, limit=1)
    entry: dict[str, Any] | None = next((e for e in entries if e.get("id") == request_id), None)
    if entry is None:
        return f"#{request_id} (no longer in the journal)"
    query = "&".join(f"{key}={value}" for key, value in (entry.get("query") or {}).items())
    path = f"{entry['path']}?{query}" if query else entry["path"]
    return f"#{request_id} {entry['method']} {path} -> {entry.get('status')}"


def strict_failure(broker: OSBBroker) -> str | None:
    """The failure message for the test's MUST/MUST NOT findings, or None if it has none."""
    findings = broker.findings(level=MUST_LEVELS)
    if not findings:
        return None
    lines = [f"the platform broke {len(findings)} OSB rule(s) at MUST level:"]
    for finding in findings:
        where = " ".join(
            f"{name}={finding[name]}" for name in ("instance_id", "binding_id") if finding[name]
        )
        lines.append(
            f"- {finding['rule']} ({finding['level']}, {finding['count']}x{', ' if where else ''}"
            f"{where}): {finding['summary']}"
        )
        lines.append(f'    spec: "{finding["spec"]["quote"]}" ({finding["spec"]["url"]})')
        ids = finding["request_ids"]
        for request_id in ids[-SHOWN_REQUESTS:]:
            lines.append(f"    {_request_line(broker, int(request_id))}")
        if len(ids) > SHOWN_REQUESTS:
            lines.append(f"    … and {len(ids) - SHOWN_REQUESTS} earlier request(s)")
    return "\n".join(lines)
