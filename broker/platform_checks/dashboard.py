"""The dashboard's pages about the platform: its findings, and one instance's conversation.

Pages only read, like the rest of the dashboard (broker.web.dashboard), and carry
the same security headers: the chart is server-rendered SVG, no script of its own.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, render_template

from broker.platform_checks.conversation import chart
from broker.platform_checks.findings_store import FindingsQuery
from broker.platform_checks.rules import RULES
from broker.platform_checks.service import platform_checks
from broker.storage.base import JournalQuery
from broker.web.runtime import current_runtime

__all__ = ["platform_dashboard", "register_dashboard"]

platform_dashboard = Blueprint(
    "platform_dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
)

# The newest requests a conversation shows.
CONVERSATION_REQUESTS = 200
# Findings the index page's panel lists (the findings page lists them all).
PANEL_FINDINGS = 10


@platform_dashboard.after_request
def protect(response: Response) -> Response:
    from broker.web.dashboard.routes import SECURITY_HEADERS

    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _page() -> dict[str, Any]:
    from broker.web.dashboard.routes import _page as dashboard_page

    return dashboard_page(current_runtime())


@platform_dashboard.get("/findings")
def findings() -> Response:
    checks = platform_checks()
    found = checks.query(FindingsQuery())
    html = render_template(
        "platform_checks/findings.html",
        page=_page(),
        findings=found,
        enabled=checks.enabled,
        rules=list(RULES.values()),
    )
    return Response(html, mimetype="text/html")


@platform_dashboard.get("/instances/<instance_id>/conversation")
def conversation(instance_id: str) -> Response:
    rt = current_runtime()
    entries = rt.store.journal_query(
        JournalQuery(instance_id=instance_id, limit=CONVERSATION_REQUESTS)
    )
    found = platform_checks().query(FindingsQuery(instance_id=instance_id))
    html = render_template(
        "platform_checks/conversation.html",
        page=_page(),
        instance_id=instance_id,
        chart=chart(entries, found),
        findings=found,
    )
    return Response(html, mimetype="text/html")


def _panel() -> dict[str, Any]:
    """``platform_findings_panel()`` for the dashboard's templates: the newest findings."""

    def panel() -> dict[str, Any]:
        checks = platform_checks()
        found = checks.query(FindingsQuery())
        found.sort(key=lambda finding: finding["last_seen"], reverse=True)
        return {"enabled": checks.enabled, "findings": found[:PANEL_FINDINGS], "total": len(found)}

    return {"platform_findings_panel": panel}


def register_dashboard(app: Flask) -> None:
    app.register_blueprint(platform_dashboard)
    app.context_processor(_panel)
