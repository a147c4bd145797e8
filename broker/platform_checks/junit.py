"""Findings as JUnit XML: a test case per rule checked, a failure per finding.

The layout CI tools read (and pytest writes): ``<testsuites>`` holding one
``<testsuite name="mockbroker platform checks">``; each rule is a ``<testcase>``
named by its id, with ``classname`` ``platform.<level>`` so tools group them by
level; each finding of the rule is a ``<failure>`` whose message is its summary and
whose text names the resource, the requests and the spec sentence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from broker.platform_checks.rules import Rule

__all__ = ["junit_xml"]

SUITE = "mockbroker platform checks"


def _failure_text(finding: dict[str, Any]) -> str:
    spec = finding["spec"]
    lines = [
        f"rule: {finding['rule']} ({finding['level']})",
        f"instance_id: {finding['instance_id']}",
        f"binding_id: {finding['binding_id']}",
        f"count: {finding['count']}",
        f"request_ids: {', '.join(str(i) for i in finding['request_ids'])}",
        f"first_seen: {finding['first_seen']}",
        f"last_seen: {finding['last_seen']}",
        f"spec: {spec['section']} ({spec['url']})",
        f'  "{spec["quote"]}"',
    ]
    return "\n".join(lines)


def junit_xml(rules: Iterable[Rule], findings: list[dict[str, Any]], timestamp: str) -> bytes:
    """The JUnit document for ``rules`` (the test cases) and their ``findings``."""
    rules = list(rules)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        by_rule.setdefault(finding["rule"], []).append(finding)
    failed = sum(1 for rule in rules if by_rule.get(rule.id))
    root = ET.Element(
        "testsuites", name=SUITE, tests=str(len(rules)), failures=str(failed), errors="0", time="0"
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=SUITE,
        tests=str(len(rules)),
        failures=str(failed),
        errors="0",
        skipped="0",
        time="0",
        timestamp=timestamp,
    )
    for rule in rules:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"platform.{rule.level.replace(' ', '_').lower()}",
            name=rule.id,
            time="0",
        )
        for finding in by_rule.get(rule.id, ()):
            failure = ET.SubElement(
                case, "failure", message=finding["summary"], type=finding["level"]
            )
            failure.text = _failure_text(finding)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
