"""``/dashboard``: the broker's state in a browser page (admin credentials required)."""

from __future__ import annotations

from broker.web.dashboard.routes import dashboard

__all__ = ["dashboard"]
