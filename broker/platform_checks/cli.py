"""``mockbroker findings``: what a running broker found about the platform that called it."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

__all__ = ["findings"]

FAIL_LEVELS = {"must": ("MUST", "MUST NOT"), "should": ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT")}


def _table(found: list[dict[str, Any]]) -> str:
    if not found:
        return "no findings"
    lines = []
    for finding in found:
        where = " ".join(
            f"{name}={finding[name]}" for name in ("instance_id", "binding_id") if finding[name]
        )
        lines.append(
            f"{finding['level']:<10} {finding['rule']:<30} x{finding['count']:<4} "
            f"{where or '-'}\n           {finding['summary']}\n"
            f"           requests: {', '.join(str(i) for i in finding['request_ids'])}"
        )
    return "\n".join(lines)


@click.command("findings")
@click.option(
    "--url",
    default=lambda: os.environ.get("OSB_BROKER_URL", "http://127.0.0.1:8080"),
    show_default="OSB_BROKER_URL or http://127.0.0.1:8080",
    help="The running broker.",
)
@click.option(
    "--username",
    default=lambda: os.environ.get("BROKER_ADMIN_USERNAME", "broker"),
    show_default="BROKER_ADMIN_USERNAME or broker",
    help="Admin user.",
)
@click.option(
    "--password",
    default=lambda: os.environ.get("BROKER_ADMIN_PASSWORD", "broker"),
    show_default="BROKER_ADMIN_PASSWORD or broker",
    help="Admin password.",
)
@click.option("--rule", help="Only these rules (comma-separated ids).")
@click.option("--level", help="Only these levels (comma-separated: MUST, 'MUST NOT', ...).")
@click.option("--instance-id", help="Only findings about this service instance.")
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML here: a test case per rule, a failure per finding.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["must", "should"]),
    help="Exit 1 if there is a finding at this level or above (should includes must).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def findings(
    url: str,
    username: str,
    password: str,
    rule: str | None,
    level: str | None,
    instance_id: str | None,
    junit_file: Path | None,
    fail_on: str | None,
    as_json: bool,
) -> None:
    """Show the OSB rules the platform broke, as a running broker recorded them.

    \b
    Examples:
      mockbroker findings --url http://127.0.0.1:8080
      mockbroker findings --junit platform.xml --fail-on must
    """
    from broker.client import OSBClient, OSBClientError
    from broker.platform_checks.junit import junit_xml
    from broker.platform_checks.rules import RULES

    try:
        with OSBClient(
            url,
            username=username,
            password=password,
            admin_username=username,
            admin_password=password,
        ) as client:
            found = client.findings(rule=rule, level=level, instance_id=instance_id)
    except (OSBClientError, OSError) as exc:
        click.secho(f"error: {url}: {exc}", fg="red", err=True)
        sys.exit(2)
    if junit_file is not None:
        rules = [r for r in RULES.values() if rule is None or r.id in rule.split(",")]
        stamp = datetime.now(UTC).isoformat(timespec="seconds")[:-6]
        junit_file.write_bytes(junit_xml(rules, found, stamp))
    click.echo(json.dumps(found, indent=2) if as_json else _table(found))
    if fail_on is not None and any(f["level"] in FAIL_LEVELS[fail_on] for f in found):
        sys.exit(1)
