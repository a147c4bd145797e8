"""Findings as JUnit XML: a test case per rule checked, a failure per finding.

The layout CI tools read (and pytest writes): ``<testsuites>`` holding one
``<testsuite name="mockbroker platform checks">``; each rule is a ``<testcase>``
named by its id, with ``classname`` ``platform.<level>`` so tools group them by
level; each finding of the rule is a ``<failure>`` whose message is its summary and
whose text names the resource, the requests and the spec sentence.

Summaries and ids come from what the platform sent (a plan id, an ``operation``
query value, an instance id in the path), so they may hold characters XML 1.0 cannot
carry at all, control characters among them. Those are written as ``#xHH``, as
pytest does, so the document is always well-formed and valid against the JUnit
schema pytest validates its own reports with (``junit-10.xsd``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from broker.platform_checks.rules import Rule

__all__ = ["junit_xml", "xml_safe"]

SUITE = "mockbroker platform checks"

# Everything but the characters XML 1.0 allows (its production "Char").
_NOT_XML = re.compile(r"[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"#x{code:02X}" if code <= 0xFF else f"#x{code:04X}"


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry written as ``#xHH``."""
    return _NOT_XML.sub(_shown, text)


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
                case, "failure", message=xml_safe(finding["summary"]), type=finding["level"]
            )
            failure.text = xml_safe(_failure_text(finding))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
