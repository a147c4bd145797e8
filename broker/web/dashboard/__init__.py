"""``/dashboard``: the broker's state in a browser page (admin credentials required).

``/`` redirects there.
"""

from __future__ import annotations

from broker.web.dashboard.routes import dashboard, home

__all__ = ["dashboard", "home"]
