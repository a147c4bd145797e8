"""A sequence chart of one instance's conversation: the platform's requests, the
broker's answers, fault firings and findings, laid out for an SVG (no Flask here).

Rows go down in time order; a pause of more than a second between two requests is
drawn as a gap labelled with its length, so the chart shows *when* as well as *what*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Chart", "Row", "chart"]

PLATFORM_X = 190
BROKER_X = 720
WIDTH = 1000
TOP = 70
ROW = 54
GAP = 28
# A pause longer than this (seconds) between two requests gets a gap of its own.
PAUSE = 1.0


@dataclass
class Row:
    request_id: int
    y: int
    time: str
    request: str
    answer: str
    answer_class: str
    fault: str | None
    findings: list[dict[str, str]] = field(default_factory=list)

    @property
    def answer_y(self) -> int:
        return self.y + 20


@dataclass
class Gap:
    y: int
    label: str


@dataclass
class Chart:
    width: int
    height: int
    platform_x: int
    broker_x: int
    rows: list[Row]
    gaps: list[Gap]


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S.%f")[:-3]


def _request_line(entry: dict[str, Any]) -> str:
    query = entry.get("query") or {}
    shown = ", ".join(f"{key}={value}" for key, value in query.items() if key != "service_id")
    operation = entry.get("operation") or ""
    line = f"{entry['method']} {operation}"
    if entry.get("binding_id"):
        line += f" [{entry['binding_id']}]"
    return f"{line} ({shown})" if shown else line


def _answer(entry: dict[str, Any]) -> tuple[str, str]:
    status = entry.get("status")
    if status is None:
        return "no answer (dropped)", "answer-bad"
    response = entry.get("response")
    detail = ""
    if isinstance(response, dict):
        if isinstance(response.get("state"), str):
            detail = f" state={response['state']}"
        elif isinstance(response.get("operation"), str):
            detail = f" operation={response['operation']}"
        elif isinstance(response.get("error"), str):
            detail = f" {response['error']}"
    kind = "answer-ok" if int(status) < 400 else "answer-bad"
    return f"{status}{detail}", kind


def chart(entries: list[dict[str, Any]], findings: list[dict[str, Any]]) -> Chart:
    """The chart of ``entries`` (journal entries, oldest first) and their ``findings``."""
    by_request: dict[int, list[dict[str, str]]] = {}
    for finding in findings:
        for request_id in finding["request_ids"]:
            by_request.setdefault(int(request_id), []).append(
                {"rule": finding["rule"], "level": finding["level"], "summary": finding["summary"]}
            )
    rows: list[Row] = []
    gaps: list[Gap] = []
    y = TOP
    previous: float | None = None
    for entry in entries:
        epoch = float(entry["epoch"])
        if previous is not None and epoch - previous > PAUSE:
            gaps.append(Gap(y + 4, f"{epoch - previous:.1f} s later"))
            y += GAP
        previous = epoch
        answer, answer_class = _answer(entry)
        rows.append(
            Row(
                request_id=int(entry["id"]),
                y=y,
                time=_clock(epoch),
                request=_request_line(entry),
                answer=answer,
                answer_class=answer_class,
                fault=entry.get("fault"),
                findings=by_request.get(int(entry["id"]), []),
            )
        )
        y += ROW + 16 * max(0, len(by_request.get(int(entry["id"]), [])) - 1)
    return Chart(WIDTH, y + 20, PLATFORM_X, BROKER_X, rows, gaps)
